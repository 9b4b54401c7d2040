import NIOCore
import ScopeProtocol
import Synchronization

/// The shared state of one tracked channel: its buffer, its blocked senders
/// and receivers, and its live endpoints. Both endpoints point here.
///
/// Sending and receiving are inlinable so that they are specialised for the
/// caller's `Element`: unspecialised, every operation looks up the metadata of
/// its generic types at run time, which costs more than the operation itself.
@usableFromInline
final class ChannelCore<Element: Sendable>: TrackedResource, ChannelUsageReporting {
    @usableFromInline let resourceID: UInt64
    var kind: ResourceKind { .channel }
    @usableFromInline let name: String
    let site: SourceSite
    let capacity: Int
    let created: UInt64
    /// Whether a task serving a request made it (see ``ChannelUsage/madeServingRequest``).
    let madeServingRequest: Bool
    private let registry: Registry
    @usableFromInline let state: Mutex<ChannelState<Element>>

    init(capacity: Int, name: String, fileID: String, line: Int, registry: Registry) {
        self.registry = registry
        self.resourceID = registry.resources.makeID()
        self.name = name
        self.site = SourceSite(file: fileID, line: line)
        self.capacity = max(0, capacity)
        self.created = registry.clock.now()
        self.madeServingRequest = TaskScope.currentRecord?.servesRequest == true
        self.state = Mutex(ChannelState(capacity: max(0, capacity)))
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    // MARK: Endpoints

    func retainEndpoint(sender: Bool) {
        state.withLock { sender ? ($0.sendersAlive += 1) : ($0.receiversAlive += 1) }
    }

    func releaseEndpoint(sender: Bool) {
        let now = registry.clock.now()
        state.withLock { state in
            if sender {
                state.sendersAlive -= 1
                if state.sendersAlive == 0 { state.sendersGoneAt = now }
            } else {
                state.receiversAlive -= 1
                if state.receiversAlive == 0 { state.receiversGoneAt = now }
            }
        }
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    // MARK: Sending

    /// Notes the current task as a user of one side, the first time it uses it (see ``ChannelUsers``).
    @usableFromInline
    func noteUser(key: Int, sending: Bool) {
        #if !Untracked
        let record = TaskScope.ownRecord
        state.withLock { state in
            if sending {
                state.sendUsers.add(key: key, record: record)
            } else {
                state.receiveUsers.add(key: key, record: record)
            }
        }
        #endif
    }

    @inlinable
    func send(_ element: Element, fileID: String, line: Int) async throws {
        let user = TaskScope.channelUserKey()
        let (attempt, known) = state.withLock { ($0.trySend(element), $0.sendUsers.contains(user)) }
        if !known { noteUser(key: user, sending: true) }
        switch attempt {
        case .done:
            return
        case .handOff(let receiver):
            receiver.continuation.resume(returning: element)
            return
        case .finished:
            throw TrackedChannelError.finished(channel: name)
        case .mustWait:
            try await TaskScope.recordingWait(WaitReason.channelSend, resource: resourceID, fileID: fileID, line: line)
            {
                taskID in
                try await blockSending(element, taskID: taskID)
            }
        }
    }

    @inlinable
    func blockSending(_ element: Element, taskID: UInt64) async throws {
        let waiterID = state.withLock { $0.makeWaiterID() }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> SendOutcome<Element> in
                    if Task.isCancelled { return .failed(CancellationError()) }
                    switch state.trySend(element) {
                    case .done: return .sent
                    case .handOff(let receiver): return .handedOff(receiver)
                    case .finished: return .failed(TrackedChannelError.finished(channel: name))
                    case .mustWait:
                        state.senders.append(
                            SendWaiter(
                                id: waiterID, taskID: taskID, element: element, continuation: .task(continuation)))
                        return .queued
                    }
                }
                switch outcome {
                case .queued: break
                case .sent: continuation.resume()
                case .handedOff(let receiver):
                    receiver.continuation.resume(returning: element)
                    continuation.resume()
                case .failed(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.senders.firstIndex { $0.id == waiterID }.map { state.senders.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Sends without waiting: `true` when the value went to a waiting receiver or the buffer.
    @inlinable
    func trySend(_ element: Element) throws -> Bool {
        switch state.withLock({ $0.trySend(element) }) {
        case .done: return true
        case .handOff(let receiver):
            receiver.continuation.resume(returning: element)
            return true
        case .finished: throw TrackedChannelError.finished(channel: name)
        case .mustWait: return false
        }
    }

    /// Receives without waiting.
    @inlinable
    func tryReceive() -> TrackedChannelPoll<Element> {
        switch state.withLock({ $0.tryReceive() }) {
        case .value(let element, let sender):
            sender?.continuation.resume()
            return .value(element)
        case .end: return .finished
        case .mustWait: return .empty
        }
    }

    // MARK: Receiving

    @inlinable
    func receive(fileID: String, line: Int) async throws -> Element? {
        let user = TaskScope.channelUserKey()
        let (attempt, known) = state.withLock { ($0.tryReceive(), $0.receiveUsers.contains(user)) }
        if !known { noteUser(key: user, sending: false) }
        switch attempt {
        case .value(let element, let sender):
            sender?.continuation.resume()
            return element
        case .end:
            return nil
        case .mustWait:
            return try await TaskScope.recordingWait(
                WaitReason.channelReceive, resource: resourceID, fileID: fileID, line: line
            ) { taskID in
                try await blockReceiving(taskID: taskID)
            }
        }
    }

    @inlinable
    func blockReceiving(taskID: UInt64) async throws -> Element? {
        let waiterID = state.withLock { $0.makeWaiterID() }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element?, any Error>) in
                let outcome = state.withLock { state -> ReceiveAttempt<Element>? in
                    if Task.isCancelled { return nil }
                    let attempt = state.tryReceive()
                    if case .mustWait = attempt {
                        state.receivers.append(
                            ReceiveWaiter(id: waiterID, taskID: taskID, continuation: .task(continuation)))
                    }
                    return attempt
                }
                switch outcome {
                case nil: continuation.resume(throwing: CancellationError())
                case .mustWait?: break
                case .end?: continuation.resume(returning: nil)
                case .value(let element, let sender)?:
                    sender?.continuation.resume()
                    continuation.resume(returning: element)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.receivers.firstIndex { $0.id == waiterID }.map { state.receivers.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    // MARK: Finishing

    /// Finishes the channel: blocked receivers get the end, blocked senders an error;
    /// values already buffered can still be received.
    func finish() {
        let now = registry.clock.now()
        let (senders, receivers) = state.withLock { state -> ([SendWaiter<Element>], [ReceiveWaiter<Element>]) in
            guard !state.finished else { return ([], []) }
            state.finished = true
            state.finishedAt = now
            var senders: [SendWaiter<Element>] = []
            var receivers: [ReceiveWaiter<Element>] = []
            while let sender = state.popLiveSender() { senders.append(sender) }
            while let receiver = state.popLiveReceiver() { receivers.append(receiver) }
            return (senders, receivers)
        }
        for receiver in receivers { receiver.continuation.resume(returning: nil) }
        for sender in senders { sender.continuation.resume(throwing: TrackedChannelError.finished(channel: name)) }
    }

    // MARK: Reporting

    /// What `abandoned-channel` reads, from one moment.
    func usage() -> ChannelUsage {
        state.withLock { state in
            ChannelUsage(
                id: resourceID, finished: state.finished, sendersAlive: state.sendersAlive,
                receiversAlive: state.receiversAlive,
                blockedSending: state.senders.map(\.taskID), blockedReceiving: state.receivers.map(\.taskID),
                sendUsers: state.sendUsers, receiveUsers: state.receiveUsers, madeServingRequest: madeServingRequest)
        }
    }

    func report(_ context: ReportContext) -> ResourceInfo {
        var selects: [SelectSignal] = []
        var info = state.withLock { state in
            var info = ResourceInfo(
                id: resourceID, kind: .channel, name: name, site: site, created: context.wall(created),
                state: state.finished ? "finished" : "open")
            info.capacity = capacity
            info.buffered = state.buffer.count
            info.senders = state.sendersAlive
            info.receivers = state.receiversAlive
            let senders = state.senders.filter(\.continuation.isWaiting)
            let receivers = state.receivers.filter(\.continuation.isWaiting)
            info.blockedSending = senders.count
            info.blockedSendingIDs = firstIDs(senders.lazy.map(\.taskID).filter { $0 != 0 })
            info.blockedReceiving = receivers.count
            info.blockedReceivingIDs = firstIDs(receivers.lazy.map(\.taskID).filter { $0 != 0 })
            selects = senders.compactMap(\.continuation.signal) + receivers.compactMap(\.continuation.signal)
            if state.sendersAlive == 0, state.sendersGoneAt != 0 {
                info.sendersGoneAt = context.wall(state.sendersGoneAt)
            }
            if state.receiversAlive == 0, state.receiversGoneAt != 0 {
                info.receiversGoneAt = context.wall(state.receiversGoneAt)
            }
            info.orphaned = state.isOrphaned
            return info
        }
        // Outside the lock: a select's probes take the locks of its channels, this one included.
        if !info.orphaned { info.orphaned = selects.contains(where: \.isStranded) }
        return info
    }
}

@usableFromInline
struct SendWaiter<Element: Sendable>: Sendable {
    @usableFromInline var id: UInt64
    @usableFromInline var taskID: UInt64
    @usableFromInline var element: Element
    @usableFromInline var continuation: WaiterContinuation<Void>

    @inlinable
    init(id: UInt64, taskID: UInt64, element: Element, continuation: WaiterContinuation<Void>) {
        self.id = id
        self.taskID = taskID
        self.element = element
        self.continuation = continuation
    }
}

@usableFromInline
struct ReceiveWaiter<Element: Sendable>: Sendable {
    @usableFromInline var id: UInt64
    @usableFromInline var taskID: UInt64
    @usableFromInline var continuation: WaiterContinuation<Element?>

    @inlinable
    init(id: UInt64, taskID: UInt64, continuation: WaiterContinuation<Element?>) {
        self.id = id
        self.taskID = taskID
        self.continuation = continuation
    }
}

@usableFromInline
enum SendAttempt<Element: Sendable> {
    case done
    case handOff(ReceiveWaiter<Element>)
    case finished
    case mustWait
}

@usableFromInline
enum SendOutcome<Element: Sendable> {
    case queued, sent
    case handedOff(ReceiveWaiter<Element>)
    case failed(any Error)
}

@usableFromInline
enum ReceiveAttempt<Element: Sendable> {
    /// A value, and the blocked sender it came from (or whose value refilled the buffer), to resume.
    case value(Element, SendWaiter<Element>?)
    case end
    case mustWait
}

@usableFromInline
struct ChannelState<Element: Sendable>: Sendable {
    @usableFromInline var buffer = CircularBuffer<Element>()
    @usableFromInline var senders = CircularBuffer<SendWaiter<Element>>()
    @usableFromInline var receivers = CircularBuffer<ReceiveWaiter<Element>>()
    @usableFromInline var finished = false
    var finishedAt: UInt64 = 0
    var sendersAlive = 0
    var receiversAlive = 0
    var sendersGoneAt: UInt64 = 0
    var receiversGoneAt: UInt64 = 0
    @usableFromInline var lastWaiterID: UInt64 = 0
    @usableFromInline var sendUsers = ChannelUsers()
    @usableFromInline var receiveUsers = ChannelUsers()
    /// Values the buffer holds at most (0: every send is a rendezvous).
    @usableFromInline let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    @inlinable
    mutating func makeWaiterID() -> UInt64 {
        lastWaiterID &+= 1
        return lastWaiterID
    }

    @inlinable
    mutating func trySend(_ element: Element) -> SendAttempt<Element> {
        if finished { return .finished }
        if let receiver = popLiveReceiver() { return .handOff(receiver) }
        if buffer.count < capacity {
            buffer.append(element)
            return .done
        }
        return .mustWait
    }

    @inlinable
    mutating func tryReceive() -> ReceiveAttempt<Element> {
        if let element = buffer.popFirst() {
            // A blocked sender's value moves into the freed slot, and the sender goes on.
            if let sender = popLiveSender() {
                buffer.append(sender.element)
                return .value(element, sender)
            }
            return .value(element, nil)
        }
        if let sender = popLiveSender() { return .value(sender.element, sender) }
        return finished ? .end : .mustWait
    }

    /// The first queued receiver still waiting, claimed for the caller; stale waiters of
    /// selects that fired elsewhere are dropped on the way.
    @inlinable
    mutating func popLiveReceiver() -> ReceiveWaiter<Element>? {
        while let receiver = receivers.popFirst() {
            if receiver.continuation.claim() { return receiver }
        }
        return nil
    }

    /// The first queued sender still waiting, claimed for the caller (see ``popLiveReceiver()``).
    @inlinable
    mutating func popLiveSender() -> SendWaiter<Element>? {
        while let sender = senders.popFirst() {
            if sender.continuation.claim() { return sender }
        }
        return nil
    }

    /// The condition of the orphaned-channel rule, for the tasks that wait on this channel
    /// alone (a select's waiters are judged over all its channels: ``SelectSignal/isStranded``).
    var isOrphaned: Bool {
        let strandedSenders =
            (senders.contains { $0.continuation.signal == nil } || !buffer.isEmpty) && receiversAlive == 0
        let strandedReceivers = receivers.contains { $0.continuation.signal == nil } && !finished && sendersAlive == 0
        return strandedSenders || strandedReceivers
    }
}

/// What a receive that does not wait found: ``TrackedReceiver/tryReceive()``.
public enum TrackedChannelPoll<Element: Sendable>: Sendable {
    /// A value (from the buffer or a blocked sender).
    case value(Element)
    /// Nothing now: a receive would wait.
    case empty
    /// The channel is finished and drained.
    case finished
}

extension TrackedChannelPoll: Equatable where Element: Equatable {}

/// Errors of tracked channels.
public enum TrackedChannelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A send on a channel that was already finished.
    case finished(channel: String)

    public var description: String {
        switch self {
        case .finished(let channel): "send on finished channel \"\(channel)\""
        }
    }
}

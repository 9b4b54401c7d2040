import NIOCore
import ScopeProtocol

/// What a select's case found on its channel.
enum SelectArmOutcome {
    /// The case fired (its select claimed and completed) or the select had fired already:
    /// stop queuing the other cases.
    case settled
    /// The case cannot go on now (and was queued, unless polling).
    case waiting
}

// A select's cases, on one channel. Each runs under the channel's lock and claims the select
// (and, when it meets another select's waiter, that one too) before it takes or gives a value,
// so that exactly one case of a select fires and a value is delivered exactly once.
extension ChannelCore {
    /// Receives for case `index` of `signal` if a value (or the end) is ready; else queues the
    /// case as a receiver when `queue` is set.
    func selectReceive(_ signal: SelectSignal, index: Int, queue: Bool) -> SelectArmOutcome {
        let (outcome, fired, sender) = state.withLock { state -> (SelectArmOutcome, Element??, SendWaiter<Element>?) in
            if signal.isClaimed { return (.settled, nil, nil) }
            if !state.buffer.isEmpty {
                guard signal.claim() else { return (.settled, nil, nil) }
                let element = state.buffer.removeFirst()
                let refill = state.popLiveSender()
                if let refill { state.buffer.append(refill.element) }
                return (.settled, .some(element), refill)
            }
            switch SelectCounterpart.claim(in: &state.senders, for: signal) {
            case .found(let waiter): return (.settled, .some(waiter.element), waiter)
            case .mineTaken: return (.settled, nil, nil)
            case .none: break
            }
            if state.finished {
                guard signal.claim() else { return (.settled, nil, nil) }
                return (.settled, .some(nil), nil)
            }
            if queue {
                let id = state.makeWaiterID()
                state.receivers.append(
                    ReceiveWaiter(id: id, taskID: signal.taskID, continuation: .select(signal, index: index)))
            }
            return (.waiting, nil, nil)
        }
        sender?.continuation.resume()
        if let fired { signal.complete(.success(SelectFired(index: index, value: fired))) }
        return outcome
    }

    /// Sends `element` for case `index` of `signal` if a receiver or room is ready (or fails
    /// it when the channel is finished); else queues the case as a sender when `queue` is set.
    func selectSend(_ element: Element, _ signal: SelectSignal, index: Int, queue: Bool) -> SelectArmOutcome {
        let (outcome, result, receiver) = state.withLock {
            state -> (SelectArmOutcome, Result<SelectFired, any Error>?, ReceiveWaiter<Element>?) in
            if signal.isClaimed { return (.settled, nil, nil) }
            if state.finished {
                guard signal.claim() else { return (.settled, nil, nil) }
                return (.settled, .failure(TrackedChannelError.finished(channel: name)), nil)
            }
            let sent = Result<SelectFired, any Error>.success(SelectFired(index: index, value: nil))
            switch SelectCounterpart.claim(in: &state.receivers, for: signal) {
            case .found(let waiter): return (.settled, sent, waiter)
            case .mineTaken: return (.settled, nil, nil)
            case .none: break
            }
            if state.buffer.count < capacity {
                guard signal.claim() else { return (.settled, nil, nil) }
                state.buffer.append(element)
                return (.settled, sent, nil)
            }
            if queue {
                let id = state.makeWaiterID()
                state.senders.append(
                    SendWaiter(
                        id: id, taskID: signal.taskID, element: element, continuation: .select(signal, index: index)))
            }
            return (.waiting, nil, nil)
        }
        receiver?.continuation.resume(returning: element)
        if let result { signal.complete(result) }
        return outcome
    }

    /// Takes the waiters of `signal` off this channel, once its select is over.
    func withdraw(_ signal: SelectSignal) {
        state.withLock { state in
            state.senders.removeAll { $0.continuation.signal === signal }
            state.receivers.removeAll { $0.continuation.signal === signal }
        }
    }

    /// Whether a select's receive case here can never fire: no sender left, nothing buffered,
    /// not finished (see ``ChannelState/isOrphaned``).
    func receiveIsStranded() -> Bool {
        state.withLock { $0.sendersAlive == 0 && $0.buffer.isEmpty && !$0.finished }
    }

    /// Whether a select's send case here can never fire: no receiver left, channel not finished.
    func sendIsStranded() -> Bool {
        state.withLock { $0.receiversAlive == 0 && !$0.finished }
    }
}

/// A waiter queued on a channel, as a select looks at it.
protocol ChannelWaiter {
    var selectSignal: SelectSignal? { get }
}

extension SendWaiter: ChannelWaiter {
    var selectSignal: SelectSignal? { continuation.signal }
}

extension ReceiveWaiter: ChannelWaiter {
    var selectSignal: SelectSignal? { continuation.signal }
}

/// The waiter on the other side of a channel that a select's case meets.
enum SelectCounterpart<Waiter: ChannelWaiter> {
    /// The first waiter still waiting, taken off the queue; both it and the select are claimed.
    case found(Waiter)
    /// The select fired elsewhere meanwhile.
    case mineTaken
    /// Nobody waits on the other side (but maybe the select itself, which cannot meet itself).
    case none

    /// Finds and claims the counterpart in `queue` for `signal`, dropping stale waiters of
    /// selects that fired elsewhere.
    static func claim(in queue: inout CircularBuffer<Waiter>, for signal: SelectSignal) -> SelectCounterpart {
        // By offset: removing from a circular buffer moves its indices.
        var offset = 0
        while offset < queue.count {
            let position = queue.index(queue.startIndex, offsetBy: offset)
            let waiter = queue[position]
            if let other = waiter.selectSignal {
                if other === signal {  // its own case on the other side of this channel
                    offset += 1
                    continue
                }
                switch SelectSignal.claimPair(signal, other) {
                case .mineTaken: return .mineTaken
                case .otherTaken:
                    queue.remove(at: position)
                    continue
                case .both: break
                }
            } else if !signal.claim() {
                return .mineTaken
            }
            queue.remove(at: position)
            return .found(waiter)
        }
        return .none
    }
}

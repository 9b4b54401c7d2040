import NIOCore
import ScopeProtocol
import Synchronization

/// Go's `sync.WaitGroup`, also usable as a count-down latch, whose waits taskscope can see:
/// `add(n)` raises the count, `done()` lowers it, `wait()` suspends (reason `wait-group`)
/// until it is zero.
///
/// ```swift
/// let group = TrackedWaitGroup(name: "fetches")
/// for url in urls {
///     group.add(1)
///     Task.tracked("fetch") { defer { group.done() }; await fetch(url) }
/// }
/// try await group.wait()
/// ```
///
/// The agent remembers which tasks called `add` or `done` (the participants). When tasks
/// wait, the count is above zero, and every participant has finished or is itself waiting
/// here, with no live task started under a participant, nobody can call `done()` any more:
/// the `leaked-wait-group` rule reports the waiters as leaked.
public final class TrackedWaitGroup: Sendable, TrackedResource {
    let resourceID: UInt64
    var kind: ResourceKind { .waitGroup }
    /// The group's name.
    public let name: String
    let site: SourceSite
    let created: UInt64
    private let registry: Registry
    private let state = Mutex(WaitGroupState())

    /// Creates a group with a count of zero. Cost: two allocations and one resource registration.
    public init(name: String, fileID: String = #fileID, line: Int = #line) {
        registry = TaskScope.registry
        resourceID = registry.resources.makeID()
        self.name = name
        site = SourceSite(file: fileID, line: line)
        created = registry.clock.now()
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    /// Adds `n` (which may be negative, as in Go) to the count; at zero, every waiter goes on.
    /// Cost: one uncontended lock.
    ///
    /// - Precondition: the count does not go below zero (Go panics the same way).
    public func add(_ n: Int = 1) {
        let participant = TaskScope.ownRecord
        let released = state.withLock { state -> [WaitGroupWaiter] in
            state.note(participant, adding: n > 0)
            state.count += n
            precondition(state.count >= 0, "TrackedWaitGroup \"\(name)\": negative count")
            return state.count == 0 ? state.takeWaiters() : []
        }
        for waiter in released { waiter.continuation.resume() }
    }

    /// Lowers the count by one: `add(-1)`.
    public func done() { add(-1) }

    /// The count right now.
    public var count: Int { state.withLock { $0.count } }

    /// Waits (reason `wait-group`) until the count is zero; returns at once when it is.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func wait(fileID: String = #fileID, line: Int = #line) async throws {
        if state.withLock({ $0.count == 0 }) { return }
        let wait = TaskScope.beginWait(WaitReason.waitGroup, resource: resourceID, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        try await block(taskID: wait.taskID)
    }

    private func block(taskID: UInt64) async throws {
        let waiterID = state.withLock { $0.makeWaiterID() }
        try await suspendCancellably { continuation in
            state.withLock { state in
                SuspensionStart.unlessCancelled {
                    guard state.count > 0 else { return false }
                    state.waiters.append(.init(id: waiterID, taskID: taskID, continuation: continuation))
                    return true
                }
            }
        } withdraw: {
            state.withLock { state in
                state.waiters.firstIndex { $0.id == waiterID }.map { state.waiters.remove(at: $0).continuation }
            }
        }
    }

    func report(_ context: ReportContext) -> ResourceInfo {
        let (count, waiterIDs, participants, adders, untracked) = state.withLock { state in
            (
                state.count, state.waiters.map(\.taskID), Array(state.participants.values), state.adders,
                state.untrackedParticipant
            )
        }
        var info = ResourceInfo(
            id: resourceID, kind: .waitGroup, name: name, site: site, created: context.wall(created),
            state: count == 0 ? "done" : "pending")
        info.count = count
        info.waiting = waiterIDs.count
        info.waitingIDs = firstIDs(waiterIDs.filter { $0 != 0 })
        let participantIDs = participants.map(\.id).sorted()
        info.participants = firstIDs(participantIDs)
        info.finishedParticipants = firstIDs(participants.filter(context.hasFinished).map(\.id).sorted())
        info.orphaned =
            count > 0 && !waiterIDs.isEmpty && !untracked
            && WaitGroupProof(participants: participants, adders: adders, waiters: Set(waiterIDs), context: context)
                .nobodyCanCallDone
        return info
    }
}

/// Whether anyone may still call `done()` on a group, judged from its participants.
struct WaitGroupProof {
    let participants: [TaskRecord]
    /// The participants that raised the count (`add` with a positive `n`).
    var adders: Set<UInt64> = []
    let waiters: Set<UInt64>
    let context: ReportContext

    /// Every participant has finished or waits on the group, and no live task (other than a
    /// waiter) descends from a participant: a task started by a participant may hold the
    /// group and call `done()` later. A live task whose ancestry is lost (a parent record
    /// gone, younger than the oldest participant) counts as a possible descendant.
    ///
    /// And every task that raised the count started tracked tasks, which are what it added for
    /// (Go's `wg.Add(1); go worker()`): one that started none handed its `done()` to tasks the
    /// agent cannot see (a plain `Task {}`, a plain task group's children) or to nobody, and
    /// the two cannot be told apart.
    var nobodyCanCallDone: Bool {
        let ids = Set(participants.map(\.id))
        guard !ids.isEmpty,
            participants.allSatisfy({ context.hasFinished($0) || waiters.contains($0.id) })
        else { return false }
        // One pass over the registry (rare: only when every participant is done or waiting).
        var parents: [UInt64: UInt64] = [:]
        var live: [UInt64] = []
        guard
            participants.allSatisfy({
                !adders.contains($0.id) || $0.hasTrackedChildren.load(ordering: .relaxed)
            })
        else { return false }
        _ = context.registry.records { record in
            parents[record.id] = record.parentID
            if record.state != .finished && !waiters.contains(record.id) { live.append(record.id) }
            return false
        }
        // Ids grow with spawn time, so an ancestor is older than its descendants: a chain that
        // reaches below the oldest participant cannot lead to one, and a gone parent younger
        // than it may have been a participant's child.
        let oldest = ids.min() ?? 0
        return !live.contains { id in
            var parent = parents[id] ?? 0
            while parent >= oldest {
                if ids.contains(parent) { return true }
                guard let next = parents[parent] else { return true }
                parent = next
            }
            return false
        }
    }
}

struct WaitGroupWaiter: Sendable {
    var id: UInt64
    var taskID: UInt64
    var continuation: UnsafeContinuation<Void, any Error>
}

struct WaitGroupState: Sendable {
    /// Participants remembered at most; beyond, the group cannot be proven leaked.
    static let participantLimit = 1_024

    var count = 0
    var waiters = CircularBuffer<WaitGroupWaiter>()
    /// The tracked tasks that called `add` or `done`, each once.
    var participants: [UInt64: TaskRecord] = [:]
    /// The participants that raised the count.
    var adders: Set<UInt64> = []
    /// Whether an untracked task (or more than ``participantLimit`` tasks) took part: then
    /// whoever may call `done()` is unknown.
    var untrackedParticipant = false
    private var lastWaiterID: UInt64 = 0

    mutating func note(_ participant: TaskRecord?, adding: Bool) {
        guard let participant else {
            untrackedParticipant = true
            return
        }
        if adding, participants.count < Self.participantLimit { adders.insert(participant.id) }
        guard participants[participant.id] == nil else { return }
        if participants.count < Self.participantLimit {
            participants[participant.id] = participant
        } else {
            untrackedParticipant = true
        }
    }

    mutating func takeWaiters() -> [WaitGroupWaiter] {
        defer { waiters.removeAll() }
        return Array(waiters)
    }

    mutating func makeWaiterID() -> UInt64 {
        lastWaiterID &+= 1
        return lastWaiterID
    }
}

import ScopeProtocol
import Synchronization

/// What timers and tickers share: an owner that can be handed over, whether
/// they are still armed, and who waits on them.
struct TimerState: Sendable {
    /// The owning task's id (0: created outside any tracked task, so never orphaned).
    var owner: UInt64
    /// The owning task's record, while the registry knows it (none: the owner is gone).
    var ownerRecord: TaskRecord?
    var stopped = false
    var stoppedAt: UInt64 = 0
    /// Waiting task ids, with multiplicity.
    var waiters: [UInt64: Int] = [:]
    /// How to wake each current wait early, when the timer is stopped.
    var wakers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    private var lastWakerID: UInt64 = 0

    init(owner: TaskRecord?) {
        self.owner = owner?.id ?? 0
        self.ownerRecord = owner
    }

    /// Makes the task with this id (and record, when known) the owner.
    mutating func setOwner(_ id: UInt64, record: TaskRecord?) {
        owner = id
        ownerRecord = record
    }

    /// Stops the timer and returns the wakers of the current waits, to finish outside the lock.
    mutating func stop(at now: UInt64) -> [AsyncStream<Void>.Continuation] {
        guard !stopped else { return [] }
        stopped = true
        stoppedAt = now
        defer { wakers.removeAll() }
        return Array(wakers.values)
    }

    mutating func makeWakerID() -> UInt64 {
        lastWakerID &+= 1
        return lastWakerID
    }

    mutating func addWaiter(_ taskID: UInt64) { waiters[taskID, default: 0] += 1 }

    mutating func removeWaiter(_ taskID: UInt64) {
        let count = waiters[taskID, default: 0] - 1
        waiters[taskID] = count <= 0 ? nil : count
    }

    var waiterCount: Int { waiters.values.reduce(0, +) }

    func report(
        into info: inout ResourceInfo, armed: Bool, context: ReportContext
    ) {
        info.owner = owner == 0 ? nil : owner
        // The record is held here, so when the owner finished is known however long ago it was.
        let finishedAt = ownerRecord.flatMap(context.finishedAt)
        let ownerFinished = ownerRecord == nil || finishedAt != nil
        info.ownerFinished = owner == 0 ? nil : ownerFinished
        info.ownerFinishedAt = owner == 0 ? nil : finishedAt
        info.waiting = waiterCount
        info.waitingIDs = firstIDs(waiters.keys.filter { $0 != 0 })
        info.orphaned = armed && owner != 0 && ownerFinished
    }
}

extension Mutex where Value == TimerState {
    /// Sleeps until `deadline` as task `taskID`, or until the timer is stopped,
    /// whichever comes first. Returns whether the timer was stopped.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant, taskID: UInt64) async throws -> Bool {
        let (stopSignal, waker) = AsyncStream.makeStream(of: Void.self)
        let wakerID: UInt64? = withLock { state in
            guard !state.stopped else { return nil }
            let id = state.makeWakerID()
            state.wakers[id] = waker
            state.addWaiter(taskID)
            return id
        }
        guard let wakerID else { return true }
        defer {
            withLock { state in
                state.wakers[wakerID] = nil
                state.removeWaiter(taskID)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Task.sleep(until: deadline, clock: .continuous) }
            group.addTask { for await _ in stopSignal {} }
            defer { group.cancelAll() }
            try await group.next()
        }
        try Task.checkCancellation()
        return withLock { $0.stopped }
    }
}

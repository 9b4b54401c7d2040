import ScopeProtocol
import Synchronization

/// What timers and tickers share: an owner that can be handed over, whether
/// they are still armed, and who waits on them.
///
/// Ownership follows use: the tracked task that last waited on it owns it (a ticker made
/// by a setup task and consumed by a loop belongs to the loop), unless it was handed over.
struct TimerState: Sendable {
    /// The owning task's id (0: created outside any tracked task and not waited on by one).
    var owner: UInt64
    /// The owning task's record, while the registry knows it (none: the owner is gone).
    var ownerRecord: TaskRecord?
    /// Monotonic nanoseconds of its last use: made, or a wait on it begun or ended.
    var lastUse: UInt64
    var stopped = false
    var stoppedAt: UInt64 = 0
    /// Waiting task ids, with multiplicity.
    var waiters: [UInt64: Int] = [:]
    /// How to wake each current wait early, when the timer is stopped.
    var wakers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    private var lastWakerID: UInt64 = 0

    init(owner: TaskRecord?, now: UInt64) {
        self.owner = owner?.id ?? 0
        self.ownerRecord = owner
        lastUse = now
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

    /// Counts a wait of task `taskID` in at `now`; a tracked waiter (`record`) becomes the owner.
    mutating func addWaiter(_ taskID: UInt64, record: TaskRecord?, now: UInt64) {
        waiters[taskID, default: 0] += 1
        lastUse = max(lastUse, now)
        if let record { setOwner(record.id, record: record) }
    }

    mutating func removeWaiter(_ taskID: UInt64, now: UInt64) {
        let count = waiters[taskID, default: 0] - 1
        waiters[taskID] = count <= 0 ? nil : count
        lastUse = max(lastUse, now)
    }

    var waiterCount: Int { waiters.values.reduce(0, +) }

    /// Fills in the owner, the waits and whether it is orphaned.
    ///
    /// A one-shot timer is orphaned when armed and its owner has finished. A ticker (`period`
    /// nanoseconds) is orphaned when armed, nobody waits on it, its owner (if any) has finished,
    /// and no task has waited on it for ``idlePeriods`` periods (and at least a second): a loop
    /// consuming it waits again within a period or so, and an untracked consumer, whose liveness
    /// cannot be known, shows only by waiting.
    func report(
        into info: inout ResourceInfo, armed: Bool, period: UInt64?, context: ReportContext
    ) {
        info.owner = owner == 0 ? nil : owner
        // The record is held here, so when the owner finished is known however long ago it was.
        let finishedAt = ownerRecord.flatMap(context.finishedAt)
        let ownerFinished = ownerRecord == nil || finishedAt != nil
        info.ownerFinished = owner == 0 ? nil : ownerFinished
        info.ownerFinishedAt = owner == 0 ? nil : finishedAt
        info.waiting = waiterCount
        info.waitingIDs = firstIDs(waiters.keys.filter { $0 != 0 })
        guard let period else {
            info.orphaned = armed && owner != 0 && ownerFinished
            return
        }
        let idleFor = context.now &- min(lastUse, context.now)
        let (patience, overflow) = period.multipliedReportingOverflow(by: Self.idlePeriods)
        info.orphaned =
            armed && waiters.isEmpty && ownerFinished && !overflow && idleFor >= max(patience, 1_000_000_000)
    }

    /// How many periods a ticker may go without a wait before it counts as orphaned.
    static let idlePeriods: UInt64 = 3
}

extension Mutex where Value == TimerState {
    /// Sleeps until `deadline` as task `taskID`, or until the timer is stopped,
    /// whichever comes first. Returns whether the timer was stopped.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    /// A tracked waiter (`record`) becomes the owner; `clock` times its use.
    func sleep(
        until deadline: ContinuousClock.Instant, taskID: UInt64, record: TaskRecord?, clock: AgentClock
    ) async throws -> Bool {
        let (stopSignal, waker) = AsyncStream.makeStream(of: Void.self)
        let wakerID: UInt64? = withLock { state in
            guard !state.stopped else { return nil }
            let id = state.makeWakerID()
            state.wakers[id] = waker
            state.addWaiter(taskID, record: record, now: clock.now())
            return id
        }
        guard let wakerID else { return true }
        defer {
            withLock { state in
                state.wakers[wakerID] = nil
                state.removeWaiter(taskID, now: clock.now())
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

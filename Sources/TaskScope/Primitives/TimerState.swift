import ScopeProtocol

/// What timers and tickers share: an owner that can be handed over, whether
/// they are still armed, and who waits on them.
struct TimerState: Sendable {
    /// The owning task's id (0: created outside any tracked task, so never orphaned).
    var owner: UInt64
    var stopped = false
    var stoppedAt: UInt64 = 0
    /// Waiting task ids, with multiplicity.
    var waiters: [UInt64: Int] = [:]

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
        let ownerFinished = context.hasFinished(owner)
        info.ownerFinished = owner == 0 ? nil : ownerFinished
        info.waiting = waiterCount
        info.waitingIDs = firstIDs(waiters.keys.filter { $0 != 0 })
        info.orphaned = armed && owner != 0 && ownerFinished
    }
}

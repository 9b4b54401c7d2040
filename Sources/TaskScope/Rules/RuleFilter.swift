import ScopeProtocol

/// The `rule` filter of a `tasks` query: whether a leak rule holds for a task now, drawn as
/// the rule draws it, so that ``TaskQuery/init(tasksOf:)`` lists exactly a warning's tasks.
///
/// The resource rules and `runaway-spawn` hold for the tasks their current warnings name (see
/// ``RuleScope``); `stuck-wait` and `ignored-cancellation` are decided per task by the agent's
/// configured thresholds, as ``LeakRules`` decides them.
struct RuleFilter: Sendable {
    let scope: RuleScope
    let stuckAfter: UInt64
    let cancelAfter: UInt64
    let isOn: Bool
    /// Resources a definite rule holds for: a wait on one is not a stuck wait too.
    let orphaned: Set<UInt64>
    /// The wait sites `stuck-wait` reports as pile-ups, with when the oldest wait of each began
    /// (Unix seconds): their settled waiters since then are the warning's tasks.
    let piles: [WaitPointKey: Double]
    /// How long a wait must have lasted to count in a pile-up.
    let settling: UInt64
    /// The wait sites declared long-lived, which `stuck-wait` never reports.
    let long: Set<WaitPointKey>
    /// The registry's clock, to read a wait's start as the warnings' `since` says it.
    let clock: AgentClock

    init(
        rule: LeakRule, settings: TaskScope.RuleSettings, warnings: [Warning], orphaned: Set<UInt64>,
        clock: AgentClock = AgentClock()
    ) {
        self.clock = clock
        scope = RuleScope(rule: rule, warnings: warnings)
        stuckAfter = settings.stuckWait.nanoseconds
        cancelAfter = settings.ignoredCancellation.nanoseconds
        isOn = settings.isOn(rule)
        self.orphaned = orphaned
        var piles: [WaitPointKey: Double] = [:]
        for warning in warnings where warning.rule == .stuckWait {
            guard let since = warning.since, let site = warning.site, let reason = warning.reason else { continue }
            piles[WaitPointKey(reason: reason, file: site.file, line: site.line)] = since
        }
        self.piles = piles
        settling = WaitPiles.settling(settings.stuckGrowthWindow.nanoseconds)
        long = rule == .stuckWait ? LongWaits.shared.declared : []
    }

    /// Whether the rule holds for `record` at `now`. Call with its shard lock held.
    func holds(for record: TaskRecord, now: UInt64) -> Bool {
        guard isOn else { return false }
        let phase = record.phase
        if phase.isFinished { return false }
        switch scope.rule {
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup:
            guard let wait = record.wait(in: phase), wait.resource != 0 else { return false }
            return scope.names(resource: wait.resource, reason: wait.reason)
        case .stuckWait:
            guard phase.isWaiting, let point = record.waitPoint else { return false }
            let resource = record.waitResource
            guard resource == 0 || !orphaned.contains(resource) else { return false }
            let key = point.key
            guard !long.contains(key) else { return false }
            let waited = now &- min(phase.since, now)
            if waited >= stuckAfter { return true }
            // Rounded as the warning's `since` was, to the clock's wall reading.
            guard let oldest = piles[key] else { return false }
            return waited >= settling && clock.wall(phase.since) >= oldest
        case .ignoredCancellation:
            guard record.observeCancellation(now: now) else { return false }
            return now &- min(record.cancelledAt, now) >= cancelAfter
        case .leakedPermit, .abandonedChannel:
            guard let wait = record.wait(in: phase), wait.resource != 0 else { return false }
            return scope.names(resource: wait.resource, reason: wait.reason)
        case .deadlock, .blockedForever, .blockedExecutor:
            return scope.names(task: record.id)
        case .runawaySpawn:
            return scope.names(spawnFile: record.spawnFile, line: record.spawnLine)
        }
    }
}

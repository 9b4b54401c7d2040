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

    init(rule: LeakRule, settings: TaskScope.RuleSettings, warnings: [Warning], orphaned: Set<UInt64>) {
        scope = RuleScope(rule: rule, warnings: warnings)
        stuckAfter = settings.stuckWait.nanoseconds
        cancelAfter = settings.ignoredCancellation.nanoseconds
        isOn = settings.isOn(rule)
        self.orphaned = orphaned
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
            guard phase.isWaiting, record.waitPoint != nil else { return false }
            let resource = record.waitResource
            return now &- min(phase.since, now) >= stuckAfter && (resource == 0 || !orphaned.contains(resource))
        case .ignoredCancellation:
            guard !record.adopted, record.observeCancellation(now: now) else { return false }
            return now &- min(record.cancelledAt, now) >= cancelAfter
        case .leakedPermit, .abandonedChannel:
            guard let wait = record.wait(in: phase), wait.resource != 0 else { return false }
            return scope.names(resource: wait.resource, reason: wait.reason)
        case .deadlock, .blockedForever:
            return scope.names(task: record.id)
        case .runawaySpawn:
            return scope.names(spawnFile: record.spawnFile, line: record.spawnLine)
        }
    }
}

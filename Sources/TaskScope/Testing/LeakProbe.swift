import ScopeProtocol

/// What the leak checks of `TaskScopeTesting` read from the registry: the tasks
/// alive now and their ancestry, the leak rules' warnings, and a tracked scope for
/// a test's body. Package-internal: the registry itself stays internal.
package enum LeakProbe {
    /// Runs `body` in the current task as a tracked task named `name`, so that every task it
    /// starts (and theirs, tracked or not) descends from it; returns the scope's task id.
    package static func withTrackedScope(
        named name: String, fileID: String, line: Int, _ body: () async throws -> Void
    ) async throws -> UInt64 {
        guard let record = TaskScope.recordSpawn(name: name, fileID: fileID, line: line, function: "") else {
            try await body()
            return 0
        }
        try await TaskScope.runThrowing(record) { try await body() }
        return record.id
    }

    /// The ids of the live tracked tasks.
    package static func liveTaskIDs() -> Set<UInt64> {
        Set(TaskScope.registry.records { $0.state != .finished && !$0.adopted }.map(\.id))
    }

    /// The tracked tasks (untracked ones adopted while waiting aside) descending from the task
    /// with id `ancestor` as far as the retained records tell (every one when `nil`): the live
    /// ones, and the ids of all, finished ones and the ancestor itself included.
    package static func tasks(descendingFrom ancestor: UInt64?) -> (live: [TaskInfo], all: Set<UInt64>) {
        let registry = TaskScope.registry
        let records = registry.records { !$0.adopted }
        var parents: [UInt64: UInt64] = [:]
        for record in records { parents[record.id] = record.parentID }
        func descends(_ id: UInt64) -> Bool {
            guard let ancestor else { return true }
            var current = parents[id] ?? 0
            var steps = 0
            while current != 0, steps < 10_000 {
                if current == ancestor { return true }
                current = parents[current] ?? 0
                steps += 1
            }
            return false
        }
        let ours = records.filter { descends($0.id) }
        var all = Set(ours.map(\.id))
        if let ancestor { all.insert(ancestor) }
        return (ours.filter { $0.state != .finished }.map { registry.info($0) }, all)
    }

    /// The tracked task that created each live resource, by resource id (0: none).
    package static func resourceCreators() -> [UInt64: UInt64] {
        TaskScope.registry.resources.creators()
    }

    /// The leak rules' warnings now, with the default thresholds and the environment's overrides.
    package static func warnings() -> [Warning] {
        LeakRules(settings: TaskScope.RuleSettings().applyingEnvironment(SocketLocation().environment))
            .evaluate(registry: TaskScope.registry, samples: [])
    }
}

extension Warning {
    /// Whether this warning names `task`, judged from the task's own record: the rule's
    /// resource for the channel, timer and continuation rules (and, for a channel, the
    /// direction the task is blocked in), the wait reason and wait site for `stuck-wait`,
    /// the spawn site for `runaway-spawn`, the tasks named for `deadlock`, `blocked-forever` and `blocked-executor`, and a cancellation plus the spawn site for
    /// `ignored-cancellation`. Sites compare by file and line. Finished tasks are named by
    /// none. Cost: a few comparisons; a UI marks every row of a page with it.
    ///
    /// It is the same selection as ``TaskQuery/init(tasksOf:)``, minus the rule's own
    /// thresholds (how long a wait or a cancellation is), which only the agent knows.
    public func involves(_ task: TaskInfo) -> Bool {
        guard task.state != .finished else { return false }
        switch rule {
        case .deadlock, .blockedForever, .blockedExecutor:
            return taskIDs.contains(task.id)
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup, .leakedPermit, .abandonedChannel:
            guard task.state == .waiting else { return false }
            // A warning folding many resources names its first tasks; the UI has no resource sites.
            guard let resource else { return taskIDs.contains(task.id) }
            guard task.resource == resource else { return false }
            return reason.map { $0 == task.wait } ?? true
        case .stuckWait:
            return task.state == .waiting && task.wait == reason && Warning.same(task.waitSite, site)
        case .runawaySpawn:
            return Warning.same(task.spawnSite, site)
        case .ignoredCancellation:
            return task.cancelled && Warning.same(task.spawnSite, site)
        }
    }

    private static func same(_ lhs: SourceSite?, _ rhs: SourceSite?) -> Bool {
        guard let lhs, let rhs else { return false }
        return lhs.file == rhs.file && lhs.line == rhs.line
    }
}

/// The leak rules of the agent, by their names on the wire.
public enum LeakRule: String, Codable, Sendable, Hashable, CaseIterable {
    /// Tasks blocked on a channel whose other side has no live endpoint (or values buffered with no receiver).
    case orphanedChannel = "orphaned-channel"
    /// A timer or ticker still armed whose owner task has finished.
    case orphanedTimer = "orphaned-timer"
    /// A continuation destroyed without being resumed while a task waits on it.
    case leakedContinuation = "leaked-continuation"
    /// Tasks waiting at the same site for longer than a threshold.
    case stuckWait = "stuck-wait"
    /// A task cancelled longer than a threshold ago that has not finished.
    case ignoredCancellation = "ignored-cancellation"
    /// The live task count of one spawn site growing across the history window.
    case runawaySpawn = "runaway-spawn"
    /// Tasks waiting on a wait group whose count is above zero when nobody can call `done()` any more.
    case leakedWaitGroup = "leaked-wait-group"
    /// Tasks waiting for a semaphore whose every permit is held by finished tasks (none left to return one).
    case leakedPermit = "leaked-permit"
    /// A cycle of waits (joins, task groups, semaphores held) that none of its tasks can leave.
    case deadlock = "deadlock"
    /// Tasks whose every way out runs through tasks or resources that are definitely leaked.
    case blockedForever = "blocked-forever"
    /// Tasks blocked on a channel whose other side no live task has used since its last user finished.
    case abandonedChannel = "abandoned-channel"
    /// The cooperative pool stalled (a job waited a threshold or more for a thread): names the
    /// tracked tasks that were running without a wait through the stall, which likely blocked it.
    case blockedExecutor = "blocked-executor"

    /// Whether the rule proves a leak (`definite`) or points at a likely one (`suspect`).
    public var severity: Severity {
        switch self {
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup, .leakedPermit, .deadlock,
            .blockedForever:
            .definite
        case .stuckWait, .ignoredCancellation, .runawaySpawn, .abandonedChannel, .blockedExecutor: .suspect
        }
    }

    /// Whether the rule's warnings are found resource by resource, and those of one bug at one
    /// line folded into one (its `resource` then absent): orphaned channels and timers, leaked
    /// continuations.
    public var isPerResource: Bool {
        self == .orphanedChannel || self == .orphanedTimer || self == .leakedContinuation
    }

    public enum Severity: String, Codable, Sendable, Hashable, Comparable {
        case definite, suspect

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .definite && rhs == .suspect }
    }
}

/// One leak warning: what leaked, where, which tasks, whose absence caused it, and how to fix it.
public struct Warning: Codable, Sendable, Hashable {
    public var rule: LeakRule
    public var severity: LeakRule.Severity
    /// The resource concerned (channel, timer, continuation, semaphore), if any.
    public var resource: UInt64?
    /// The resource's name, or the task name for task rules.
    public var name: String?
    /// The site: where the resource was created, where tasks wait, or where they are spawned.
    public var site: SourceSite?
    /// The wait reason involved, if any.
    public var reason: String?
    /// How many tasks are involved.
    public var tasks: Int
    /// A few of their ids, lowest first.
    public var taskIDs: [UInt64]
    /// The task whose absence caused the leak (a finished owner), if any.
    public var owner: UInt64?
    /// When the cause began (Unix seconds), where known: the last endpoint gone
    /// (orphaned-channel), the owner finished (orphaned-timer), the start of the
    /// window (runaway-spawn).
    public var since: Double?
    /// One line saying what leaked and where.
    public var message: String
    /// One line saying how to fix it.
    public var hint: String

    public init(
        rule: LeakRule, resource: UInt64? = nil, name: String? = nil, site: SourceSite? = nil, reason: String? = nil,
        tasks: Int, taskIDs: [UInt64], owner: UInt64? = nil, since: Double? = nil, message: String, hint: String
    ) {
        self.rule = rule
        self.severity = rule.severity
        self.resource = resource
        self.name = name
        self.site = site
        self.reason = reason
        self.tasks = tasks
        self.taskIDs = taskIDs
        self.owner = owner
        self.since = since
        self.message = message
        self.hint = hint
    }
}

/// The `warnings` reply.
public struct WarningList: Codable, Sendable, Hashable {
    /// Definite leaks first, then suspects; within each, most tasks first.
    public var warnings: [Warning]

    public init(warnings: [Warning]) { self.warnings = warnings }
}

/// The `resources` reply.
public struct ResourceList: Codable, Sendable, Hashable {
    /// How many resources matched, over all pages.
    public var total: Int
    /// Orphans first, then by id.
    public var resources: [ResourceInfo]

    public init(total: Int, resources: [ResourceInfo]) {
        self.total = total
        self.resources = resources
    }
}

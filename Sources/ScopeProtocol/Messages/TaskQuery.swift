/// Which tasks a `tasks` request wants, in which order, and which page of them.
///
/// The agent filters, sorts and pages, so a client asks only for the rows it shows.
public struct TaskQuery: Sendable, Hashable {
    /// Which states to keep.
    public enum StateFilter: String, Sendable, Hashable, CaseIterable {
        case active, waiting, finished
        /// Active or waiting: every task that has not finished.
        case live
    }

    /// The order of the rows.
    public enum SortKey: String, Sendable, Hashable, CaseIterable {
        /// By id: spawn order. Ascending by default.
        case id
        /// By age: oldest first by default (descending age).
        case age
        /// By time spent waiting: longest first by default; tasks not waiting count as zero.
        case wait
        /// By name, then id. Ascending by default.
        case name
        /// By state (active, waiting, finished), then id. Ascending by default.
        case state
        /// By wait reason (tasks not waiting last), then id. Ascending by default.
        case reason

        /// Whether this key sorts descending unless told otherwise.
        public var descendingByDefault: Bool { self == .wait || self == .age }
    }

    /// The largest page a request may ask for.
    public static let maxLimit = 10_000
    /// The largest `minWait` a request may give, in seconds (about 31 years).
    public static let maxMinWait = 1e9
    /// The page size when a request gives none.
    public static let defaultLimit = 100

    /// Keep only tasks in this state.
    public var state: StateFilter?
    /// Keep only tasks waiting for this reason (exact match).
    public var wait: String?
    /// Keep only tasks whose name, spawn site or wait site contains this text (case-insensitive).
    public var text: String?
    /// Keep only tasks that have been waiting at least this many seconds.
    public var minWait: Double?
    /// The sort key.
    public var sort: SortKey
    /// Sort descending; `nil` takes the key's default.
    public var descending: Bool?
    /// Rows to skip after filtering and sorting.
    public var offset: Int
    /// Rows to return at most, `1...maxLimit`.
    public var limit: Int
    /// Keep only tasks waiting at exactly this site (file and line).
    public var waitSite: SourceSite?
    /// Keep only tasks spawned at exactly this site (file and line).
    public var spawnSite: SourceSite?
    /// Keep only tasks waiting on this resource.
    public var resource: UInt64?
    /// Keep only tasks waiting on a resource made at exactly this site (file and line): the
    /// resources of a warning that folds many (its `resource` is absent, its `site` says where).
    public var resourceSite: SourceSite?
    /// Keep only these tasks (at most ``ResourceInfo/idLimit`` ids: a warning's `taskIDs`).
    public var ids: [UInt64]?
    /// Keep only tasks this leak rule holds for now, within the other filters: with the resource
    /// or site a ``Warning`` names (see ``TaskQuery/init(tasksOf:)``), exactly that warning's tasks.
    public var rule: LeakRule?
    /// Keep only tasks started inside a span of this trace (its id, case-insensitive: see
    /// ``TaskInfo/trace``). Kept lowercased, as trace ids are recorded, so that a query over a
    /// million tasks compares without lowercasing per task.
    public var trace: String? {
        didSet {
            if let trace, trace.utf8.contains(where: { (65...90).contains($0) }) { self.trace = trace.lowercased() }
        }
    }

    public init(
        state: StateFilter? = nil, wait: String? = nil, text: String? = nil, minWait: Double? = nil,
        sort: SortKey = .id, descending: Bool? = nil, offset: Int = 0, limit: Int = TaskQuery.defaultLimit,
        waitSite: SourceSite? = nil, spawnSite: SourceSite? = nil, resource: UInt64? = nil, rule: LeakRule? = nil
    ) {
        self.state = state
        self.wait = wait
        self.text = text
        self.minWait = minWait
        self.sort = sort
        self.descending = descending
        self.offset = offset
        self.limit = limit
        self.waitSite = waitSite
        self.spawnSite = spawnSite
        self.resource = resource
        self.rule = rule
    }

    /// The query for exactly the tasks `warning` involves: its rule, with the resource it names
    /// (channel, timer and continuation rules; where the resources were made, when it folds
    /// many) or its site (the wait site of `stuck-wait`, the
    /// spawn site of `runaway-spawn` and `ignored-cancellation`), sorted longest wait first.
    public init(tasksOf warning: Warning, limit: Int = TaskQuery.defaultLimit) {
        self.init(sort: .wait, limit: limit, rule: warning.rule)
        switch warning.rule {
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup, .leakedPermit, .abandonedChannel:
            if let named = warning.resource {
                resource = named
            } else {
                // One warning for many resources made at one place (a leak per request).
                resourceSite = warning.site
            }
        case .deadlock, .blockedForever, .blockedExecutor:
            ids = warning.taskIDs
        case .stuckWait:
            wait = warning.reason
            waitSite = warning.site
        case .ignoredCancellation where warning.reason != nil:
            // Untracked tasks seen waiting: named by where they wait, having no spawn site.
            wait = warning.reason
            waitSite = warning.site
        case .runawaySpawn, .ignoredCancellation:
            spawnSite = warning.site
        }
    }

    /// Whether the effective order is descending.
    public var isDescending: Bool { descending ?? sort.descendingByDefault }
}

/// The `tasks` reply: one page of the matching tasks.
public struct TaskPage: Codable, Sendable, Hashable {
    /// How many tasks matched the filter, over all pages.
    public var total: Int
    /// The offset this page starts at.
    public var offset: Int
    /// The rows of this page.
    public var tasks: [TaskInfo]
    /// When the rows were read (Unix seconds), on the clock their `inState` was measured by:
    /// a task's age is `capturedAt - created`. Absent from agents older than this field.
    public var capturedAt: Double?

    public init(total: Int, offset: Int, tasks: [TaskInfo], capturedAt: Double? = nil) {
        self.total = total
        self.offset = offset
        self.tasks = tasks
        self.capturedAt = capturedAt
    }
}

/// The `task` reply: one task with its parent and its children.
public struct TaskDetail: Codable, Sendable, Hashable {
    public var task: TaskInfo
    /// The parent, when it is still known to the agent (live or retained).
    public var parent: TaskInfo?
    /// The children still known to the agent, by id.
    public var children: [TaskInfo]

    public init(task: TaskInfo, parent: TaskInfo?, children: [TaskInfo]) {
        self.task = task
        self.parent = parent
        self.children = children
    }
}

/// Options of a `snapshot` request.
public struct SnapshotOptions: Sendable, Hashable {
    /// The most tasks one chunk carries when none is given.
    public static let defaultChunkSize = 1_000
    /// The largest chunk a request may ask for.
    public static let maxChunkSize = 10_000

    /// Keep only tasks waiting for this reason.
    public var wait: String?
    /// Keep only tasks started inside a span of this trace (its id, case-insensitive).
    public var trace: String?
    /// Tasks per chunk.
    public var chunkSize: Int
    /// Whether to read the waiting tasks' async call stacks into the snapshot (each stack once,
    /// referred to by id from each task).
    public var stacks: Bool

    public init(
        wait: String? = nil, trace: String? = nil, chunkSize: Int = SnapshotOptions.defaultChunkSize,
        stacks: Bool = false
    ) {
        self.wait = wait
        self.trace = trace
        self.chunkSize = chunkSize
        self.stacks = stacks
    }
}

/// The final reply of a streamed `snapshot`, after its chunks.
public struct SnapshotDone: Codable, Sendable, Hashable {
    /// Tasks sent over all chunks.
    public var tasks: Int
    /// Chunks sent, the head included.
    public var chunks: Int

    public init(tasks: Int, chunks: Int) {
        self.tasks = tasks
        self.chunks = chunks
    }
}

/// The reply to `subscribe` and `unsubscribe`.
public struct Subscription: Codable, Sendable, Hashable {
    /// Whether summaries are now being pushed.
    public var active: Bool
    /// Seconds between pushed summaries (0 when not active).
    public var interval: Double

    public init(active: Bool, interval: Double) {
        self.active = active
        self.interval = interval
    }
}

/// Which resources a `resources` request wants.
public struct ResourceQuery: Sendable, Hashable {
    /// Keep only resources of this kind.
    public var kind: ResourceKind?
    /// Keep only resources a definite leak rule holds for.
    public var orphanedOnly: Bool
    /// Rows to skip (orphans come first, then by id).
    public var offset: Int
    /// Rows to return at most, `1...TaskQuery.maxLimit`.
    public var limit: Int

    public init(
        kind: ResourceKind? = nil, orphanedOnly: Bool = false, offset: Int = 0, limit: Int = TaskQuery.defaultLimit
    ) {
        self.kind = kind
        self.orphanedOnly = orphanedOnly
        self.offset = offset
        self.limit = limit
    }
}

extension TaskQuery.SortKey {
    /// The order of states in a `state` sort: active, waiting, finished.
    public static func rank(_ state: TaskState) -> UInt64 {
        switch state {
        case .active: 0
        case .waiting: 1
        case .finished: 2
        }
    }

    /// The order of wait reasons in a `reason` sort: by name, tasks not waiting (`""`) last.
    public static func reasonOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.isEmpty != rhs.isEmpty ? rhs.isEmpty : lhs < rhs
    }
}

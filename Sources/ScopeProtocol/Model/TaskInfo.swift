/// Everything the agent knows about one tracked task at the moment it was read.
///
/// Times are absolute Unix times in seconds; durations are seconds. The agent
/// writes this record with ``JSONWriter`` for bulk replies and with
/// `JSONEncoder` for small ones; both produce the same keys.
public struct TaskInfo: Codable, Sendable, Hashable {
    /// Sequential identifier, never reused within a process.
    public var id: UInt64
    /// The name given at spawn.
    public var name: String
    /// The id of the tracked task this one was spawned from, if any.
    public var parent: UInt64?
    /// The lifecycle state.
    public var state: TaskState
    /// How the task ended; set only when `state` is `finished`.
    public var outcome: TaskOutcome?
    /// The type of the error a failed task threw (never its message, which may hold user data).
    public var error: String?
    /// The wait reason while `state` is `waiting`.
    public var wait: String?
    /// The line of the await while `state` is `waiting`.
    public var waitSite: SourceSite?
    /// Where the task was spawned.
    public var spawnSite: SourceSite
    /// When the task was spawned (Unix seconds).
    public var created: Double
    /// Seconds spent in the current state (for a finished task: since it finished).
    public var inState: Double
    /// Whether the task has been cancelled.
    public var cancelled: Bool
    /// The resource (channel, timer, semaphore, continuation) it waits on, while waiting on one.
    public var resource: UInt64?
    /// Set for an untracked task seen waiting on a tracked primitive: it is
    /// shown with what can be known (its `Task.name`, its wait) and only while it waits.
    public var adopted: Bool?
    /// When the task's cancellation was first seen (Unix seconds), while `cancelled` is true.
    /// Absent from agents older than this field.
    public var cancelledAt: Double?
    /// The id of the trace whose span the task started in (swift-distributed-tracing's
    /// `ServiceContext`, lowercased), when it started inside one.
    public var trace: String?
    /// The id of the task's async call stack in the snapshot's `stacks` (snapshots taken with
    /// stacks only, waiting tasks whose stack was read).
    public var stack: Int?

    /// Creates a task record; the agent and tests use this, clients decode it.
    public init(
        id: UInt64, name: String, parent: UInt64? = nil, state: TaskState, outcome: TaskOutcome? = nil,
        error: String? = nil, wait: String? = nil, waitSite: SourceSite? = nil, spawnSite: SourceSite,
        created: Double, inState: Double, cancelled: Bool = false, resource: UInt64? = nil, adopted: Bool? = nil,
        cancelledAt: Double? = nil, trace: String? = nil
    ) {
        self.id = id
        self.name = name
        self.parent = parent
        self.state = state
        self.outcome = outcome
        self.error = error
        self.wait = wait
        self.waitSite = waitSite
        self.spawnSite = spawnSite
        self.created = created
        self.inState = inState
        self.cancelled = cancelled
        self.resource = resource
        self.adopted = adopted
        self.cancelledAt = cancelledAt
        self.trace = trace
    }

    /// Seconds this task has been waiting, or zero when it is not waiting.
    public var waitingFor: Double { state == .waiting ? inState : 0 }
}

/// Live counts of one process's tracked tasks: the `summary` reply and the
/// payload of a pushed `summary` message.
public struct Summary: Codable, Sendable, Hashable {
    /// Counts of tasks by state. `finished` counts the finished tasks still retained.
    public struct StateCounts: Codable, Sendable, Hashable {
        public var active: Int
        public var waiting: Int
        public var finished: Int
        /// Tasks that have not finished: `active + waiting`.
        public var live: Int { active + waiting }

        public init(active: Int, waiting: Int, finished: Int) {
            self.active = active
            self.waiting = waiting
            self.finished = finished
        }
    }

    /// Running totals since the agent's process started; they never go down.
    public struct Totals: Codable, Sendable, Hashable {
        public var spawned: UInt64
        public var completed: UInt64
        public var cancelled: UInt64
        public var failed: UInt64

        public init(spawned: UInt64, completed: UInt64, cancelled: UInt64, failed: UInt64) {
            self.spawned = spawned
            self.completed = completed
            self.cancelled = cancelled
            self.failed = failed
        }
    }

    /// The host's process id.
    public var pid: Int32
    /// The host's process name.
    public var process: String
    /// When these counts were read (Unix seconds).
    public var capturedAt: Double
    /// Seconds since the agent started.
    public var uptime: Double
    /// Tasks by state.
    public var tasks: StateCounts
    /// Running totals.
    public var totals: Totals
    /// Waiting tasks by wait reason.
    public var waits: [String: Int]
    /// The sampler's interval in seconds.
    public var interval: Double

    public init(
        pid: Int32, process: String, capturedAt: Double, uptime: Double, tasks: StateCounts, totals: Totals,
        waits: [String: Int], interval: Double
    ) {
        self.pid = pid
        self.process = process
        self.capturedAt = capturedAt
        self.uptime = uptime
        self.tasks = tasks
        self.totals = totals
        self.waits = waits
        self.interval = interval
    }
}

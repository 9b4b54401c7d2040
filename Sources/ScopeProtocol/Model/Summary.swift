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
    /// Leak warnings by rule name, as of the agent's last pass of the rules (about every five
    /// seconds; less often with very many tasks).
    public var warnings: [String: Int]
    /// Tracked resources by kind.
    public var resources: [String: Int]
    /// The cooperative pool's lag now, in seconds (ms): how late the agent's last probe job ran
    /// on the global executor, or how long the one still waiting has waited. A task blocking a
    /// cooperative thread makes it grow. Absent when the agent does not measure it.
    public var executorLag: Double?

    public init(
        pid: Int32, process: String, capturedAt: Double, uptime: Double, tasks: StateCounts, totals: Totals,
        waits: [String: Int], interval: Double, warnings: [String: Int] = [:], resources: [String: Int] = [:],
        executorLag: Double? = nil
    ) {
        self.pid = pid
        self.process = process
        self.capturedAt = capturedAt
        self.uptime = uptime
        self.tasks = tasks
        self.totals = totals
        self.waits = waits
        self.interval = interval
        self.warnings = warnings
        self.resources = resources
        self.executorLag = executorLag
    }

    private enum CodingKeys: String, CodingKey {
        case pid, process, capturedAt, uptime, tasks, totals, waits, interval, warnings, resources, executorLag
    }

    /// Reads a summary; `warnings` and `resources` may be absent (older snapshots).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pid = try container.decode(Int32.self, forKey: .pid)
        process = try container.decode(String.self, forKey: .process)
        capturedAt = try container.decode(Double.self, forKey: .capturedAt)
        uptime = try container.decode(Double.self, forKey: .uptime)
        tasks = try container.decode(StateCounts.self, forKey: .tasks)
        totals = try container.decode(Totals.self, forKey: .totals)
        waits = try container.decode([String: Int].self, forKey: .waits)
        interval = try container.decode(Double.self, forKey: .interval)
        warnings = try container.decodeIfPresent([String: Int].self, forKey: .warnings) ?? [:]
        resources = try container.decodeIfPresent([String: Int].self, forKey: .resources) ?? [:]
        executorLag = try container.decodeIfPresent(Double.self, forKey: .executorLag)
    }
}

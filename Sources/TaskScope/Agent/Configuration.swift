import Logging
import ScopeProtocol

extension TaskScope {
    /// How many finished tasks the registry keeps, and for how long.
    public struct Retention: Sendable, Hashable {
        /// Finished tasks kept at most (rounded up to a multiple of 64). 0 keeps none.
        public var count: Int
        /// How long a finished task is kept.
        public var age: Duration

        /// Keeps 1,024 finished tasks for at most five minutes by default.
        public init(count: Int = 1_024, age: Duration = .seconds(300)) {
            self.count = max(0, count)
            self.age = age
        }
    }

    /// Settings of the agent. The defaults suit a production service.
    public struct Configuration: Sendable {
        /// Where to serve; `nil` follows the rules of ``ScopeProtocol/SocketLocation``.
        public var socketPath: String?
        /// How often the sampler records counts (default one second).
        public var sampleInterval: Duration
        /// How many samples the history ring keeps (default 600: ten minutes at one a second).
        public var historyCapacity: Int
        /// Finished-task retention.
        public var retention: Retention
        /// The longest request line accepted, in bytes (default 1 MiB).
        public var maxLineBytes: Int
        /// How many bytes may wait in one client's output before it stops being
        /// read from; a subscribed client stuck past this is dropped.
        public var maxPendingOutputBytes: Int
        /// How long a client may leave its output full (not reading what it asked for)
        /// before it is dropped, with a log line (default 30 seconds).
        public var stalledClientTimeout: Duration
        /// Leak rule thresholds and switches (environment variables override them).
        public var rules: RuleSettings
        /// Where the agent logs: starting, stopping, refused and dropped clients
        /// (default: a logger labelled `taskscope` from the process's logging system).
        public var logger: Logger

        public init(
            socketPath: String? = nil, sampleInterval: Duration = .seconds(1), historyCapacity: Int = 600,
            retention: Retention = Retention(), maxLineBytes: Int = 1 << 20, maxPendingOutputBytes: Int = 4 << 20,
            stalledClientTimeout: Duration = .seconds(30), rules: RuleSettings = RuleSettings(),
            logger: Logger = Logger(label: "taskscope")
        ) {
            self.socketPath = socketPath
            self.sampleInterval = sampleInterval
            self.historyCapacity = historyCapacity
            self.retention = retention
            self.maxLineBytes = maxLineBytes
            self.maxPendingOutputBytes = maxPendingOutputBytes
            self.stalledClientTimeout = stalledClientTimeout
            self.rules = rules
            self.logger = logger
        }
    }
}

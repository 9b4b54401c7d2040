import Foundation
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
        /// How many bytes may wait in one client's output before the agent stops reading
        /// its requests (default 1 MiB). A client holds at most this plus one reply (or
        /// one snapshot chunk, or one summary push) in the agent's memory.
        public var maxPendingOutputBytes: Int
        /// How long a client may leave output unread with none of it written (default 30
        /// seconds): the clock starts when the agent has output for the client and restarts
        /// whenever a write to it completes; when it runs out the client is dropped, with a
        /// log line.
        public var stalledClientTimeout: Duration
        /// The most clients served at once (default 64, like Redis's `maxclients`). The agent
        /// also keeps to half the descriptors its process had free when it started (of the
        /// soft `RLIMIT_NOFILE`), whichever is fewer. One more client takes the place of the
        /// connection doing least with it: one that has asked nothing (its hello unread, or
        /// for half a second), left output unread for a second, or been idle for ten; that one
        /// is told so in a `too-many-clients` line and closed. When none is, the newcomer gets
        /// that line and is closed.
        public var maxClients: Int
        /// How long a new client may take to send its first complete request line (default
        /// 5 seconds) before it is closed, so that idle connections cannot hold descriptors.
        public var firstRequestTimeout: Duration
        /// How many heavy requests (task pages, groups, resources, warnings, snapshot set-up)
        /// and rule passes run at once, on the agent's own threads (default
        /// ``defaultConcurrentQueries``). Each client has at most one running; cheap requests
        /// are answered on the event loop meanwhile.
        public var maxConcurrentQueries: Int
        /// How many snapshots stream at once, over all clients (default 4). A streaming
        /// snapshot holds a reference to each task it captured (8 bytes a task) until it is
        /// sent; one more gets a `busy` error reply, and the client may ask again later.
        public var maxConcurrentSnapshots: Int = 4
        /// How often the agent measures the cooperative pool's lag while the pool is busy (default
        /// every 100 ms; once a sample interval while it is healthy; `nil` measures nothing): a job
        /// enqueued on the global executor notes how late it ran (see `Summary.executorLag`).
        /// Cost: one tiny task per probe, at most one waiting at a time.
        public var executorLagInterval: Duration? = .milliseconds(100)
        /// How many frames of a waiting task's async call stack the agent reads when asked
        /// (default 32, at most 128; `nil` turns stacks off). Nothing is read before a client asks
        /// (a `stacks` request, a snapshot with stacks). At start the agent parks a probe task to
        /// check that it can read this runtime's stacks, and turns them off, logging why, if not.
        public var stackDepth: Int? = 32
        /// Whether `blocked-executor` may signal a cooperative thread running on a CPU (default
        /// off) to get the frames of the loop it runs: a SIGPROF to each libdispatch worker thread on
        /// a CPU at a stall and every 2 s while it lasts. Off, the rule still names the task each
        /// thread runs and, for a thread stopped in a system call (`DispatchSemaphore.wait`,
        /// `usleep`, a read), the frames it is blocked in, read without interrupting it; a loop is
        /// named "busy on a CPU". A signal can cut short a system call the thread enters just as it
        /// arrives (EINTR), so a host opts in.
        public var samplesBlockedThreads = false
        /// How long a connection doing nothing keeps its place when another client wants it
        /// (shorter in tests, which cannot wait ten seconds per case).
        var placeThresholds = ConnectionTable.Thresholds()

        /// Two, or a quarter of the machine's cores if that is fewer (one at least), so that
        /// however many heavy requests clients queue, the agent's queries use at most a quarter
        /// of a small machine and the event loop and the host keep the rest.
        public static var defaultConcurrentQueries: Int {
            max(1, min(2, ProcessInfo.processInfo.activeProcessorCount / 4))
        }
        /// Leak rule thresholds and switches (environment variables override them).
        public var rules: RuleSettings
        /// Where the agent logs: starting, stopping, refused and dropped clients
        /// (default: a logger labelled `taskscope` from the process's logging system).
        public var logger: Logger

        public init(
            socketPath: String? = nil, sampleInterval: Duration = .seconds(1), historyCapacity: Int = 600,
            retention: Retention = Retention(), maxLineBytes: Int = 1 << 20, maxPendingOutputBytes: Int = 1 << 20,
            stalledClientTimeout: Duration = .seconds(30), maxClients: Int = 64,
            firstRequestTimeout: Duration = .seconds(5), maxConcurrentQueries: Int = defaultConcurrentQueries,
            rules: RuleSettings = RuleSettings(),
            logger: Logger = Logger(label: "taskscope")
        ) {
            self.socketPath = socketPath
            self.sampleInterval = sampleInterval
            self.historyCapacity = historyCapacity
            self.retention = retention
            self.maxLineBytes = maxLineBytes
            self.maxPendingOutputBytes = maxPendingOutputBytes
            self.stalledClientTimeout = stalledClientTimeout
            self.maxClients = max(1, maxClients)
            self.firstRequestTimeout = firstRequestTimeout
            self.maxConcurrentQueries = max(1, maxConcurrentQueries)
            self.rules = rules
            self.logger = logger
        }
    }
}

import Synchronization
import TaskScope

/// The leak patterns of the demo, each next to its corrected twin, so that
/// every leak rule fires while the healthy versions run clean beside them.
enum DemoLeaks {
    struct LookupFailed: Error {}

    /// Starts every pattern; they run until the process ends (each leak lasts: see `DemoPace`).
    @discardableResult static func start(pace: DemoPace = .demo) -> Task<Void, Never> {
        Task.tracked("leaks") {
            await withDiscardingTaskGroup { group in
                group.addTask { await channels() }
                group.addTask { await tickers() }
                group.addTask { await continuations() }
                group.addTask { await permits() }
                group.addTask { await deadlocks() }
                group.addTask { await waitGroups() }
                group.addTask { await cancellation() }
                group.addTask { await spawning(pace) }
                group.addTask { await blockingWork() }
            }
        }
    }

    // MARK: orphaned-channel

    private static func channels() async {
        // Sends that nobody receives: the receiver is dropped at once. (Three workers: the leak
        // with the most tasks, it is the first warning the UI shows.)
        do {
            let (results, _) = TrackedChannel<Int>.make(capacity: 0, name: "unanswered-results")
            for _ in 0..<3 { Task.tracked("unanswered-worker") { try await results.send(42) } }
        }
        // A worker whose loop holds its own sender (abandoned-channel): the producer returns without finishing.
        do {
            let (jobs, inbox) = TrackedChannel<Int>.make(capacity: 0, name: "job-queue")
            Task.tracked("job-worker") { for try await _ in inbox.receiving() { _ = jobs } }
            Task.tracked("job-producer") { for job in 1...3 { try await jobs.send(job) } }
        }
        // A range over a channel that is never finished.
        do {
            let (lines, incoming) = TrackedChannel<String>.make(capacity: 0, name: "log-lines")
            Task.tracked("log-producer") {
                for line in ["a", "b", "c"] { try await lines.send(line) }
                // missing: lines.finish()
            }
            Task.tracked("log-consumer") { for try await _ in incoming.receiving() {} }
        }
        // A worker whose waiter timed out: its result send blocks forever.
        _ = await fetch(timeoutAfter: .milliseconds(50), capacity: 0, name: "lookup-result")
        // The healthy twins, again and again: received, finished, and buffered for an abandoned result.
        while !Task.isCancelled {
            let (results, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "answered-results")
            Task.tracked("answered-worker") {
                defer { results.finish() }
                try await results.send(42)
            }
            _ = try? await receiver.receive()
            _ = await fetch(timeoutAfter: .milliseconds(50), capacity: 1, name: "buffered-result")
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Waits for a slow worker's result for a while; a capacity of 0 strands the worker.
    private static func fetch(timeoutAfter timeout: Duration, capacity: Int, name: String) async -> Int? {
        let (results, receiver) = TrackedChannel<Int>.make(capacity: capacity, name: name)
        // Slower than the timeout, always (however busy the machine): it answers once the waiter gave up.
        let (gaveUp, giveUp) = AsyncStream<Void>.makeStream()
        defer { giveUp.finish() }
        Task.tracked("\(name)-worker") {
            for await _ in gaveUp {}
            try await results.send(7)
        }
        return await withTaskGroup(of: Int?.self) { group in
            group.addTask { try? await receiver.receive() }
            group.addTask { await expire(after: timeout) }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    // MARK: orphaned-timer

    private static func tickers() async {
        // A session that beats twice and returns without stopping its heartbeat, which `sessions` keeps.
        Task.tracked("session") {
            let heartbeat = TrackedTicker(every: .seconds(1), name: "session-heartbeat")
            for try await beat in sessions.keep(heartbeat).ticks() where beat == 2 { break }
        }
        // The healthy twin: a ticker whose owner lives as long as it does, and stops it.
        let metrics = TrackedTicker(every: .seconds(1), name: "metrics-ticker")
        defer { metrics.stop() }
        while (try? await metrics.tick()) == true {}
    }

    // MARK: leaked-continuation

    private static func legacyLookup(fails: Bool, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        Task { completion(fails ? .failure(LookupFailed()) : .success(1)) }
    }

    private static func continuations() async {
        Task.tracked("legacy-caller") {
            await withTrackedContinuation("legacy-lookup") { (continuation: TrackedContinuation<Int, Never>) in
                legacyLookup(fails: true) { result in
                    if case .success(let value) = result { continuation.resume(returning: value) }
                    // missing: the failure path never resumes
                }
            }
        }
        while !Task.isCancelled {
            _ = try? await withTrackedThrowingContinuation("careful-lookup") {
                (continuation: TrackedContinuation<Int, any Error>) in
                legacyLookup(fails: Bool.random()) { continuation.resume(with: $0) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: stuck-wait (a permit never released)

    private static func permits() async {
        let database = TrackedSemaphore(permits: 1, name: "db-pool")
        await Task.tracked("migration") {
            try? await database.acquire()
            guard await runMigration() else { return }  // the failure path keeps the permit
            database.release()
        }.value
        for index in 0..<3 {
            Task.tracked("report-job-\(index)") { try? await database.withPermit {} }
        }
        let cache = TrackedSemaphore(permits: 2, name: "cache-pool")
        while !Task.isCancelled {
            for index in 0..<4 {
                Task.tracked("cache-read-\(index)") {
                    try? await cache.withPermit { try? await TaskScope.sleep(for: .milliseconds(100)) }
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private static func runMigration() async -> Bool { false }

    // MARK: deadlock and blocked-forever

    /// Two transfers take two semaphores in opposite orders (deadlock), and a statement joins one
    /// of them (blocked-forever); the healthy twin takes them in one order.
    private static func deadlocks() async {
        let ledger = TrackedSemaphore(permits: 1, name: "ledger")
        let audit = TrackedSemaphore(permits: 1, name: "audit-log")
        func transfer(_ first: TrackedSemaphore, _ second: TrackedSemaphore) async throws {
            try await first.withPermit {
                // Both hold their first semaphore before either asks for its second.
                while ledger.availablePermits > 0 || audit.availablePermits > 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await second.withPermit {}
            }
        }
        let incoming = Task.tracked("transfer-in") { try await transfer(ledger, audit) }
        Task.tracked("transfer-out") { try await transfer(audit, ledger) }
        Task.tracked("statement") { _ = try? await incoming.join() }
        let books = TrackedSemaphore(permits: 1, name: "books")
        let journal = TrackedSemaphore(permits: 1, name: "journal")
        while !Task.isCancelled {
            for index in 0..<2 {
                Task.tracked("booking-\(index)") { try? await books.withPermit { try? await journal.withPermit {} } }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: ignored-cancellation

    /// A nap that does not notice cancellation, as a blocking call would not.
    private static func nap() async {
        await Task.detached { try? await Task.sleep(for: .milliseconds(200)) }.value
    }

    private static func cancellation() async {
        let poller = Task.tracked("poller") {
            while true { await nap() }  // never checks cancellation
        }
        let watcher = Task.tracked("watcher") {
            while !Task.isCancelled { await nap() }
        }
        try? await Task.sleep(for: .seconds(1))
        poller.cancel()
        watcher.cancel()
    }

    // MARK: runaway-spawn

    private static func spawning(_ pace: DemoPace) async {
        // Listeners wait for what is never sent until the loop ends (never, in the demo), up to a cap.
        let (never, ending) = AsyncStream<Void>.makeStream()
        defer { ending.finish() }
        let pool = TrackedSemaphore(permits: 4, name: "fetch-pool")
        var spawned = 0
        while !Task.isCancelled {
            for _ in 0..<max(0, min(pace.runawayPerTick, pace.runawayCap - spawned)) {
                Task.tracked("listener") { for await _ in never {} }
            }
            spawned = min(pace.runawayCap, spawned + pace.runawayPerTick)
            // The healthy twin: bounded by a pool, and each round's tasks finish before the next.
            let fetches = (0..<5).map { _ in
                Task.tracked("bounded-fetch") {
                    try? await pool.withPermit { try? await Task.sleep(for: .milliseconds(20)) }
                }
            }
            for fetch in fetches { await fetch.value }
            try? await Task.sleep(for: pace.tick)
        }
    }

    /// Nothing, after `timeout`: the losing side of a race with a result.
    private static func expire(after timeout: Duration) async -> Int? {
        try? await Task.sleep(for: timeout)
        return nil
    }

    /// What the sessions keep after they return: their heartbeats, armed.
    static let sessions = Sessions()

    final class Sessions: Sendable {
        private let tickers = Mutex<[TrackedTicker]>([])

        /// Keeps `ticker` for the life of the process, and returns it.
        func keep(_ ticker: TrackedTicker) -> TrackedTicker {
            tickers.withLock { $0.append(ticker) }
            return ticker
        }
    }
}

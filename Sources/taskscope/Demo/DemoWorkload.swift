import TaskScope

/// The built-in workload of `taskscope demo`: a small service whose tasks
/// sleep, wait on labelled calls, finish, fail and get cancelled, in a
/// parent/child tree, with a few tasks that never end.
enum DemoWorkload {
    struct SimulatedFailure: Error {}

    /// Leak rule settings that let every rule fire within a minute of starting the demo.
    static let rules = TaskScope.RuleSettings(
        stuckWait: .seconds(10), ignoredCancellation: .seconds(5), runawayWindow: 10, runawayGrowth: 30)

    /// Starts the workload and returns its root task; cancel it to stop.
    static func start() -> Task<Void, Never> {
        DemoLeaks.start()
        return healthy()
    }

    private static func healthy() -> Task<Void, Never> {
        Task.tracked("demo-service") {
            await withDiscardingTaskGroup { group in
                group.addTask { await heartbeats() }
                group.addTask { await requestLoop() }
                group.addTask { await stuckConsumers() }
                group.addTask { await batchJobs() }
            }
        }
    }

    /// Tasks that sleep in a loop forever: the healthy background.
    private static func heartbeats() async {
        for index in 0..<4 {
            Task.tracked("heartbeat-\(index)") {
                while !Task.isCancelled {
                    try? await TaskScope.sleep(for: .milliseconds(500 + 250 * index))
                }
            }
        }
    }

    /// A stream of short requests, each with child calls: most complete,
    /// some fail, some are cancelled by a timeout.
    private static func requestLoop() async {
        var sequence = 0
        while !Task.isCancelled {
            sequence += 1
            let number = sequence
            let request = Task.tracked("request-\(number)") {
                try await handleRequest(number)
            }
            if number % 7 == 0 {
                Task.tracked("timeout-\(number)") {
                    try? await TaskScope.sleep(for: .milliseconds(150))
                    request.cancel()
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private static func handleRequest(_ number: Int) async throws {
        let user = Task.tracked("fetch-user") {
            try await TaskScope.waiting(on: "db.query") { try await Task.sleep(for: .milliseconds(120)) }
        }
        let profile = Task.tracked("fetch-profile") {
            try await TaskScope.waiting(on: "http.get") { try await Task.sleep(for: .milliseconds(300)) }
        }
        try await withTaskCancellationHandler {
            try await user.value
            try await profile.value
        } onCancel: {
            user.cancel()
            profile.cancel()
        }
        if number % 5 == 0 { throw SimulatedFailure() }
    }

    /// Tasks that wait on something that never comes: the leaks to find.
    private static func stuckConsumers() async {
        for index in 0..<3 {
            Task.tracked("queue-consumer-\(index)") {
                try? await TaskScope.waiting(on: "queue.pop") { try await Task.sleep(for: .seconds(86_400)) }
            }
        }
        Task.tracked("lock-waiter") {
            try? await TaskScope.waiting(on: "lock.acquire") { try await Task.sleep(for: .seconds(86_400)) }
        }
    }

    /// A job every few seconds that fans out to children and joins them.
    private static func batchJobs() async {
        var run = 0
        while !Task.isCancelled {
            run += 1
            let job = Task.tracked("batch-\(run)") {
                await withTaskGroup(of: Void.self) { group in
                    for part in 0..<5 {
                        group.addTask {
                            _ = await Task.tracked("batch-part-\(part)") {
                                try? await TaskScope.waiting(on: "disk.write") {
                                    try await Task.sleep(for: .milliseconds(400 + 200 * part))
                                }
                            }.value
                        }
                    }
                }
            }
            await job.value
            try? await Task.sleep(for: .seconds(2))
        }
    }
}

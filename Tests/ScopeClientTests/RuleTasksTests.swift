import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import ScopeClient
@testable import TaskScope

/// `TaskQuery(tasksOf: warning)` lists exactly the tasks the warning counts, for every rule,
/// from the agent over the socket and from a snapshot of it (`LocalQuery`).
@Suite(.timeLimit(.minutes(2))) struct RuleTasksTests {
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    /// A nap that does not notice cancellation.
    static func nap() async {
        await Task.detached { try? await Task.sleep(for: .milliseconds(20)) }.value
    }

    /// A task waiting on `reason` until `ending` ends, at one wait site.
    static func waiter(_ reason: String, until ending: AsyncStream<Void>) {
        Task.tracked(unique("rule-stuck")) {
            await TaskScope.waiting(on: reason) { for await _ in ending {} }
        }
    }

    /// A task at one spawn site that runs until `done`, whether cancelled or not.
    @discardableResult
    static func spinner(until done: Flag) -> Task<Void, Never> {
        Task.tracked(unique("rule-spinner")) {
            while !done.value.load(ordering: .relaxed) { await nap() }
        }
    }

    @Test func everyWarningsTasksAreTheTasksOfItsQuery() async throws {
        let directory = try makeTemporaryDirectory("rule")
        defer { removeTree(directory) }
        // The stuck-wait threshold is longer than a busy machine may take between the third
        // waiter's start and the last query below: that waiter must stay under it throughout.
        let settings = TaskScope.RuleSettings(
            stuckWait: .seconds(12), ignoredCancellation: .milliseconds(300), runawayWindow: 4,
            runawayGrowth: 20, abandonedChannel: .milliseconds(300))
        let agent = try Agent.start(
            registry: TaskScope.registry,
            configuration: .init(
                // The test takes the samples itself (see runaway-spawn below); the rules pass when
                // a request finds their last pass stale.
                socketPath: "\(directory)/agent.sock", sampleInterval: .seconds(3600),
                firstRequestTimeout: .seconds(60),
                rules: settings))
        defer { agent.stop() }
        let done = Flag()
        let (ending, end) = AsyncStream<Void>.makeStream()
        defer {
            done.value.store(true, ordering: .relaxed)
            end.finish()
        }

        // orphaned-channel: three senders, the receiver dropped at once.
        let channel = Self.unique("rule-channel")
        do {
            let (sender, _) = TrackedChannel<Int>.make(capacity: 0, name: channel)
            for value in 0..<3 { Task.tracked(Self.unique("rule-sender")) { try await sender.send(value) } }
        }
        // orphaned-timer: a ticker whose owner returned without stopping it, and that nobody waits on.
        let ticker = Self.unique("rule-ticker")
        let heartbeat = await Task.tracked(Self.unique("rule-owner")) {
            TrackedTicker(every: .milliseconds(100), name: ticker)
        }.value
        defer { heartbeat.stop() }
        // leaked-continuation: a continuation dropped unresumed.
        let continuation = Self.unique("rule-continuation")
        Task.tracked(Self.unique("rule-caller")) {
            await withTrackedContinuation(continuation) { (_: TrackedContinuation<Int, Never>) in }
        }
        // abandoned-channel: a worker whose loop holds the sender; the only producer has finished.
        let abandoned = Self.unique("rule-abandoned")
        do {
            let (jobs, inbox) = TrackedChannel<Int>.make(capacity: 0, name: abandoned)
            Task.tracked(Self.unique("rule-worker")) {
                for try await _ in inbox.receiving() { _ = jobs }
            }
            try await Task.tracked(Self.unique("rule-producer")) { try await jobs.send(1) }.value
        }
        // leaked-permit: a permit kept by a finished task, and two tasks waiting for it.
        let semaphore = Self.unique("rule-semaphore")
        let pool = TrackedSemaphore(permits: 1, name: semaphore)
        await Task.tracked(Self.unique("rule-keeper")) { try? await pool.acquire() }.value
        for _ in 0..<2 { Task.tracked(Self.unique("rule-permit-waiter")) { try? await pool.withPermit {} } }
        // deadlock: two tasks that join each other; blocked-forever: a third that joins one of them.
        let (one, two) = (LateTask(), LateTask())
        one.set(Task.tracked(Self.unique("rule-deadlock-a")) { await two.get().join() })
        two.set(Task.tracked(Self.unique("rule-deadlock-b")) { await one.get().join() })
        Task.tracked(Self.unique("rule-blocked")) { await one.get().join() }
        // leaked-wait-group: a worker that returns without done() while its adder waits.
        let waitGroup = Self.unique("rule-wait-group")
        Task.tracked(Self.unique("rule-batch")) {
            let batch = TrackedWaitGroup(name: waitGroup)
            batch.add(1)
            Task.tracked(Self.unique("rule-job")) {}  // missing: batch.done()
            try? await batch.wait()
        }
        let reason = Self.unique("rule.stuck")
        // stuck-wait: two tasks waiting at one site for longer than the threshold (a third comes later).
        for _ in 0..<2 { Self.waiter(reason, until: ending) }
        // ignored-cancellation: two tasks cancelled that keep running, and one at the same site not cancelled.
        for index in 0..<3 {
            let spinner = Self.spinner(until: done)
            if index < 2 { spinner.cancel() }
        }
        // runaway-spawn: one site's live tasks growing at every sample, then held. The test samples
        // after each burst: a loaded machine's sampler could otherwise see two bursts as one and a
        // flat step between, which the rule rightly does not take for growth throughout.
        let runawayLine = #line + 3
        for _ in 0..<8 {
            for _ in 0..<100 {
                Task.tracked("rule-listener") { for await _ in ending {} }
            }
            agent.sampler.sample(TaskScope.registry)
        }
        let runawaySite = SourceSite(file: #fileID, line: runawayLine)

        // blocked-executor: a stall of the pool is noted as the lag probe notes one (blocking this
        // process's cooperative threads would starve every other test), naming a task running
        // through it without a wait.
        let blockerName = Self.unique("rule-blocker")
        Task.tracked(blockerName) { for await _ in ending {} }
        try await eventually("the blocker runs") { !TaskScope.registry.records { $0.name == blockerName }.isEmpty }
        let blocker = try #require(TaskScope.registry.records { $0.name == blockerName }.first)
        let stallBegan = TaskScope.registry.clock.now() &- 1_000_000_000
        agent.stalls.began(
            stallBegan,
            tasks: [
                StallLog.StalledTask(
                    id: blocker.id, name: blockerName,
                    spawnSite: SourceSite(file: blocker.spawnFile, line: blocker.spawnLine), activeSince: stallBegan)
            ])

        let connection = try await ScopeConnection.connect(to: agent.socketPath)
        defer { connection.close() }
        func ours(_ warnings: [Warning]) -> [LeakRule: Warning] {
            var found: [LeakRule: Warning] = [:]
            for warning in warnings {
                let mine =
                    [channel, ticker, continuation, waitGroup].contains(warning.name ?? "") || warning.reason == reason
                    || warning.name?.hasPrefix("rule-spinner") == true
                    || (warning.rule == .runawaySpawn && warning.site == runawaySite)
                    || (warning.rule == .leakedPermit && warning.name == semaphore)
                    || (warning.rule == .abandonedChannel && warning.name == abandoned)
                    || (warning.rule == .deadlock && warning.name?.hasPrefix("rule-deadlock") == true)
                    || (warning.rule == .blockedForever && warning.name?.hasPrefix("rule-blocked") == true)
                    || (warning.rule == .blockedExecutor && warning.taskIDs == [blocker.id])
                if mine { found[warning.rule] = warning }
            }
            return found
        }
        // Every rule fires (cancellations are seen on the agent's passes of the rules, some seconds apart).
        var found: [LeakRule: Warning] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            found = ours(try await connection.warnings())
            if Set(found.keys) == Set(LeakRule.allCases) && found[.ignoredCancellation]?.tasks == 2 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Set(found.keys) == Set(LeakRule.allCases), "missing: \(Set(LeakRule.allCases).subtracting(found.keys))")
        let warnings = ours(try await connection.warnings())
        #expect(warnings[.orphanedChannel]?.tasks == 3)
        #expect(warnings[.orphanedTimer]?.tasks == 0)
        #expect(warnings[.leakedContinuation]?.tasks == 1)
        #expect(warnings[.leakedWaitGroup]?.tasks == 1)
        #expect(warnings[.stuckWait]?.tasks == 2)
        #expect(warnings[.ignoredCancellation]?.tasks == 2)
        #expect(warnings[.runawaySpawn]?.tasks == 800)
        #expect(warnings[.leakedPermit]?.tasks == 2)
        #expect(warnings[.abandonedChannel]?.tasks == 1)
        #expect(warnings[.deadlock]?.tasks == 2)
        #expect(warnings[.blockedForever]?.tasks == 1)
        #expect(warnings[.blockedExecutor]?.tasks == 1)
        // A third task at the stuck site, waiting for less than the threshold: not the warning's.
        Self.waiter(reason, until: ending)
        try await eventually("the third waits") {
            try await connection.tasks(TaskQuery(wait: reason)).total == 3
        }
        for (rule, warning) in warnings {
            let page = try await connection.tasks(TaskQuery(tasksOf: warning, limit: 1_000))
            #expect(page.total == warning.tasks, "\(rule) over the socket")
            #expect(Set(warning.taskIDs).isSubset(of: page.tasks.map(\.id)), "\(rule)")
        }

        // The same over a snapshot of the agent: its own warnings, and the agent's thresholds.
        let file = try AtomicFile(path: "\(directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(directory)/snap.json")
        #expect(snapshot.document.rules?.stuckWait == 12)
        let saved = ours(snapshot.document.warnings)
        #expect(Set(saved.keys) == Set(LeakRule.allCases))
        for (rule, warning) in saved {
            let page = try await snapshot.tasks(TaskQuery(tasksOf: warning, limit: 1_000))
            #expect(page.total == warning.tasks, "\(rule) in the snapshot")
        }
    }
}

extension RuleTasksTests {
    /// A bug that leaks a channel per request is one warning (it folds the resources made at one
    /// line); its tasks are the tasks of those resources, not every task of the rule, over the
    /// socket and over a snapshot.
    @Test func aFoldedWarningsTasksAreTheTasksOfItsResources() async throws {
        let directory = try makeTemporaryDirectory("folded")
        defer { removeTree(directory) }
        let agent = try Agent.start(
            registry: TaskScope.registry,
            // A client's first request may wait for a thread behind the suite's other tests: not this test's concern.
            configuration: .init(
                socketPath: "\(directory)/agent.sock", sampleInterval: .seconds(3600), firstRequestTimeout: .seconds(60)
            ))
        defer { agent.stop() }
        let name = Self.unique("per-request")
        func leak(_ count: Int) -> [Task<Void, Never>] {
            (0..<count).map { _ in
                let (reply, _) = TrackedChannel<Int>.make(capacity: 0, name: name)  // this line: one bug
                return Task.tracked(Self.unique("replier")) { try? await reply.send(1) }
            }
        }
        func leakElsewhere(_ count: Int) -> [Task<Void, Never>] {
            (0..<count).map { _ in
                let (reply, _) = TrackedChannel<Int>.make(capacity: 0, name: name)  // another line: another
                return Task.tracked(Self.unique("replier")) { try? await reply.send(1) }
            }
        }
        let senders = leak(12) + leakElsewhere(3)
        defer { for sender in senders { sender.cancel() } }
        let connection = try await ScopeConnection.connect(to: agent.socketPath)
        defer { connection.close() }
        func ours() async throws -> [Warning] {
            try await connection.warnings().filter { $0.name == name && $0.rule == .orphanedChannel }
        }
        try await eventually("both bugs are found, all their tasks blocked") {
            Set(try await ours().map(\.tasks)) == [12, 3]
        }
        let warnings = try await ours()
        #expect(warnings.count == 2)
        let file = try AtomicFile(path: "\(directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(directory)/snap.json")
        for warning in warnings {
            #expect(warning.resource == nil, "folded")
            let query = TaskQuery(tasksOf: warning, limit: 1_000)
            #expect(query.resourceSite == warning.site)
            let page = try await connection.tasks(query)
            #expect(page.total == warning.tasks, "over the socket: \(warning.message)")
            #expect(Set(warning.taskIDs).isSubset(of: page.tasks.map(\.id)))
            let saved = try #require(snapshot.document.warnings.first { $0.name == name && $0.site == warning.site })
            #expect(try await snapshot.tasks(TaskQuery(tasksOf: saved, limit: 1_000)).total == warning.tasks)
            // The filter alone, without the rule: the tasks waiting on what was made there.
            var bySite = TaskQuery(limit: 1_000)
            bySite.resourceSite = warning.site
            #expect(try await connection.tasks(bySite).total == warning.tasks)
        }
    }
}

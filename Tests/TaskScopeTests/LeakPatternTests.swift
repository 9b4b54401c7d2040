import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// Each leak pattern twice: the buggy code, for which the right rule fires with
/// the right counts, and the corrected code, for which no rule fires.
///
/// The tests share the process-wide registry, so each names its resources and
/// tasks uniquely and looks only at its own warnings.
@Suite(.timeLimit(.minutes(2))) struct LeakPatternTests {
    /// How long a test waits for its warning: a rule pass over the whole process's tasks, which
    /// other tests fill by the ten thousand while the suite starts (then every test of the
    /// process waited ~15 s for a thread once, in CI).
    static let patience: Duration = .seconds(40)

    /// Short thresholds, so suspect rules fire within a test.
    static let settings = TaskScope.RuleSettings(
        stuckWait: .milliseconds(200), ignoredCancellation: .milliseconds(200), runawayWindow: 5, runawayGrowth: 40)

    static func warnings(samples: [HistorySample] = []) -> [Warning] {
        LeakRules(settings: settings).evaluate(registry: TaskScope.registry, samples: samples)
    }

    /// Every warning about the resource or task named `name`.
    static func warnings(about name: String) -> [Warning] {
        warnings().filter { $0.name == name }
    }

    /// The warnings of one rule about `name` (under load, a suspect rule may fire first for the same thing).
    static func warnings(_ rule: LeakRule, about name: String) -> [Warning] {
        warnings(about: name).filter { $0.rule == rule }
    }

    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    static func taskID(named name: String) -> UInt64? {
        TaskScope.registry.records { $0.name == name }.first?.id
    }

    static func isFinished(_ name: String) -> Bool {
        TaskScope.registry.records { $0.name == name }.first.map { TaskScope.registry.info($0).state == .finished }
            ?? false
    }

    // MARK: 1. A send on an unbuffered channel that nobody receives

    @Test func aSendThatNobodyReceives() async throws {
        let channel = Self.unique("results")
        let worker = Self.unique("worker")
        // Buggy: the receiver is dropped; the worker's send can never complete.
        func startWorkerAndForgetTheReceiver() -> Task<Void, any Error> {
            let (results, _) = TrackedChannel<Int>.make(capacity: 0, name: channel)
            return Task.tracked(worker) { try await results.send(42) }
        }
        let stuck = startWorkerAndForgetTheReceiver()
        try await eventually("orphaned-channel fires", timeout: Self.patience) {
            !Self.warnings(.orphanedChannel, about: channel).isEmpty
        }
        let warning = try #require(Self.warnings(.orphanedChannel, about: channel).first)
        #expect(warning.rule == .orphanedChannel)
        #expect(warning.severity == .definite)
        #expect(warning.reason == WaitReason.channelSend)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: worker))])
        #expect(warning.message.contains("1 task blocked sending and no receiver left"))
        stuck.cancel()

        // Fixed: the receiver takes the value.
        let fixed = Self.unique("results-fixed")
        let (results, receiver) = TrackedChannel<Int>.make(capacity: 0, name: fixed)
        Task.tracked(Self.unique("worker-fixed")) { try await results.send(42) }
        #expect(try await receiver.receive() == 42)
        #expect(Self.warnings(about: fixed).isEmpty)
    }

    // MARK: 2. A range over a channel that is never finished

    @Test func aRangeOverAChannelNeverFinished() async throws {
        let channel = Self.unique("lines")
        let consumer = Self.unique("consumer")
        func produce(finishing: Bool, into sender: TrackedSender<Int>) -> Task<Void, any Error> {
            Task.tracked(Self.unique("producer")) {
                for value in 1...3 { try await sender.send(value) }
                if finishing { sender.finish() }
            }
        }
        // Buggy: the producer returns without finishing; the consumer's loop never ends.
        do {
            let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: channel)
            _ = produce(finishing: false, into: sender)
            Task.tracked(consumer) {
                var sum = 0
                for try await value in receiver.receiving() { sum += value }
                return sum
            }
        }
        try await eventually("orphaned-channel fires", timeout: Self.patience) {
            !Self.warnings(.orphanedChannel, about: channel).isEmpty
        }
        let warning = try #require(Self.warnings(.orphanedChannel, about: channel).first)
        #expect(warning.rule == .orphanedChannel)
        #expect(warning.reason == WaitReason.channelReceive)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: consumer))])
        #expect(warning.message.contains("never finished"))
        #expect(warning.since != nil)

        // Fixed: the producer finishes the channel, so the loop ends.
        let fixed = Self.unique("lines-fixed")
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: fixed)
        _ = produce(finishing: true, into: sender)
        var sum = 0
        for try await value in receiver.receiving() { sum += value }
        #expect(sum == 6)
        #expect(Self.warnings(about: fixed).isEmpty)
    }

    // MARK: 3. A sender that returns early and leaves a receiver blocked

    @Test func aSenderThatReturnsEarly() async throws {
        struct Invalid: Error {}
        func load(_ sender: TrackedSender<String>, valid: Bool, finishOnEveryPath: Bool) async throws {
            if finishOnEveryPath {
                defer { sender.finish() }
                guard valid else { return }
                try await sender.send("data")
            } else {
                guard valid else { return }  // buggy: the error path leaves without finishing
                try await sender.send("data")
                sender.finish()
            }
        }
        let channel = Self.unique("loaded")
        let waiter = Self.unique("waiter")
        do {
            let (sender, receiver) = TrackedChannel<String>.make(capacity: 0, name: channel)
            Task.tracked(Self.unique("loader")) { try await load(sender, valid: false, finishOnEveryPath: false) }
            Task.tracked(waiter) { try await receiver.receive() }
        }
        try await eventually("orphaned-channel fires", timeout: Self.patience) {
            !Self.warnings(.orphanedChannel, about: channel).isEmpty
        }
        let warning = try #require(Self.warnings(.orphanedChannel, about: channel).first)
        #expect(warning.rule == .orphanedChannel)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: waiter))])

        let fixed = Self.unique("loaded-fixed")
        let (sender, receiver) = TrackedChannel<String>.make(capacity: 0, name: fixed)
        Task.tracked(Self.unique("loader-fixed")) { try await load(sender, valid: false, finishOnEveryPath: true) }
        #expect(try await receiver.receive() == nil)
        #expect(Self.warnings(about: fixed).isEmpty)
    }

    // MARK: 4. A timeout after which the worker's result send blocks forever

    /// Waits for a slow worker's result for at most 10 ms; the channel's capacity is the bug or the fix.
    /// The worker is slower than the timeout by construction: it sends only once the waiter has given up.
    static func fetch(channel: String, worker: String, capacity: Int) async -> Int? {
        let (results, receiver) = TrackedChannel<Int>.make(capacity: capacity, name: channel)
        let (gaveUp, giveUp) = AsyncStream.makeStream(of: Void.self)
        Task.tracked(worker) {
            for await _ in gaveUp {}
            try await results.send(7)
        }
        let first = await withTaskGroup(of: Int?.self) { group in
            group.addTask { try? await receiver.receive() }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        giveUp.finish()
        return first
    }

    @Test func aWorkerStuckAfterItsWaiterTimedOut() async throws {
        let channel = Self.unique("answer")
        let worker = Self.unique("slow-worker")
        #expect(await Self.fetch(channel: channel, worker: worker, capacity: 0) == nil)
        try await eventually("orphaned-channel fires", timeout: Self.patience) {
            !Self.warnings(.orphanedChannel, about: channel).isEmpty
        }
        let warning = try #require(Self.warnings(.orphanedChannel, about: channel).first)
        #expect(warning.reason == WaitReason.channelSend)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: worker))])

        // Fixed: a buffer of one lets the worker leave its result and finish.
        let fixed = Self.unique("answer-fixed")
        let fixedWorker = Self.unique("slow-worker-fixed")
        #expect(await Self.fetch(channel: fixed, worker: fixedWorker, capacity: 1) == nil)
        try await eventually("the worker finishes", timeout: Self.patience) { Self.isFinished(fixedWorker) }
        // With both endpoints gone the channel goes too (a report running elsewhere may hold it a moment).
        try await eventually("no warning about the fixed channel", timeout: Self.patience) {
            Self.warnings(about: fixed).isEmpty
        }
    }

    // MARK: 5. A ticker started by a task that returned without stopping it

    @Test func aTickerItsOwnerNeverStopped() async throws {
        let name = Self.unique("heartbeat")
        let owner = Self.unique("owner")
        let beater = Self.unique("beater")
        // The ticker is kept (as a service object would keep it) until the test ends.
        // The beater's id is kept by the beater itself: a finished task may leave the registry's ring.
        let (kept, beaterID) = await Task.tracked(owner) {
            let ticker = TrackedTicker(every: .milliseconds(100), name: name)
            // The beater takes it over by waiting on it, beats twice and returns.
            let beaterID = await Task.tracked(beater) {
                for try await count in ticker.ticks() where count == 2 { break }
                return TaskScope.currentTaskID
            }.result
            // Buggy: returns without ticker.stop(), and nobody waits on it any more.
            return (ticker, (try? beaterID.get()).flatMap { $0 })
        }.value
        defer { kept.stop() }
        try await eventually("orphaned-timer fires", timeout: Self.patience) {
            !Self.warnings(.orphanedTimer, about: name).isEmpty
        }
        let warning = try #require(Self.warnings(.orphanedTimer, about: name).first)
        #expect(warning.rule == .orphanedTimer)
        #expect(beaterID != nil)
        #expect(warning.owner == beaterID, "its last user owns it")
        #expect(warning.tasks == 0)
        #expect(warning.message.contains("still armed"))
        // When the owner went away, known from the ticker's hold on its record (so not lost to retention).
        let since = try #require(warning.since)
        #expect(abs(since - Date().timeIntervalSince1970) < 60)

        // Fixed: the owner stops the ticker before it returns, which also ends the beater's loop.
        let fixed = Self.unique("heartbeat-fixed")
        let fixedBeater = Self.unique("beater-fixed")
        await Task.tracked(Self.unique("owner-fixed")) {
            let ticker = TrackedTicker(every: .seconds(30), name: fixed)
            let beat = Task.tracked(fixedBeater) { for try await _ in ticker.ticks() {} }
            try? await Task.sleep(for: .milliseconds(20))
            ticker.stop()
            _ = await beat.result
        }.value
        #expect(Self.isFinished(fixedBeater))
        #expect(Self.warnings(about: fixed).isEmpty)
    }

    // MARK: 6. A continuation dropped on an error path

    /// A callback API: reports success or failure, once.
    static func legacyLookup(fails: Bool, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        struct LookupFailed: Error {}
        completion(fails ? .failure(LookupFailed()) : .success(1))
    }

    @Test func aContinuationDroppedOnAnErrorPath() async throws {
        let name = Self.unique("lookup")
        let caller = Self.unique("caller")
        Task.tracked(caller) {
            await withTrackedContinuation(name) { (continuation: TrackedContinuation<Int, Never>) in
                Self.legacyLookup(fails: true) { result in
                    if case .success(let value) = result { continuation.resume(returning: value) }
                    // Buggy: the failure path forgets the continuation.
                }
            }
        }
        try await eventually("leaked-continuation fires", timeout: Self.patience) {
            !Self.warnings(.leakedContinuation, about: name).isEmpty
        }
        let warning = try #require(Self.warnings(.leakedContinuation, about: name).first)
        #expect(warning.rule == .leakedContinuation)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: caller))])
        #expect(warning.reason == WaitReason.continuation)

        // Fixed: every path resumes.
        let fixed = Self.unique("lookup-fixed")
        let outcome = await Task.tracked(Self.unique("caller-fixed")) {
            try await withTrackedThrowingContinuation(fixed) { (continuation: TrackedContinuation<Int, any Error>) in
                Self.legacyLookup(fails: true) { continuation.resume(with: $0) }
            }
        }.result
        #expect(throws: (any Error).self) { try outcome.get() }
        #expect(Self.warnings(about: fixed).isEmpty)
    }

    // MARK: 7. A semaphore permit never released

    static func isValid(_ request: String) -> Bool { !request.isEmpty }

    @Test func aPermitNeverReleased() async throws {
        let name = Self.unique("db-pool")
        let pool = TrackedSemaphore(permits: 1, name: name)
        let leaker = Self.unique("leaker")
        // Buggy: the early return skips the release.
        await Task.tracked(leaker) {
            try? await pool.acquire()
            guard Self.isValid("") else { return }
            pool.release()
        }.value
        let blocked = (0..<2).map { index in
            Task.tracked(Self.unique("query-\(index)")) { try await pool.withPermit {} }
        }
        // Proven (its only holder finished): the definite warning, and not a stuck-wait as well.
        try await eventually("leaked-permit fires", timeout: Self.patience) {
            Self.warnings(.leakedPermit, about: name).first?.tasks == 2
        }
        let warning = try #require(Self.warnings(.leakedPermit, about: name).first)
        #expect(warning.severity == .definite)
        #expect(warning.reason == WaitReason.semaphore)
        #expect(warning.owner == Self.taskID(named: leaker))
        #expect(warning.message.contains("held by finished task \(try #require(Self.taskID(named: leaker)))"))
        #expect(Self.warnings(.stuckWait, about: name).isEmpty, "one bug, one warning")
        for task in blocked { task.cancel() }

        // Fixed: withPermit returns the permit on every path.
        let fixedName = Self.unique("db-pool-fixed")
        let fixed = TrackedSemaphore(permits: 1, name: fixedName)
        await Task.tracked(Self.unique("careful")) {
            try? await fixed.withPermit {
                guard Self.isValid("") else { return }
            }
        }.value
        for index in 0..<2 {
            try await Task.tracked(Self.unique("query-fixed-\(index)")) { try await fixed.withPermit {} }.value
        }
        #expect(fixed.availablePermits == 1)
        #expect(Self.warnings(about: fixedName).isEmpty)
    }

    // MARK: 8. A task that is cancelled and keeps looping

    /// A nap that does not notice cancellation, as a blocking call would not.
    static func nap() async {
        await Task.detached { try? await Task.sleep(for: .milliseconds(10)) }.value
    }

    @Test func aCancelledTaskThatKeepsLooping() async throws {
        let name = Self.unique("poller")
        let stop = Atomic<Bool>(false)
        let buggy = Task.tracked(name) {
            while !stop.load(ordering: .relaxed) { await Self.nap() }  // buggy: never checks cancellation
        }
        buggy.cancel()
        try await eventually("ignored-cancellation fires", timeout: Self.patience) {
            !Self.warnings(.ignoredCancellation, about: name).isEmpty
        }
        let warning = try #require(Self.warnings(.ignoredCancellation, about: name).first)
        #expect(warning.rule == .ignoredCancellation)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(Self.taskID(named: name))])
        stop.store(true, ordering: .relaxed)
        await buggy.value

        let fixedName = Self.unique("poller-fixed")
        let fixed = Task.tracked(fixedName) {
            while !Task.isCancelled { await Self.nap() }
        }
        fixed.cancel()
        await fixed.value
        #expect(Self.warnings(about: fixedName).isEmpty)
    }

    // MARK: 9. A loop that spawns without bound

    @Test func aLoopThatSpawnsWithoutBound() async throws {
        let sampler = Sampler(capacity: 10, interval: .seconds(1))
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let buggyLine = #line + 4
        // Buggy: every round spawns more workers that wait on something that never comes.
        for _ in 0..<6 {
            for _ in 0..<20 {
                Task.tracked("unbounded-worker") { for await _ in gate {} }
            }
            try await eventually("the round is live", timeout: Self.patience) {
                TaskScope.registry.counts().sites[SiteKey(file: #fileID, line: buggyLine), default: 0] % 20 == 0
            }
            sampler.sample(TaskScope.registry)
        }
        let runaway = Self.warnings(samples: sampler.samples).filter {
            $0.rule == .runawaySpawn && $0.site == SourceSite(file: #fileID, line: buggyLine)
        }
        #expect(runaway.count == 1)
        #expect(runaway.first?.tasks == 120)
        // The window is the last five samples: 40 live at its start, 120 at its end.
        #expect(runaway.first?.message.contains("up 80") == true)
        open.finish()

        // Fixed: the same rounds, each bounded by a semaphore and waited for, so the site's count stays flat.
        let fixedSampler = Sampler(capacity: 10, interval: .seconds(1))
        let pool = TrackedSemaphore(permits: 4, name: Self.unique("workers"))
        let fixedLine = #line + 4
        for _ in 0..<6 {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    let worker = Task.tracked("bounded-worker") { try? await pool.withPermit {} }
                    group.addTask { await worker.value }
                }
            }
            fixedSampler.sample(TaskScope.registry)
        }
        #expect(
            !Self.warnings(samples: fixedSampler.samples).contains {
                $0.rule == .runawaySpawn && $0.site == SourceSite(file: #fileID, line: fixedLine)
            })
    }
}

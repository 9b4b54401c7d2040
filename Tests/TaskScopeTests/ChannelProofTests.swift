import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// `abandoned-channel`: a channel whose other side is still held (so `orphaned-channel` cannot
/// prove anything) but which no live task has used since its last user finished. Go's
/// `worker_no_stop` (definite here too) and `worker_no_stop_self` (a suspect, fast), each with its
/// fixed twin, and the controls that must stay silent.
@Suite(.timeLimit(.minutes(2))) struct ChannelProofTests {
    static let settings = TaskScope.RuleSettings(abandonedChannel: .milliseconds(200))

    static func warnings(about name: String) -> [Warning] {
        LeakRules(settings: settings).evaluate(registry: TaskScope.registry, samples: []).filter { $0.name == name }
    }

    static func unique(_ base: String) -> String { SemaphoreProofTests.unique(base) }

    static func taskID(named name: String) -> UInt64? { SemaphoreProofTests.taskID(named: name) }

    /// Seconds the task named `name` has waited on `reason`, or nil when it is not waiting on it.
    static func waited(_ name: String, on reason: String) -> Double? {
        guard let record = TaskScope.registry.records(where: { $0.name == name }).first else { return nil }
        let info = TaskScope.registry.info(record)
        return info.wait == reason ? info.inState : nil
    }

    /// A worker that loops over its own inbox; the loop captures `self`, which holds the sender.
    final class Pipeline: Sendable {
        let jobs: TrackedSender<Int>
        let inbox: TrackedReceiver<Int>

        init(name: String) { (jobs, inbox) = TrackedChannel<Int>.make(capacity: 0, name: name) }

        func startWorker(_ name: String) -> Task<Int, any Error> {
            Task.tracked(name) {
                var done = 0
                for try await _ in self.inbox.receiving() { done += 1 }
                return done
            }
        }

        /// Sends three jobs; the task's value is its own id (its record, once finished, may be
        /// dropped from the registry's ring by the time a test looks it up).
        func produce(_ name: String, finishing: Bool) -> Task<UInt64?, any Error> {
            Task.tracked(name) {
                for job in 1...3 { try await self.jobs.send(job) }
                if finishing { self.jobs.finish() }
                return TaskScope.currentTaskID
            }
        }
    }

    // Go's worker_no_stop_self: the producer returns without finishing, and the worker's loop
    // keeps the sending endpoint alive through `self`.
    @Test func aWorkerWhoseLoopHoldsTheSenderIsAbandonedSoon() async throws {
        let name = Self.unique("jobs")
        let (worker, producer) = (Self.unique("worker"), Self.unique("producer"))
        let pipeline = Pipeline(name: name)
        let working = pipeline.startWorker(worker)
        let producerID = try #require(try await pipeline.produce(producer, finishing: false).value)
        try await eventually("abandoned-channel fires") {
            Self.warnings(about: name).contains { $0.rule == .abandonedChannel }
        }
        let warning = try #require(Self.warnings(about: name).first { $0.rule == .abandonedChannel })
        let workerID = try #require(Self.taskID(named: worker))
        #expect(warning.severity == .suspect)
        #expect(warning.reason == WaitReason.channelReceive)
        #expect(warning.taskIDs == [workerID])
        #expect(warning.owner == producerID)
        #expect(
            warning.message.contains(
                "no live task has used its sending side since its last sender, task \(producerID), finished"))
        #expect(warning.message.contains("task \(workerID) waits to receive"))
        // The sender is still held: nothing is proven.
        #expect(!Self.warnings(about: name).contains { $0.severity == .definite })
        pipeline.jobs.finish()
        #expect(try await working.value == 3)

        // Fixed: the producer finishes the channel, and the worker's loop ends.
        let fixedName = Self.unique("jobs-fixed")
        let fixed = Pipeline(name: fixedName)
        let fixedWorker = fixed.startWorker(Self.unique("worker-fixed"))
        _ = try await fixed.produce(Self.unique("producer-fixed"), finishing: true).value
        #expect(try await fixedWorker.value == 3)
        #expect(Self.warnings(about: fixedName).isEmpty)
    }

    /// A service's worker pool, made at start, fed by its requests: idle between requests, not
    /// abandoned (the next request may send). Its twin: the same producer as a plain tracked task
    /// is the leak above.
    @Test func aWorkerPoolFedByRequestsIsIdleNotAbandoned() async throws {
        let name = Self.unique("payments")
        let worker = Self.unique("payment-worker")
        let pipeline = Pipeline(name: name)
        let working = pipeline.startWorker(worker)
        for order in 1...2 {
            // As a framework runs a request: an untracked task, its handler in a scope.
            try await Task {
                try await TaskScope.scope("POST /orders") {
                    try await Task.tracked("hand over") { try await pipeline.jobs.send(order) }.value
                }
            }.value
        }
        try await eventually("the worker waits past the threshold") {
            (Self.waited(worker, on: WaitReason.channelReceive) ?? 0) > 0.5
        }
        #expect(Self.warnings(about: name).isEmpty, "\(Self.warnings(about: name))")
        pipeline.jobs.finish()
        #expect(try await working.value == 2)
    }

    /// A channel a request makes for itself is judged as any other: its worker_no_stop_self leaks
    /// once per request.
    @Test func aRequestsOwnAbandonedChannelIsStillFound() async throws {
        let name = Self.unique("request-jobs")
        let worker = Self.unique("request-worker")
        try await Task {
            try await TaskScope.scope("POST /batches") {
                let pipeline = Pipeline(name: name)
                _ = pipeline.startWorker(worker)
                _ = try await pipeline.produce(Self.unique("request-producer"), finishing: false).value
            }
        }.value
        try await eventually("abandoned-channel fires") {
            Self.warnings(about: name).contains { $0.rule == .abandonedChannel }
        }
        let workerID = try #require(Self.taskID(named: worker))
        #expect(Self.warnings(about: name).first { $0.rule == .abandonedChannel }?.taskIDs == [workerID])
        let record = try #require(TaskScope.registry.records(where: { $0.name == worker }).first)
        #expect(record.servesRequest, "a request's worker serves the request")
    }

    // Go's worker_no_stop: the sending endpoint is gone, which orphaned-channel proves; the
    // suspect does not repeat it.
    @Test func aWorkerWhoseSenderIsGoneIsOrphanedNotAbandoned() async throws {
        let name = Self.unique("stop")
        let worker = Self.unique("worker-no-stop")
        let working: Task<Void, any Error> = await {
            let (stop, stopped) = TrackedChannel<Void>.make(capacity: 0, name: name)
            let task = Task.tracked(worker) { for try await _ in stopped.receiving() {} }
            await Task.tracked(Self.unique("stopper")) { _ = stop }.value
            return task
        }()
        try await eventually("orphaned-channel fires") {
            Self.warnings(about: name).contains { $0.rule == .orphanedChannel }
        }
        #expect(!Self.warnings(about: name).contains { $0.rule == .abandonedChannel })
        working.cancel()
        _ = await working.result
    }

    // Go's NoLeakGlobal: a listener on a channel nobody has sent to yet, held for later. No task
    // ever used its sending side, so nothing says it never will.
    @Test func aListenerOnAChannelNobodyUsedYetIsNoLeak() async throws {
        let name = Self.unique("global")
        let listener = Self.unique("listener")
        let (signal, signals) = TrackedChannel<Int>.make(capacity: 0, name: name)
        let listening = Task.tracked(listener) { try await signals.receive() }
        try await eventually("the listener waits past the threshold") {
            (Self.waited(listener, on: WaitReason.channelReceive) ?? 0) > 0.4
        }
        #expect(Self.warnings(about: name).isEmpty)
        try await signal.send(1)
        #expect(try await listening.value == 1)
    }

    // A producer that pauses between batches is live: its channel is not abandoned.
    @Test func aProducerThatPausesIsNoLeak() async throws {
        let name = Self.unique("batches")
        let (worker, producer) = (Self.unique("batch-worker"), Self.unique("batch-producer"))
        let pipeline = Pipeline(name: name)
        let working = pipeline.startWorker(worker)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        let producing = Task.tracked(producer) {
            try await pipeline.jobs.send(1)
            await TaskScope.waiting(on: "next-batch") { for await _ in gate {} }
            try await pipeline.jobs.send(2)
            pipeline.jobs.finish()
        }
        try await eventually("the producer pauses past the threshold") {
            (Self.waited(producer, on: "next-batch") ?? 0) > 0.4
                && Self.waited(worker, on: WaitReason.channelReceive) != nil
        }
        #expect(Self.warnings(about: name).isEmpty)
        opener.finish()
        try await producing.value
        #expect(try await working.value == 2)
    }
}

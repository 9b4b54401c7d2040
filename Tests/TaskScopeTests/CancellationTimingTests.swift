import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// `ignored-cancellation` reports a task within two seconds of its threshold, says the age
/// it knows is a lower bound, and covers the untracked tasks the agent sees waiting: plain
/// tasks and `async let` children.
@Suite(.timeLimit(.minutes(1))) struct CancellationTimingTests {
    static let second: UInt64 = 1_000_000_000

    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    /// A nap that does not notice cancellation: a cancelled task's `Task.sleep` throws at once,
    /// and a loop of them would spin (and Swift Testing records a backtrace per throw).
    static func nap() async {
        await Task.detached { try? await Task.sleep(for: .milliseconds(10)) }.value
    }

    static let rules = LeakRules(settings: TaskScope.RuleSettings(ignoredCancellation: .milliseconds(200)))

    static func ignoring(_ reason: String) -> [Warning] {
        rules.evaluate(registry: TaskScope.registry, samples: []).filter {
            $0.rule == .ignoredCancellation && $0.reason == reason
        }
    }

    /// The agent looks at the tasks about every second (every tick of its sampler), so a
    /// cancellation is seen within a second or so of happening, and reported within about two
    /// passes of its threshold.
    @Test func theAgentLooksAboutEverySecond() {
        var schedule = RulePassSchedule()
        let tick = 100 * Self.second
        schedule.passed(endingAt: tick + 2_000_000, taking: 100_000)  // a pass that ends after its tick
        #expect(schedule.isDue(now: tick + Self.second), "the next tick of the sampler passes again")
        #expect(schedule.isStale(now: tick + Self.second))
    }

    @Test func aSingleRequestAfterTheThresholdFindsTheCancelledTask() async throws {
        let directory = try makeTemporaryDirectory("cancel")
        defer { removeTree(directory) }
        let registry = Registry()
        var configuration = TaskScope.Configuration(socketPath: "\(directory)/agent.sock")
        configuration.rules.ignoredCancellation = .seconds(2)
        let agent = try Agent.start(registry: registry, configuration: configuration)
        defer { agent.stop() }
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let task = Task { for await _ in gate {} }
        defer { open.finish() }
        let record = registry.spawn(name: "ignores", parentID: 0, file: "Cancel.swift", line: 1, function: "")
        registry.enter(record, taskKey: unsafeBitCast(task, to: Int.self))
        task.cancel()
        let cancelled = ContinuousClock.now
        // One request, the threshold and two seconds later (and a second of slack for a busy machine).
        try await Task.sleep(until: cancelled + .seconds(5), clock: .continuous)
        let warning = try #require(agent.currentWarnings().first { $0.rule == .ignoredCancellation })
        #expect(warning.taskIDs == [record.id])
        #expect(warning.message.contains("cancelled at least"), "the age is a lower bound")
        registry.finish(record, outcome: .cancelled)
    }

    @Test func aPlainTaskCancelledWhileItWaitsIsReported() async throws {
        let reason = Self.unique("plain.wait")
        let done = Flag()
        defer { done.raise() }  // whatever happens: the buggy loop must not outlive the test
        let plain = Task {
            await TaskScope.waiting(on: reason) {
                // Buggy: the wait's work ignores cancellation.
                while !done.isRaised { await Self.nap() }
            }
        }
        try await eventually("the plain task waits") {
            TaskScope.registry.records { $0.adopted && $0.waitPoint?.reason == reason }.count == 1
        }
        plain.cancel()
        try await eventually("ignored-cancellation fires") { !Self.ignoring(reason).isEmpty }
        let warning = try #require(Self.ignoring(reason).first)
        #expect(warning.tasks == 1)
        #expect(warning.message.contains("untracked"))
        done.raise()
        await plain.value

        // Fixed: the wait's work ends when the task is cancelled.
        let fixedReason = Self.unique("plain.wait-fixed")
        let fixed = Task {
            await TaskScope.waiting(on: fixedReason) {
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            }
        }
        try await eventually("the fixed task waits") {
            TaskScope.registry.records { $0.adopted && $0.waitPoint?.reason == fixedReason }.count == 1
        }
        fixed.cancel()
        await fixed.value
        #expect(Self.ignoring(fixedReason).isEmpty)
        #expect(!TaskScope.warnings().contains { $0.reason == fixedReason })
    }

    @Test func anAsyncLetChildThatIgnoresItsCancellationIsReported() async throws {
        let reason = Self.unique("child.wait")
        let done = Flag()
        defer { done.raise() }
        let parent = Task.tracked(Self.unique("parent")) {
            async let child: Void = TaskScope.waiting(on: reason) {
                while !done.isRaised { await Self.nap() }
            }
            await child
        }
        try await eventually("the child waits") {
            TaskScope.registry.records { $0.adopted && $0.waitPoint?.reason == reason }.count == 1
        }
        parent.cancel()
        try await eventually("ignored-cancellation fires for the child") { !Self.ignoring(reason).isEmpty }
        #expect(Self.ignoring(reason).first?.tasks == 1)
        done.raise()
        await parent.value
        #expect(Self.ignoring(reason).isEmpty)
    }
}

extension CancellationTimingTests {
    /// Across the adoption table's slices: 600 plain tasks waiting and cancelled (about 37 in
    /// each of the 16 tables), noted in slices of 8 (many per table, so tasks on both sides of
    /// every slice's end) and in one slice per table, are each noted either way.
    @Test(arguments: [8, 1_000]) func everyCancelledAdoptedTaskIsNotedAcrossSlices(sliceSize: Int) async throws {
        let reason = Self.unique("many.wait")
        let done = Flag()
        defer { done.raise() }
        let count = 600
        let tasks = (0..<count).map { _ in
            Task {
                await TaskScope.waiting(on: reason) {
                    while !done.isRaised { await Self.nap() }
                }
            }
        }
        func adopted() -> [TaskRecord] {
            TaskScope.registry.records { $0.adopted && $0.waitPoint?.reason == reason }
        }
        try await eventually("all wait", timeout: .seconds(30)) { adopted().count == count }
        for task in tasks { task.cancel() }
        Adoptions.shared.noteCancellations(now: TaskScope.registry.clock.now(), sliceSize: sliceSize)
        let records = adopted()
        #expect(records.count == count)
        let noted = records.filter { record in record.withShardLocked { _ in record.cancelledAt != 0 } }
        #expect(noted.count == count)
        done.raise()
        for task in tasks { await task.value }
    }
}

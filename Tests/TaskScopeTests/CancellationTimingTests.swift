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
}

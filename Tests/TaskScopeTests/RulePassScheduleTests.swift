import Foundation
import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(1))) struct RulePassScheduleTests {
    private let second: UInt64 = 1_000_000_000

    @Test func aFreshScheduleIsDueAndStale() {
        let schedule = RulePassSchedule()
        #expect(schedule.isDue(now: 1))
        #expect(schedule.isStale(now: 1))
    }

    @Test func cheapPassesComeEveryInterval() {
        var schedule = RulePassSchedule(interval: 5 * second, backOff: 2_000)
        let end = 100 * second
        schedule.passed(endingAt: end, taking: 1_000_000)  // 1 ms: 2 s of back-off, less than the interval
        #expect(!schedule.isDue(now: end + 4 * second))
        #expect(schedule.isDue(now: end + 5 * second))
        #expect(!schedule.isStale(now: end + 4 * second))
        #expect(schedule.isStale(now: end + 5 * second))
    }

    @Test func longPassesPushTheNextOneBackButRequestsStillSeeFreshCancellations() {
        var schedule = RulePassSchedule(interval: 5 * second, backOff: 2_000)
        let end = 100 * second
        schedule.passed(endingAt: end, taking: 100_000_000)  // 100 ms, as a million tasks take
        #expect(!schedule.isDue(now: end + 199 * second))
        #expect(schedule.isDue(now: end + 200 * second))
        // Meanwhile a request finds the cancellations stale after the usual interval, and passes itself.
        #expect(schedule.isStale(now: end + 5 * second))
    }

    /// Nobody watching, passes come half as often: every two intervals while cheap, and twice as
    /// long after a costly one (the idle agent's budget).
    @Test func unwatchedPassesComeHalfAsOften() {
        var schedule = RulePassSchedule(interval: second, backOff: 1_000)
        let end = 100 * second
        schedule.passed(endingAt: end, taking: 400_000)  // 0.4 ms: under either interval
        #expect(!schedule.isDue(now: end + second - 1, watched: true))
        #expect(schedule.isDue(now: end + second, watched: true))
        #expect(!schedule.isDue(now: end + 2 * second - 1, watched: false))
        #expect(schedule.isDue(now: end + 2 * second, watched: false))
        schedule.passed(endingAt: end, taking: 3_000_000)  // 3 ms: 3 s watched, 6 s not
        #expect(!schedule.isDue(now: end + 3 * second - 1, watched: true))
        #expect(schedule.isDue(now: end + 3 * second, watched: true))
        #expect(!schedule.isDue(now: end + 6 * second - 1, watched: false))
        #expect(schedule.isDue(now: end + 6 * second, watched: false))
        // A request still finds cancellations stale after the interval, watched or not.
        #expect(schedule.isStale(now: end + second))
        schedule.passed(endingAt: end, taking: 1_500_000)  // 1.5 ms: 1.5 s watched, 3 s not
        #expect(schedule.isDue(now: end + 1_500_000_000, watched: true))
        #expect(!schedule.isDue(now: end + 3 * second - 1, watched: false))
        #expect(schedule.isDue(now: end + 3 * second, watched: false))
    }

    /// The agent passes the rules on the short schedule as soon as a client connects.
    @Test func aClientConnectingBringsThePassesBack() async throws {
        let directory = try makeTemporaryDirectory("watch")
        defer { removeTree(directory) }
        let registry = Registry()
        let configuration = TaskScope.Configuration(
            socketPath: "\(directory)/agent.sock", sampleInterval: .milliseconds(50))
        // Unwatched, the next pass is an hour away; watched, 50 ms.
        let agent = try Agent.start(
            registry: registry, configuration: configuration,
            rulePasses: RulePassSchedule(interval: 50_000_000, backOff: 1, unwatchedInterval: 3_600 * second))
        defer { agent.stop() }
        try await eventually("the first pass") { agent.lastRulePass != 0 }
        let first = agent.lastRulePass
        // Ten ticks of the sampler, nobody connected: no pass.
        try await Task.sleep(for: .milliseconds(500))
        #expect(agent.lastRulePass == first, "no pass while nobody watches")
        let client = try RawLineClient(path: "\(directory)/agent.sock")
        _ = try await client.readObject()
        try await eventually("a pass once a client is connected") { agent.lastRulePass != first }
    }

    @Test func absurdDurationsAndClocksNeitherTrapNorRunPassesBackToBack() {
        var schedule = RulePassSchedule(interval: 5 * second, backOff: 2_000)
        schedule.passed(endingAt: UInt64.max - second, taking: UInt64.max / 3)
        #expect(!schedule.isDue(now: UInt64.max - 1))
        // A reading before the last pass (two clocks) is not taken for a stale one.
        schedule.passed(endingAt: 50 * second, taking: 0)
        #expect(!schedule.isStale(now: 49 * second))
    }

    @Test func aWarningsRequestAsksTheTasksItselfOnceThePassIsStale() async throws {
        let directory = try makeTemporaryDirectory("pass")
        defer { removeTree(directory) }
        let registry = Registry()
        // The sampler never ticks within the test: only requests can pass the rules.
        var configuration = TaskScope.Configuration(
            socketPath: "\(directory)/agent.sock", sampleInterval: .seconds(3600))
        configuration.rules.ignoredCancellation = .zero
        let agent = try Agent.start(
            registry: registry, configuration: configuration,
            rulePasses: RulePassSchedule(interval: 2 * second, backOff: 2_000))
        defer { agent.stop() }
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let task = Task { for await _ in gate {} }
        defer { open.finish() }
        let record = registry.spawn(name: "ignores", parentID: 0, file: "Pass.swift", line: 1, function: "")
        registry.enter(record, taskKey: unsafeBitCast(task, to: Int.self))
        task.cancel()
        func ignoring() -> Bool { agent.currentWarnings().contains { $0.rule == .ignoredCancellation } }
        // The pass at start is fresh: a request uses what it saw (nothing yet).
        #expect(!ignoring())
        try await eventually("a request passes the rules itself", timeout: .seconds(20)) { ignoring() }
        registry.finish(record, outcome: .cancelled)
    }
}

import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope
@testable import taskscope

/// The demo's leaks last: every leak rule keeps its warning about the demo's leaks over half an
/// hour of samples (at the demo's one sample a second), with the runaway spawn site grown to
/// its cap and held there, and the demo's live tasks bounded. The runaway loop runs at a fast
/// pace, so that the half hour of samples takes seconds.
@Suite(.timeLimit(.minutes(3))) struct DemoLongRunTests {
    @Test func everyDemoLeakAndItsWarningLastsHalfAnHourBounded() async throws {
        let pace = DemoPace(tick: .milliseconds(5), runawayPerTick: 100, runawayCap: 2_000)
        let leaks = DemoLeaks.start(pace: pace)
        defer { leaks.cancel() }
        // The demo's window and growth; thresholds short enough for a test.
        let rules = LeakRules(
            settings: TaskScope.RuleSettings(
                stuckWait: .milliseconds(300), ignoredCancellation: .milliseconds(300),
                runawayWindow: DemoWorkload.rules.runawayWindow, runawayGrowth: DemoWorkload.rules.runawayGrowth))
        let sampler = Sampler(capacity: 600, interval: .seconds(1))
        let registry = TaskScope.registry

        /// The demo's leaks, each by what its warning names: a resource, a task, or a site.
        func demoLeaks() -> [String] {
            sampler.sample(registry)
            return rules.evaluate(registry: registry, samples: sampler.samples)
                .filter { $0.site?.file.hasSuffix("DemoLeaks.swift") == true }
                .map { "\($0.rule.rawValue) \($0.name ?? $0.site?.description ?? "")" }
        }
        let expected: Set<String> = [
            "orphaned-channel unanswered-results", "orphaned-channel log-lines", "orphaned-channel lookup-result",
            "orphaned-timer session-heartbeat", "leaked-continuation legacy-lookup", "leaked-permit db-pool",
            "ignored-cancellation poller",
        ]
        func runaway(_ leaks: [String]) -> String? { leaks.first { $0.hasPrefix("runaway-spawn ") } }
        func demoLiveTasks() -> [SiteKey: Int] {
            registry.counts().sites.filter { $0.key.file.hasSuffix("DemoLeaks.swift") }
        }

        // Every leak fires (the process's other tests run beside it, in the same registry).
        var missing = expected.union(["runaway-spawn"])
        let deadline = ContinuousClock.now + .seconds(60)
        while !missing.isEmpty, ContinuousClock.now < deadline {
            let leaks = demoLeaks()
            missing.subtract(leaks)
            if runaway(leaks) != nil { missing.remove("runaway-spawn") }
            try await Task.sleep(for: pace.tick)
        }
        #expect(missing.isEmpty, "never fired: \(missing.sorted())")
        let fired = demoLeaks()
        #expect(expected.isSubset(of: fired), "not firing now: \(expected.subtracting(fired).sorted())")
        let runawaySite = try #require(runaway(demoLeaks())).dropFirst("runaway-spawn ".count)
        let site = SourceLocationText.parse(String(runawaySite))
        try await eventually("the runaway site reaches its cap") {
            demoLiveTasks()[SiteKey(file: site.file, line: site.line)] == pace.runawayCap
        }
        // Half an hour of the demo's samples, one a second: every leak's warning stays, the runaway
        // site holds at its cap (and stays flagged), and the demo's live tasks stay bounded.
        for second in 0..<1_800 {
            try await Task.sleep(for: pace.tick)
            let leaks = Set(demoLeaks())
            #expect(expected.isSubset(of: leaks), "sample \(second): \(expected.subtracting(leaks))")
            #expect(leaks.contains("runaway-spawn \(runawaySite)"), "sample \(second)")
            let live = demoLiveTasks()
            #expect(live[SiteKey(file: site.file, line: site.line)] == pace.runawayCap, "sample \(second)")
            let total = live.values.reduce(0, +)
            #expect(total <= pace.runawayCap + 40, "sample \(second): \(total) live demo tasks")
            if !expected.isSubset(of: leaks) || total > pace.runawayCap + 40 { break }
        }
    }
}

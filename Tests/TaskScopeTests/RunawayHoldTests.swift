import ScopeProtocol
import Testing

@testable import TaskScope

/// `runaway-spawn` flags a site that grew across a window anywhere in the history (the rules
/// may not have run while it grew), keeps it flagged while its tasks live, even when the
/// growth has left the history, and forgets it when its count falls back by the growth.
@Suite(.timeLimit(.minutes(1))) struct RunawayHoldTests {
    static let site = "App/Runaway.swift:1"

    static func sample(_ count: Int, at time: Double) -> HistorySample {
        HistorySample(
            time: time, active: count, waiting: 0,
            totals: .init(spawned: 0, completed: 0, cancelled: 0, failed: 0), waits: [:], sites: [site: count])
    }

    static func runaway(_ warnings: [Warning]) -> [Warning] { warnings.filter { $0.rule == .runawaySpawn } }

    @Test func aSiteThatStoppedGrowingStaysFlaggedWhileItsTasksLive() {
        let registry = Registry()
        let records = (0..<300).map { _ in
            registry.spawn(name: "listener", parentID: 0, file: "App/Runaway.swift", line: 1, function: "f()")
        }
        let settings = TaskScope.RuleSettings(runawayWindow: 5, runawayGrowth: 100)
        let rules = LeakRules(settings: settings)
        // Grew from 0 to 300 across the first five samples, then held for fifty: the rules run
        // only now, when the last window is flat.
        let grown =
            (0..<5).map { Self.sample($0 * 75, at: Double($0)) } + (5..<55).map { Self.sample(300, at: Double($0)) }
        let first = Self.runaway(rules.evaluate(registry: registry, samples: grown))
        #expect(first.count == 1)
        #expect(first.first?.tasks == 300)
        #expect(first.first?.message.contains("stopped growing") == true)
        #expect((first.first?.since ?? 99) < 5, "since the growth, not since the rules ran")

        // Much later: the history holds only the flat count. Still flagged, by these rules;
        // rules that never saw the growth do not flag a flat site.
        let flat = (0..<55).map { Self.sample(300, at: Double(1_000 + $0)) }
        #expect(Self.runaway(rules.evaluate(registry: registry, samples: flat)).first?.tasks == 300)
        #expect(Self.runaway(LeakRules(settings: settings).evaluate(registry: registry, samples: flat)).isEmpty)

        // A few tasks end: still flagged. A growth's worth ends: forgotten.
        for record in records.prefix(99) { registry.finish(record, outcome: .completed) }
        let fewer = flat + [Self.sample(201, at: 2_000)]
        #expect(Self.runaway(rules.evaluate(registry: registry, samples: fewer)).first?.tasks == 201)
        registry.finish(records[99], outcome: .completed)
        let gone = flat + [Self.sample(200, at: 2_001)]
        #expect(Self.runaway(rules.evaluate(registry: registry, samples: gone)).isEmpty)
        #expect(Self.runaway(rules.evaluate(registry: registry, samples: flat)).isEmpty, "and stays forgotten")
    }
}

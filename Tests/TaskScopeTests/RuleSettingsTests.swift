import ScopeProtocol
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct RuleSettingsTests {
    @Test func theEnvironmentOverridesTheCode() {
        let settings = TaskScope.RuleSettings(stuckWait: .seconds(5)).applyingEnvironment([
            "TASKSCOPE_STUCK_WAIT": "2.5", "TASKSCOPE_IGNORED_CANCELLATION": "30", "TASKSCOPE_RUNAWAY_WINDOW": "12",
            "TASKSCOPE_RUNAWAY_GROWTH": "7", "TASKSCOPE_RULES_OFF": "stuck-wait, runaway-spawn,no-such-rule",
        ])
        #expect(settings.stuckWait == .milliseconds(2500))
        #expect(settings.ignoredCancellation == .seconds(30))
        #expect(settings.runawayWindow == 12)
        #expect(settings.runawayGrowth == 7)
        #expect(settings.disabled == [.stuckWait, .runawaySpawn])
    }

    @Test func unreadableValuesAreIgnored() {
        let code = TaskScope.RuleSettings(stuckWait: .seconds(5), runawayWindow: 9)
        let settings = code.applyingEnvironment([
            "TASKSCOPE_STUCK_WAIT": "soon", "TASKSCOPE_RUNAWAY_WINDOW": "1", "TASKSCOPE_IGNORED_CANCELLATION": "-4",
            "TASKSCOPE_RUNAWAY_GROWTH": "nan",
        ])
        #expect(settings == code)
    }

    @Test func aRuleSwitchedOffNeverFires() async throws {
        let registry = Registry()
        let record = registry.spawn(name: "waiter", parentID: 0, file: "F.swift", line: 1, function: "f")
        _ = registry.beginWait(record, reason: "db.query", file: "F.swift", line: 2)
        let tick = AgentClock.coarse()
        while AgentClock.coarse() == tick {}
        let on = LeakRules(settings: .init(stuckWait: .zero)).evaluate(registry: registry, samples: [])
        #expect(on.map(\.rule) == [.stuckWait])
        #expect(on.first?.tasks == 1)
        #expect(on.first?.site == SourceSite(file: "F.swift", line: 2))
        let off = LeakRules(settings: .init(stuckWait: .zero, disabled: [.stuckWait])).evaluate(
            registry: registry, samples: [])
        #expect(off.isEmpty)
    }
}

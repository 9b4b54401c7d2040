import ScopeProtocol
import Testing

/// `Warning.involves` says which tasks a warning names, the same selection as `TaskQuery(tasksOf:)`.
@Suite struct WarningInvolvesTests {
    static let spawn = SourceSite(file: "Demo/DemoLeaks.swift", line: 29, function: "spawnRunaway()")
    static let waitAt = SourceSite(file: "Demo/DemoLeaks.swift", line: 166)

    static func task(
        state: TaskState = .waiting, wait: String? = "channel.send", waitSite: SourceSite? = waitAt,
        spawnSite: SourceSite = spawn, resource: UInt64? = 2, cancelled: Bool = false
    ) -> TaskInfo {
        TaskInfo(
            id: 1, name: "t", state: state, wait: state == .waiting ? wait : nil,
            waitSite: state == .waiting ? waitSite : nil, spawnSite: spawnSite, created: 0, inState: 1,
            cancelled: cancelled, resource: state == .waiting ? resource : nil)
    }

    @Test func resourceRulesNameTheTasksBlockedOnTheirResourceInTheirDirection() {
        let sending = Warning(
            rule: .orphanedChannel, resource: 2, reason: "channel.send", tasks: 1, taskIDs: [1], message: "m", hint: "h"
        )
        #expect(sending.involves(Self.task()))
        #expect(!sending.involves(Self.task(resource: 3)))
        #expect(!sending.involves(Self.task(wait: "channel.receive")))  // the other direction
        #expect(!sending.involves(Self.task(state: .active)))
        #expect(!sending.involves(Self.task(state: .finished)))
        let timer = Warning(rule: .orphanedTimer, resource: 2, tasks: 0, taskIDs: [], message: "m", hint: "h")
        #expect(timer.involves(Self.task(wait: "timer")))
        let continuation = Warning(
            rule: .leakedContinuation, resource: 2, reason: "continuation", tasks: 1, taskIDs: [1], message: "m",
            hint: "h")
        #expect(continuation.involves(Self.task(wait: "continuation")))
        #expect(!continuation.involves(Self.task(wait: "continuation", resource: 9)))
    }

    @Test func stuckWaitNamesTasksWaitingForItsReasonAtItsSite() {
        let stuck = Warning(
            rule: .stuckWait, site: Self.waitAt, reason: "channel.send", tasks: 1, taskIDs: [1], message: "m",
            hint: "h")
        #expect(stuck.involves(Self.task()))
        #expect(!stuck.involves(Self.task(wait: "sleep")))
        #expect(!stuck.involves(Self.task(waitSite: SourceSite(file: "Demo/DemoLeaks.swift", line: 167))))
        #expect(!stuck.involves(Self.task(state: .active)))
    }

    @Test func spawnRulesNameTasksBySpawnSiteWhateverItsFunction() {
        let runaway = Warning(
            rule: .runawaySpawn, site: SourceSite(file: "Demo/DemoLeaks.swift", line: 29), tasks: 600, taskIDs: [],
            message: "m", hint: "h")
        #expect(runaway.involves(Self.task()))
        #expect(runaway.involves(Self.task(state: .active)))
        #expect(!runaway.involves(Self.task(spawnSite: SourceSite(file: "Demo/Other.swift", line: 29))))
        #expect(!runaway.involves(Self.task(state: .finished)))
        let ignoring = Warning(
            rule: .ignoredCancellation, site: Self.spawn, tasks: 1, taskIDs: [1], message: "m", hint: "h")
        #expect(ignoring.involves(Self.task(state: .active, cancelled: true)))
        #expect(!ignoring.involves(Self.task(state: .active, cancelled: false)))
    }
}

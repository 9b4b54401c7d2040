import ScopeProtocol
import Testing

@testable import TaskScope

/// One clock: read at one moment, a stuck-wait warning, the group of its tasks and their rows
/// say the same longest wait (the Overview's LONGEST, the warning's "for up to", the Tasks
/// screen's WAITING), to the millisecond the rows report.
@Suite(.timeLimit(.minutes(1))) struct OneClockTests {
    @Test func aWarningItsGroupAndItsRowsSayTheSameLongestWait() throws {
        let time = ManualTime()
        let registry = Registry(clock: AgentClock(manual: time))
        var records: [TaskRecord] = []
        for index in 0..<6 {
            records.append(
                registry.spawn(name: "t\(index)", parentID: 0, file: "App/A.swift", line: 3, function: "f()"))
        }
        // Waits that began at moments a third of a millisecond apart, after every task was created.
        let began = time.now + 30_000_000
        for (index, record) in records.enumerated() {
            time.set(began - UInt64(index) * 3_333_333)
            _ = registry.beginWait(record, reason: "db.query", file: "App/A.swift", line: 7)
        }
        let now = began + 2_123_457

        let rows = registry.page(TaskQuery(wait: "db.query"), now: now).tasks
        let longestRow = try #require(rows.map(\.inState).max())
        #expect(longestRow == 0.019)
        let group = try #require(registry.groups(GroupQuery(), now: now).groups.first { $0.key.reason == "db.query" })
        #expect(group.longest == longestRow)
        let warnings = LeakRules(settings: .init(stuckWait: .zero)).evaluate(registry: registry, samples: [], now: now)
        let stuck = try #require(warnings.first { $0.rule == .stuckWait && $0.reason == "db.query" })
        #expect(stuck.message.contains("for up to \(DurationText.format(longestRow))"), "\(stuck.message)")
    }
}

/// A warning names its tasks' lowest ids, kept by a bounded selection while the rule counts
/// them: on both sides of the bound, the ids are the lowest of all and the count is every task.
@Suite(.timeLimit(.minutes(1))) struct WarningIDSelectionTests {
    @Test(arguments: [ResourceInfo.idLimit - 1, ResourceInfo.idLimit, ResourceInfo.idLimit + 1, 500])
    func aStuckWarningNamesItsLowestIDsAndCountsEveryTask(count: Int) throws {
        let registry = Registry()
        var waiting: [UInt64] = []
        // Spawned across shards; every third waits elsewhere, so the stuck ids are not a run.
        for index in 0..<(count * 3 / 2 + 2) {
            let record = registry.spawn(name: "t", parentID: 0, file: "App/A.swift", line: 3, function: "f()")
            if index % 3 == 2 {
                _ = registry.beginWait(record, reason: "other", file: "App/B.swift", line: 1)
            } else if waiting.count < count {
                _ = registry.beginWait(record, reason: "db.query", file: "App/A.swift", line: 7)
                waiting.append(record.id)
            }
        }
        let warnings = LeakRules(settings: .init(stuckWait: .zero)).evaluate(registry: registry, samples: [])
        let stuck = try #require(warnings.first { $0.rule == .stuckWait && $0.reason == "db.query" })
        #expect(stuck.tasks == count)
        #expect(stuck.taskIDs == Array(waiting.sorted().prefix(ResourceInfo.idLimit)))
        #expect(registry.page(TaskQuery(wait: "db.query", limit: 1_000)).total == count)
    }
}

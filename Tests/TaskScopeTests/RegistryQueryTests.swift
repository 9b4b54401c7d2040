import ScopeProtocol
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct RegistryQueryTests {
    /// Ten tasks, ids 1...10: the even ones wait (2, 6 and 10 on "db.query", 4 and 8 on
    /// "sleep"), 9 has finished; names run from "task-10" down to "task-01", but 3 is "Special-Worker".
    private func populated(_ time: ManualTime = ManualTime()) -> (Registry, [TaskRecord]) {
        let registry = Registry(clock: AgentClock(manual: time))
        var records: [TaskRecord] = []
        for index in 1...10 {
            let name = index == 3 ? "Special-Worker" : "task-\(String(format: "%02d", 11 - index))"
            records.append(
                registry.spawn(
                    name: name, parentID: 0, file: "App/File\(index % 2).swift", line: index, function: "f()"))
        }
        for record in records where record.id % 2 == 0 {
            let reason = record.id % 4 == 0 ? "sleep" : "db.query"
            _ = registry.beginWait(record, reason: reason, file: "App/Wait.swift", line: Int(record.id))
        }
        registry.finish(records[8], outcome: .completed)
        return (registry, records)
    }

    private func ids(_ page: TaskPage) -> [UInt64] { page.tasks.map(\.id) }

    @Test func defaultsToEveryTaskByID() {
        let (registry, _) = populated()
        let page = registry.page(TaskQuery())
        #expect(page.total == 10)
        #expect(ids(page) == Array(1...10))
    }

    @Test func filtersByState() {
        let (registry, _) = populated()
        #expect(ids(registry.page(TaskQuery(state: .waiting))) == [2, 4, 6, 8, 10])
        #expect(ids(registry.page(TaskQuery(state: .active))) == [1, 3, 5, 7])
        #expect(ids(registry.page(TaskQuery(state: .finished))) == [9])
        #expect(ids(registry.page(TaskQuery(state: .live))) == [1, 2, 3, 4, 5, 6, 7, 8, 10])
    }

    @Test func filtersByWaitReason() {
        let (registry, _) = populated()
        #expect(ids(registry.page(TaskQuery(wait: "db.query"))) == [2, 6, 10])
        #expect(ids(registry.page(TaskQuery(wait: "sleep"))) == [4, 8])
        #expect(registry.page(TaskQuery(wait: "nothing")).total == 0)
    }

    @Test func filtersByTextInNameOrSitesIgnoringCase() {
        let (registry, _) = populated()
        #expect(ids(registry.page(TaskQuery(text: "special"))) == [3])
        #expect(ids(registry.page(TaskQuery(text: "FILE1"))) == [1, 3, 5, 7, 9])
        #expect(ids(registry.page(TaskQuery(text: "wait.swift"))) == [2, 4, 6, 8, 10])
    }

    @Test func filtersByMinimumWait() {
        let time = ManualTime()
        let (registry, records) = populated(time)
        #expect(registry.page(TaskQuery(minWait: 0)).total == 5)
        #expect(registry.page(TaskQuery(minWait: 3600)).total == 0)
        // Two seconds on, every wait but task 4's begins again.
        time.advance(by: 2_000_000_000)
        for record in records where record.state == .waiting && record.id != 4 {
            restartWait(record, in: registry)
        }
        #expect(ids(registry.page(TaskQuery(minWait: 1.5))) == [4])
        #expect(registry.page(TaskQuery(minWait: 0)).total == 5)
    }

    /// Ends `record`'s wait and begins it again at the same place, now.
    private func restartWait(_ record: TaskRecord, in registry: Registry) {
        guard let wait = record.wait else {
            Issue.record("task \(record.id) is not waiting")
            return
        }
        registry.endWait(record, .flat)
        _ = registry.beginWait(record, reason: wait.reason, file: wait.file, line: wait.line)
    }

    @Test func sortsByEachKeyBothWays() {
        let time = ManualTime()
        let (registry, records) = populated(time)
        #expect(ids(registry.page(TaskQuery(sort: .id, descending: true))) == Array((1...10).reversed()))
        // Names are task-10 ... task-01 for ids 1...10 (except id 3).
        #expect(ids(registry.page(TaskQuery(state: .active, sort: .name))) == [3, 7, 5, 1])
        #expect(ids(registry.page(TaskQuery(state: .active, sort: .name, descending: true))) == [1, 5, 7, 3])
        // Waits that began after the tasks were created (a task cannot wait longer than it has
        // lived, and the registry reports no more): 6 longest, then 2, then the others.
        time.advance(by: 20_000_000)
        let now = time.now
        for record in records where record.state == .waiting {
            time.set(record.id == 6 ? now - 15_000_000 : record.id == 2 ? now - 10_000_000 : now)
            restartWait(record, in: registry)
        }
        time.set(now)
        let byWait = ids(registry.page(TaskQuery(state: .waiting, sort: .wait)))
        #expect(Array(byWait.prefix(2)) == [6, 2])
        let byWaitAscending = ids(registry.page(TaskQuery(state: .waiting, sort: .wait, descending: false)))
        #expect(Array(byWaitAscending.suffix(2)) == [2, 6])
    }

    @Test func sortsByAgeOldestFirstUnlessAskedOtherwise() {
        let registry = Registry()
        var records: [TaskRecord] = []
        for index in 0..<3 {
            // Spawn each on a later tick of the coarse clock, so ages differ.
            let tick = AgentClock.coarse()
            while AgentClock.coarse() == tick {}
            records.append(registry.spawn(name: "t\(index)", parentID: 0, file: "F", line: 1, function: "f"))
        }
        let ids = records.map(\.id)
        #expect(self.ids(registry.page(TaskQuery(sort: .age))) == ids)
        #expect(self.ids(registry.page(TaskQuery(sort: .age, descending: true))) == ids)
        #expect(self.ids(registry.page(TaskQuery(sort: .age, descending: false))) == ids.reversed())
    }

    @Test func pagesWithOffsetAndLimit() {
        let (registry, _) = populated()
        let page = registry.page(TaskQuery(offset: 3, limit: 4))
        #expect(page.total == 10)
        #expect(page.offset == 3)
        #expect(ids(page) == [4, 5, 6, 7])
        let beyond = registry.page(TaskQuery(offset: 50, limit: 4))
        #expect(beyond.total == 10)
        #expect(beyond.tasks.isEmpty)
    }

    @Test func filtersByExactSitesAndResource() {
        let (registry, records) = populated()
        // Waits are at App/Wait.swift:<id>; spawns at App/File<id % 2>.swift:<id>.
        #expect(ids(registry.page(TaskQuery(waitSite: SourceSite(file: "App/Wait.swift", line: 4)))) == [4])
        #expect(ids(registry.page(TaskQuery(spawnSite: SourceSite(file: "App/File1.swift", line: 3)))) == [3])
        #expect(registry.page(TaskQuery(spawnSite: SourceSite(file: "App/File1.swift", line: 4))).total == 0)
        let extra = registry.spawn(name: "on-resource", parentID: 0, file: "X", line: 1, function: "f")
        _ = registry.beginWait(extra, reason: "channel.send", file: "X", line: 2, resource: 77)
        #expect(ids(registry.page(TaskQuery(resource: 77))) == [extra.id])
        #expect(records.count == 10)
    }

    @Test func groupsLiveTasksBySitesLargestFirst() {
        let (registry, _) = populated()
        let list = registry.groups(GroupQuery())
        // Live tasks: active 1, 3, 5, 7 (spawn sites differ by line), waiting 2, 4, 6, 8, 10 (wait sites differ).
        #expect(list.total == 9)
        #expect(list.groups.reduce(0) { $0 + $1.count } == 9)
        let sleeping = registry.groups(GroupQuery(wait: "sleep"))
        #expect(sleeping.total == 2)
        #expect(sleeping.groups.allSatisfy { $0.key.reason == "sleep" && $0.count == 1 })
        #expect(registry.groups(GroupQuery(limit: 3)).groups.count == 3)
        // Same sites, same group.
        let shared = Registry()
        for _ in 0..<4 {
            let record = shared.spawn(name: "w", parentID: 0, file: "S.swift", line: 1, function: "f()")
            _ = shared.beginWait(record, reason: "db.query", file: "S.swift", line: 2)
        }
        _ = shared.spawn(name: "lone", parentID: 0, file: "S.swift", line: 9, function: "g()")
        let grouped = shared.groups(GroupQuery())
        #expect(grouped.groups.map(\.count) == [4, 1])
        #expect(grouped.groups.first?.key.waitSite == SourceSite(file: "S.swift", line: 2))
        #expect(grouped.groups.first?.sampleIDs == [1, 2, 3, 4])
    }
}

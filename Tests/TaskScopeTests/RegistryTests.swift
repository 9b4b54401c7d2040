import ScopeProtocol
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct RegistryTests {
    private func spawn(_ registry: Registry, _ name: String, parent: UInt64 = 0, line: Int = 1) -> TaskRecord {
        registry.spawn(name: name, parentID: parent, file: "App/Main.swift", line: line, function: "main()")
    }

    @Test func spawnedTasksAreActiveWithSequentialIDs() {
        let registry = Registry()
        let first = spawn(registry, "a")
        let second = spawn(registry, "b")
        #expect(second.id == first.id + 1)
        let info = registry.info(first)
        #expect(info.state == .active)
        #expect(info.name == "a")
        #expect(info.spawnSite == SourceSite(file: "App/Main.swift", line: 1, function: "main()"))
        #expect(info.parent == nil)
        #expect(info.outcome == nil)
        #expect(!info.cancelled)
        let counts = registry.counts()
        #expect(counts.live == 2)
        #expect(counts.active == 2)
        #expect(counts.totals.spawned == 2)
    }

    @Test func waitsChangeStateAndCountsByReason() {
        let registry = Registry()
        let task = spawn(registry, "w")
        let token = registry.beginWait(task, reason: "db.query", file: "App/DB.swift", line: 9)
        var info = registry.info(task)
        #expect(info.state == .waiting)
        #expect(info.wait == "db.query")
        #expect(info.waitSite == SourceSite(file: "App/DB.swift", line: 9))
        #expect(registry.counts().waits == ["db.query": 1])
        #expect(registry.counts().waiting == 1)
        registry.endWait(task, token)
        info = registry.info(task)
        #expect(info.state == .active)
        #expect(info.wait == nil)
        #expect(info.waitSite == nil)
        #expect(registry.counts().waits.isEmpty)
        #expect(registry.counts().waiting == 0)
    }

    @Test func nestedWaitsRestoreTheOuterWait() {
        let registry = Registry()
        let task = spawn(registry, "n")
        let outer = registry.beginWait(task, reason: "http.get", file: "A.swift", line: 1)
        let inner = registry.beginWait(task, reason: "sleep", file: "A.swift", line: 2)
        #expect(registry.info(task).wait == "sleep")
        #expect(registry.counts().waits == ["sleep": 1])
        registry.endWait(task, inner)
        #expect(registry.info(task).wait == "http.get")
        #expect(registry.info(task).waitSite?.line == 1)
        #expect(registry.counts().waits == ["http.get": 1])
        registry.endWait(task, outer)
        #expect(registry.info(task).state == .active)
        #expect(registry.counts().waiting == 0)
    }

    @Test func repeatedNestedAndChangingWaitsKeepTheCountsExact() {
        let registry = Registry()
        let task = spawn(registry, "loop")
        for round in 0..<3 {
            let first = registry.beginWait(task, reason: "db.query", file: "A.swift", line: 1)
            #expect(registry.counts().waits == ["db.query": 1], "round \(round)")
            let inner = registry.beginWait(task, reason: "sleep", file: "A.swift", line: 2)
            #expect(registry.counts().waits == ["sleep": 1])
            registry.endWait(task, inner)
            #expect(registry.info(task).wait == "db.query")
            #expect(registry.counts().waits == ["db.query": 1])
            registry.endWait(task, first)
            #expect(registry.counts().waiting == 0)
            #expect(registry.info(task).state == .active)
            // Another place each round, then the first again: the task's remembered point changes.
            let other = registry.beginWait(task, reason: "lock", file: "B.swift", line: round)
            #expect(registry.info(task).waitSite == SourceSite(file: "B.swift", line: round))
            registry.endWait(task, other)
        }
        #expect(registry.counts().waits == [:])
        #expect(registry.counts().waiting == 0)
    }

    @Test func anOuterWaitWhosePointWasDroppedMeanwhileIsStillCounted() {
        let registry = Registry()
        let task = spawn(registry, "n")
        let outer = registry.beginWait(task, reason: "outer", file: "A.swift", line: 1)
        let inner = registry.beginWait(task, reason: "inner", file: "A.swift", line: 2)
        // Enough other places in the same shard that the table drops the ones nobody waits at,
        // the outer wait's included (its task waits at the inner one now).
        for _ in 1..<Registry.shardCount { _ = spawn(registry, "filler") }
        let neighbour = spawn(registry, "neighbour")
        #expect(neighbour.shard === task.shard)
        for line in 0..<100 {
            registry.endWait(neighbour, registry.beginWait(neighbour, reason: "r\(line)", file: "B.swift", line: line))
        }
        #expect(registry.counts().waits == ["inner": 1])
        registry.endWait(task, inner)
        #expect(registry.counts().waits == ["outer": 1])
        #expect(registry.info(task).wait == "outer")
        registry.endWait(task, outer)
        #expect(registry.counts().waits == [:])
        #expect(registry.counts().waiting == 0)
    }

    @Test func aWaitAtAPlaceTheTableDroppedIsCountedAtItsReplacement() throws {
        let registry = Registry()
        let task = spawn(registry, "t")
        registry.endWait(task, registry.beginWait(task, reason: "db.query", file: "A.swift", line: 1))
        let remembered = try #require(task.waitPoint as WaitPoint?)
        // Enough other places in the same shard that the table drops the unused ones,
        // the point the task remembers included.
        for _ in 1..<Registry.shardCount { _ = spawn(registry, "filler") }
        let neighbour = spawn(registry, "neighbour")
        for line in 0..<100 {
            registry.endWait(neighbour, registry.beginWait(neighbour, reason: "r\(line)", file: "B.swift", line: line))
        }
        _ = registry.counts()
        #expect(!remembered.attached)
        let token = registry.beginWait(task, reason: "db.query", file: "A.swift", line: 1)
        #expect(task.waitPoint !== remembered)
        #expect(task.waitPoint?.attached == true)
        #expect(registry.counts().waits == ["db.query": 1])
        #expect(registry.info(task).waitSite == SourceSite(file: "A.swift", line: 1))
        registry.endWait(task, token)
        #expect(registry.counts().waits == [:])
        #expect(registry.counts().waiting == 0)
    }

    /// Waits at one remembered place take no lock; the counts must stay exact while many tasks
    /// wait there at once and the table is compacted under them.
    @Test func concurrentWaitsKeepCountsExactWhileTheTableIsCompacted() async {
        let registry = Registry()
        let waiters = (0..<8).map { spawn(registry, "w\($0)") }
        let rounds = 20_000
        let most = await withTaskGroup(of: Int.self) { group in
            for task in waiters {
                group.addTask {
                    for round in 0..<rounds {
                        // Mostly the same place, sometimes another, so remembered points change and get dropped.
                        let line = round % 50 == 0 ? round : 1
                        let token = registry.beginWait(task, reason: "shared", file: "A.swift", line: line)
                        registry.endWait(task, token)
                    }
                    return 0
                }
            }
            group.addTask {
                var most = 0
                for _ in 0..<2_000 {
                    let counts = registry.counts()
                    most = max(most, counts.waiting)
                    #expect(counts.waiting >= 0 && counts.waiting <= waiters.count)
                    await Task.yield()
                }
                return most
            }
            return await group.reduce(0, max)
        }
        #expect(most <= waiters.count)
        let counts = registry.counts()
        #expect(counts.waiting == 0)
        #expect(counts.waits == [:])
        #expect(waiters.allSatisfy { registry.info($0).state == .active })
    }

    @Test func liveTasksStayFindableWhateverOrderTheyFinishIn() {
        let registry = Registry()
        let records = (0..<500).map { spawn(registry, "t\($0)") }
        let finishing = Set(records.shuffled().prefix(250).map(\.id))
        for record in records where finishing.contains(record.id) {
            registry.finish(record, outcome: .completed)
            registry.finish(record, outcome: .failed)  // a second finish changes nothing
        }
        #expect(registry.counts().live == 250)
        #expect(registry.counts().totals.completed == 250)
        #expect(registry.counts().totals.failed == 0)
        for record in records {
            #expect((registry.liveRecord(id: record.id) != nil) == !finishing.contains(record.id))
        }
        #expect(
            Set(registry.records { $0.state != .finished }.map(\.id)) == Set(records.map(\.id)).subtracting(finishing))
    }

    @Test func spawnSitesAreCountedWhileTheirTasksLive() {
        let registry = Registry()
        let here = (0..<3).map { _ in registry.spawn(name: "a", parentID: 0, file: "A.swift", line: 7, function: "f") }
        let there = registry.spawn(name: "b", parentID: 0, file: "B.swift", line: 7, function: "g")
        #expect(
            registry.counts().sites == [SiteKey(file: "A.swift", line: 7): 3, SiteKey(file: "B.swift", line: 7): 1])
        #expect(here[0].spawnFunction == "f" && there.spawnFunction == "g")
        for record in here { registry.finish(record, outcome: .completed) }
        #expect(registry.counts().sites == [SiteKey(file: "B.swift", line: 7): 1])
    }

    @Test func spawnSitesBeyondTheLimitShareOnePointSoTheTableStaysBounded() {
        let registry = Registry()
        let extra = 2
        let sites = SpawnPoint.limitPerShard + extra
        // Consecutive ids go round the shards, so every shard sees every line once.
        for index in 0..<(sites * Registry.shardCount) {
            _ = registry.spawn(
                name: "t", parentID: 0, file: "Generated.swift", line: index / Registry.shardCount, function: "f")
        }
        let counts = registry.counts()
        #expect(counts.sites[SiteKey(file: SpawnPoint.otherSites, line: 0)] == extra * Registry.shardCount)
        #expect(counts.sites[SiteKey(file: "Generated.swift", line: 0)] == Registry.shardCount)
        #expect(counts.sites[SiteKey(file: "Generated.swift", line: sites - 1)] == nil)
        #expect(
            registry.shards.allSatisfy { $0.state.withLock { $0.spawnPoints.count } == SpawnPoint.limitPerShard + 1 })
    }

    /// A middleware spawns every request's scope from one line, named by its route: each task
    /// keeps its own function, whichever the shard saw first (the fast path and the table alike).
    @Test func oneLineSpawningForManyFunctionsKeepsEachTasksFunction() {
        let registry = Registry()
        var spawned: [(function: String, record: TaskRecord)] = []
        for index in 0..<(4 * Registry.shardCount) {
            let function = ["GET /users/{id}", "GET /metrics", "GET /users/{id}/orders"][index % 3]
            spawned.append(
                (
                    function,
                    registry.spawn(name: function, parentID: 0, file: "Middleware.swift", line: 28, function: function)
                ))
        }
        for (function, record) in spawned {
            #expect(record.spawnFunction == function, "task \(record.id) spawned by \(function)")
        }
        #expect(registry.counts().sites == [SiteKey(file: "Middleware.swift", line: 28): 4 * Registry.shardCount])
    }

    @Test func finishingRecordsTheOutcomeAndKeepsTotals() {
        let registry = Registry()
        let done = spawn(registry, "done")
        let failed = spawn(registry, "failed")
        let cancelled = spawn(registry, "cancelled")
        let waiting = spawn(registry, "waiting")
        _ = registry.beginWait(waiting, reason: "sleep", file: "A.swift", line: 1)
        registry.finish(done, outcome: .completed)
        registry.finish(failed, outcome: .failed, errorType: "App.Boom")
        registry.finish(cancelled, outcome: .cancelled, wasCancelled: true)
        registry.finish(waiting, outcome: .completed)
        registry.finish(done, outcome: .failed)  // a second finish changes nothing
        #expect(registry.info(done).outcome == .completed)
        #expect(registry.info(failed).outcome == .failed)
        #expect(registry.info(failed).error == "App.Boom")
        #expect(registry.info(cancelled).outcome == .cancelled)
        #expect(registry.info(cancelled).cancelled)
        #expect(registry.info(waiting).wait == nil)
        let counts = registry.counts()
        #expect(counts.live == 0)
        #expect(counts.waiting == 0)
        #expect(counts.waits.isEmpty)
        #expect(counts.finished == 4)
        #expect(counts.totals == Summary.Totals(spawned: 4, completed: 2, cancelled: 1, failed: 1))
    }

    @Test func retentionBoundsTheFinishedTasksButNotTheTotals() {
        let registry = Registry(retention: .init(count: 128, age: .seconds(3600)))
        for index in 0..<1_000 {
            registry.finish(spawn(registry, "t\(index)"), outcome: .completed)
        }
        let counts = registry.counts()
        #expect(counts.finished <= 128)
        #expect(counts.finished >= 64)
        #expect(counts.totals.spawned == 1_000)
        #expect(counts.totals.completed == 1_000)
        // The most recently finished are the ones kept.
        #expect(registry.record(id: 1_000) != nil)
        #expect(registry.record(id: 1) == nil)
    }

    @Test func retentionOfZeroKeepsNothing() {
        let registry = Registry(retention: .init(count: 0))
        registry.finish(spawn(registry, "t"), outcome: .completed)
        #expect(registry.counts().finished == 0)
        #expect(registry.counts().totals.completed == 1)
    }

    @Test func retentionDropsFinishedTasksOlderThanTheAge() {
        let registry = Registry(retention: .init(count: 1_000, age: .zero))
        let task = spawn(registry, "old")
        registry.finish(task, outcome: .completed)
        // With an age of zero, any finished task is past its age by the next read.
        let clockTicked = AgentClock.coarse()
        while AgentClock.coarse() == clockTicked {}
        #expect(registry.counts().finished == 0)
        #expect(registry.record(id: task.id) == nil)
    }

    @Test func changingRetentionPrunesAtOnce() {
        let registry = Registry(retention: .init(count: 6400))
        for index in 0..<640 {
            registry.finish(spawn(registry, "t\(index)"), outcome: .completed)
        }
        #expect(registry.counts().finished == 640)
        registry.setRetention(.init(count: 64))
        #expect(registry.counts().finished == 64)
        #expect(registry.retention.count == 64)
    }

    /// The moment a task's cancellation is first seen is kept: read again later, it is the same.
    @Test func cancellationIsRecordedOnce() async {
        let time = ManualTime()
        let registry = Registry(clock: AgentClock(manual: time))
        let record = spawn(registry, "c")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let task = Task { for await _ in gate {} }
        registry.enter(record, taskKey: unsafeBitCast(task, to: Int.self))
        #expect(!registry.info(record).cancelled)
        task.cancel()
        let seen = time.now + 1_000_000_000
        time.set(seen)
        #expect(registry.info(record).cancelled)
        time.advance(by: 5_000_000_000)
        #expect(registry.info(record).cancelled)
        #expect(record.shard.state.withLock { _ in record.cancelledAt } == seen)
        let wall = registry.clock.wall(seen)
        #expect(registry.info(record).cancelledAt == (wall * 1000).rounded() / 1000)
        registry.finish(record, outcome: .cancelled)
        open.finish()
        await task.value
    }

    @Test func detailHasParentAndChildren() throws {
        let registry = Registry()
        let parent = spawn(registry, "parent")
        let childA = spawn(registry, "a", parent: parent.id)
        let childB = spawn(registry, "b", parent: parent.id)
        _ = spawn(registry, "unrelated")
        registry.finish(childB, outcome: .completed)
        let detail = try #require(registry.detail(id: parent.id))
        #expect(detail.task.id == parent.id)
        #expect(detail.parent == nil)
        #expect(detail.children.map(\.id) == [childA.id, childB.id])
        let child = try #require(registry.detail(id: childA.id))
        #expect(child.parent?.id == parent.id)
        #expect(child.task.parent == parent.id)
        #expect(registry.detail(id: 999) == nil)
    }
}

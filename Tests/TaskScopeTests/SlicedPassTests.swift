import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// No pass over the tasks holds a shard's lock for more than `sliceSize` records, and a pass
/// in slices finds what a pass in one hold finds: each record once, though the lock is let go
/// between slices while records come and go.
@Suite(.timeLimit(.minutes(2))) struct SlicedPassTests {
    /// Per shard: 10 live tasks (4 waiting, 2 cancelled) and 3 finished ones, 13 records.
    private func populated(sliceSize: Int, time: ManualTime, clock: AgentClock) -> (Registry, Task<Void, Never>) {
        let registry = Registry(
            retention: .init(count: 64 * 3, age: .seconds(3600)), clock: clock, sliceSize: sliceSize)
        let cancelled = Task<Void, Never> {}
        cancelled.cancel()
        for index in 0..<(13 * Registry.shardCount) {
            let record = registry.spawn(
                name: "worker-\(index % 7)", parentID: 0, file: "App/W\(index % 3).swift", line: index % 5,
                function: "work()")
            switch index / Registry.shardCount {
            case 0, 1, 2: registry.finish(record, outcome: .completed)
            case 3, 4, 5, 6: _ = registry.beginWait(record, reason: "db.query", file: "App/D.swift", line: index % 2)
            case 7, 8: registry.enter(record, taskKey: unsafeBitCast(cancelled, to: Int.self))
            default: break
            }
            time.advance(by: 1_234_567)
        }
        return (registry, cancelled)
    }

    private struct Results: Equatable {
        var pages: [TaskPage]
        var groups: GroupList
        var warnings: [Warning]
        var records: [UInt64]
        var found: [Bool]
    }

    private func query(_ registry: Registry) -> Results {
        let queries = [
            TaskQuery(text: "worker-3", sort: .name, limit: 500), TaskQuery(state: .finished, sort: .age),
            TaskQuery(state: .waiting, sort: .wait, limit: 7), TaskQuery(sort: .id, descending: true, limit: 1_000),
        ]
        let rules = LeakRules(settings: .init(stuckWait: .zero, ignoredCancellation: .zero))
        return Results(
            pages: queries.map { registry.page($0) }, groups: registry.groups(GroupQuery()),
            warnings: rules.evaluate(registry: registry, samples: []),
            records: registry.records { _ in true }.map(\.id).sorted(),
            found: [1, 64, 65, 200, 300, 832, 833].map { registry.record(id: $0) != nil })
    }

    /// Slices ending mid-shard (3, 12), at its end (13) and past it (14), against one hold a shard.
    @Test(arguments: [3, 12, 13, 14])
    func everyPassHoldsALockForAtMostASliceAndFindsWhatOneHoldFinds(sliceSize: Int) {
        let time = ManualTime()
        let clock = AgentClock(manual: time)
        let start = time.now
        let (sliced, first) = populated(sliceSize: sliceSize, time: time, clock: clock)
        time.set(start)
        let (whole, second) = populated(sliceSize: .max, time: time, clock: clock)
        let slicedResults = query(sliced)
        #expect(sliced.largestSlice.load(ordering: .relaxed) == min(sliceSize, 13))
        let wholeResults = query(whole)
        for (index, page) in slicedResults.pages.enumerated() {
            #expect(page == wholeResults.pages[index], "page \(index)")
        }
        #expect(slicedResults.groups == wholeResults.groups)
        // Warnings compare whole: a group of tasks spawned at one site under different names is
        // named after its oldest task, whatever order the slices met them in.
        #expect(slicedResults.warnings == wholeResults.warnings)
        #expect(slicedResults.records == wholeResults.records)
        #expect(slicedResults.found == wholeResults.found)
        #expect(slicedResults.records.count == 13 * Registry.shardCount)
        let ignoring = slicedResults.warnings.filter { $0.rule == .ignoredCancellation }
        #expect(ignoring.map(\.tasks).reduce(0, +) == 2 * Registry.shardCount)
        let stuck = slicedResults.warnings.filter { $0.rule == .stuckWait }
        #expect(stuck.map(\.tasks).reduce(0, +) == 4 * Registry.shardCount)
        #expect(whole.largestSlice.load(ordering: .relaxed) == 13)
        _ = (first, second)
    }

    /// The default bound, the one docs/SECURITY.md states, over more than a slice per shard.
    @Test func theDefaultSliceBoundsEveryPass() {
        let registry = Registry()
        for _ in 0..<(Registry.defaultSliceSize * 2 + 1) * Registry.shardCount {
            _ = registry.spawn(name: "t", parentID: 0, file: "F", line: 1, function: "f")
        }
        _ = registry.page(TaskQuery(text: "t", sort: .name))
        _ = registry.groups(GroupQuery())
        _ = LeakRules(settings: .init()).evaluate(registry: registry, samples: [])
        _ = registry.records { _ in true }
        #expect(registry.largestSlice.load(ordering: .relaxed) == Registry.defaultSliceSize)
        #expect(Registry.defaultSliceSize == 8)
    }

    /// Passes while another thread spawns and finishes tasks in every shard: the tasks live
    /// throughout are each found exactly once by every pass, live or finished.
    @Test func passesBesideSpawnsAndFinishesFindEachSteadyTaskOnce() async throws {
        let registry = Registry(retention: .init(count: 64 * 4, age: .seconds(3600)), sliceSize: 2)
        let steady = (0..<(20 * Registry.shardCount)).map { index in
            registry.spawn(name: "steady-\(index)", parentID: 0, file: "S", line: 1, function: "f")
        }
        let steadyIDs = Set(steady.map(\.id))
        // Each round finishes the tasks the last one left, in another order than their spawns,
        // so that removals land below and above the passes' cursors.
        // On a thread of its own: a loop that never suspends would hold one of the few threads
        // every test's tasks run on.
        let stop = Atomic<Bool>(false)
        let churn = Task {
            try await onOwnThread {
                var left: [TaskRecord] = []
                while !stop.load(ordering: .relaxed) {
                    let records = (0..<64).map { _ in
                        registry.spawn(name: "churn", parentID: 0, file: "C", line: 1, function: "f")
                    }
                    for record in left.reversed() { registry.finish(record, outcome: .completed) }
                    left = []
                    for (index, record) in records.enumerated() {
                        if index % 3 == 0 { left.append(record) } else { registry.finish(record, outcome: .completed) }
                    }
                }
            }
        }
        for _ in 0..<200 {
            let found = registry.records { $0.name.hasPrefix("steady-") }.map(\.id)
            #expect(found.count == steadyIDs.count && Set(found) == steadyIDs)
            let page = registry.page(TaskQuery(text: "steady-", limit: 1))
            #expect(page.total == steadyIDs.count)
        }
        stop.store(true, ordering: .relaxed)
        try await churn.value
    }

    /// Records spawned, finished and dropped in one shard between the slices of a scan of it, in
    /// a seeded random order: each record visited at most once; each live throughout, once; each
    /// finished during the pass (kept), once when the pass visits finished records.
    @Test(arguments: [false, true])
    func aScanResumedAcrossChangesVisitsEachRecordOnce(keepingFinished: Bool) {
        var random = SplitMix64(seed: keepingFinished ? 7 : 11)
        for _ in 0..<50 {
            let registry = Registry(retention: .init(count: 64 * 1_000, age: .seconds(3600)))
            let shard = registry.shards[0]
            func spawnInShard() -> TaskRecord {
                while true {
                    let record = registry.spawn(name: "t", parentID: 0, file: "F", line: 1, function: "f")
                    if record.id % UInt64(Registry.shardCount) == 0 { return record }
                    registry.finish(record, outcome: .completed)
                }
            }
            func adoptInShard() -> TaskRecord {
                while true {
                    let record = registry.adopt(name: "a")
                    if record.id % UInt64(Registry.shardCount) == 0 { return record }
                    registry.dropAdopted(record)
                }
            }
            var live: [TaskRecord] = (0..<random.below(40)).map { _ in spawnInShard() }
            var adopted: [TaskRecord] = (0..<random.below(5)).map { _ in adoptInShard() }
            let atStart = Set((live + adopted).map(\.id))
            var finishedDuring: Set<UInt64> = []
            var removedDuring: Set<UInt64> = []
            var visits: [UInt64: Int] = [:]
            let scan = shard.state.withLock { $0.beginScan(keepingFinished: keepingFinished) }
            var over = false
            while !over {
                switch random.next() % 4 {
                case 0:
                    var budget = random.below(4) + 1
                    over = shard.state.withLock { state in
                        state.continueScan(scan, budget: &budget) { record in
                            visits[record.id, default: 0] += 1
                            return true
                        }
                    }
                case 1 where !live.isEmpty:
                    let record = live.remove(at: random.below(live.count))
                    registry.finish(record, outcome: .completed)
                    finishedDuring.insert(record.id)
                    removedDuring.insert(record.id)
                case 2 where !adopted.isEmpty:
                    let record = adopted.remove(at: random.below(adopted.count))
                    registry.dropAdopted(record)
                    removedDuring.insert(record.id)
                default:
                    if random.next() % 2 == 0 { live.append(spawnInShard()) } else { adopted.append(adoptInShard()) }
                }
            }
            #expect(visits.values.allSatisfy { $0 == 1 }, "a record visited twice")
            let throughout = atStart.subtracting(removedDuring)
            #expect(throughout.allSatisfy { visits[$0] == 1 }, "a record live throughout not visited")
            if keepingFinished {
                #expect(finishedDuring.intersection(atStart).allSatisfy { visits[$0] == 1 })
            }
            // The scan is over and unregistered: continuing it visits nothing.
            var budget = 1
            #expect(shard.state.withLock { $0.continueScan(scan, budget: &budget) { _ in true } })
            #expect(budget == 1)
        }
    }
}

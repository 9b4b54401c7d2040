import ScopeProtocol
import Synchronization

/// The live registry of tracked tasks.
///
/// Tasks are spread over 64 shards by id, each behind its own lock. A spawn and a
/// finish take their shard's lock for a few field writes; a task starting, and a task
/// entering and leaving a wait at the place it waited last, take none (a few atomic
/// stores in its own record and an atomic count at the place). No lock is ever held
/// across user code. Aggregation happens on the reading side, which never holds a shard's
/// lock for more than `sliceSize` records at a time (see ``forEachRecord(in:live:finished:pruning:_:)``).
final class Registry: Sendable {
    static let shardCount = 64

    /// Where every time the registry records and reports comes from.
    let clock: AgentClock
    /// The most records a pass over the tasks visits per hold of a shard's lock.
    let sliceSize: Int
    /// The most records any pass has visited in one hold of a shard's lock: what `sliceSize` bounds.
    let largestSlice = Atomic<Int>(0)
    let shards: [RegistryShard]
    /// `shards`, unretained, for the hot path (see ``TaskRecord/shardReference``).
    private let shardReferences: [Unmanaged<RegistryShard>]
    /// The tracked channels, timers, semaphores and continuations.
    let resources = ResourceTable()
    private let nextID = Atomic<UInt64>(1)
    private let maxFinishedAge: Atomic<UInt64>
    private let retainedCount: Atomic<Int>

    /// Creates an empty registry keeping at most `retention.count` finished
    /// tasks (rounded up to a multiple of the shard count) for at most `retention.age`,
    /// reading the time from `clock`, its passes visiting at most `sliceSize` records per lock hold.
    init(
        retention: TaskScope.Retention = .init(), clock: AgentClock = AgentClock(),
        sliceSize: Int = Registry.defaultSliceSize
    ) {
        self.clock = clock
        self.sliceSize = max(1, sliceSize)
        retainedCount = Atomic(retention.count)
        maxFinishedAge = Atomic(retention.age.nanoseconds)
        let perShard = Registry.perShardCapacity(retention.count)
        shards = (0..<Registry.shardCount).map { _ in RegistryShard(finishedCapacity: perShard) }
        shardReferences = shards.map(Unmanaged.passUnretained)
    }

    /// Changes how many finished tasks are kept and for how long.
    func setRetention(_ retention: TaskScope.Retention) {
        retainedCount.store(retention.count, ordering: .relaxed)
        maxFinishedAge.store(retention.age.nanoseconds, ordering: .relaxed)
        let perShard = Registry.perShardCapacity(retention.count)
        let cutoff = finishedCutoff(now: clock.now())
        for shard in shards {
            shard.state.withLock {
                $0.finishedCapacity = perShard
                $0.pruneFinished(finishedBefore: cutoff)
            }
        }
    }

    var retention: TaskScope.Retention {
        .init(
            count: retainedCount.load(ordering: .relaxed),
            age: .nanoseconds(Int64(clamping: maxFinishedAge.load(ordering: .relaxed))))
    }

    private static func perShardCapacity(_ count: Int) -> Int {
        count <= 0 ? 0 : (count + shardCount - 1) / shardCount
    }

    /// When the oldest finished task the retention's age keeps at `now` finished.
    func finishedCutoff(now: UInt64) -> UInt64 {
        let age = maxFinishedAge.load(ordering: .relaxed)
        return now > age ? now - age : 0
    }

    // MARK: Hot path

    /// Records a new task and returns its record. Cost: one atomic increment,
    /// one allocation, one shard lock.
    ///
    /// A spawn also drops the shard's oldest finished tasks beyond the retention, and frees
    /// them after the lock: records are freed on the thread that allocates them (usually),
    /// and never under the lock. Freeing them where they finish made the finishing thread
    /// wait on the spawning thread's malloc arena while holding the shard lock, which then
    /// stalled the spawner (a task group adding children as they finish, seen with perf).
    func spawn(
        name: String, parentID: UInt64, file: String, line: Int, function: String, traceID: String? = nil,
        servesRequest: Bool = false
    ) -> TaskRecord {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let shard = shardReferences[Int(id % UInt64(Registry.shardCount))]
        let created = clock.now()
        let (record, evicted) = shard._withUnsafeGuaranteedRef {
            $0.state.withLock { state in
                let point = state.spawnPoint(file: file, line: line, function: function)
                let record = TaskRecord(
                    id: id, name: name, parentID: parentID, spawnPoint: point, created: created, shard: shard,
                    traceID: traceID, servesRequest: servesRequest)
                point._withUnsafeGuaranteedRef { $0.live += 1 }
                state.addLive(record)
                state.spawned &+= 1
                return (record, state.takeOldestBeyondCapacity())
            }
        }
        withExtendedLifetime(evicted) {}
        return record
    }

    /// Marks the record as run by the Swift task with key `taskKey` (the current task's,
    /// see ``TaskScope/currentTaskKey()``), so that its waits are its own and its
    /// cancellation can be read. One atomic store: no lock.
    func enter(_ record: TaskRecord, taskKey: Int) {
        record.taskKey.store(taskKey, ordering: .releasing)
    }

    /// Records an untracked task seen waiting; it counts in no total and is
    /// dropped with ``dropAdopted(_:)`` when its wait ends.
    func adopt(name: String, parentID: UInt64 = 0, traceID: String? = nil) -> TaskRecord {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let record = TaskRecord(
            id: id, name: name, parentID: parentID, spawnPoint: .passUnretained(.untracked),
            created: clock.now(), shard: shardReferences[Int(id % UInt64(Registry.shardCount))], adopted: true,
            traceID: traceID)
        record.withShardLocked { $0.addLive(record) }
        return record
    }

    /// Forgets an adopted task.
    func dropAdopted(_ record: TaskRecord) {
        record.withShardLocked { shard in
            guard shard.removeLive(record, kept: false) else { return }
            let phase = record.phase
            if phase.isWaiting { record.waitPoint?.leave() }
            shard.forgetEnclosingWaits(of: record)
            record.setPhase(.active, since: phase.since)
        }
    }

    /// Records how a task ended and keeps it for the retention.
    /// `wasCancelled` says whether the task had been cancelled (it is read when asked, while
    /// the task lives, and can no longer be once it has ended).
    func finish(_ record: TaskRecord, outcome: TaskOutcome, errorType: String? = nil, wasCancelled: Bool = false) {
        let now = clock.now()
        record.withShardLocked { shard in
            guard shard.removeLive(record, kept: shard.finishedCapacity > 0) else { return }
            if wasCancelled, record.cancelledAt == 0 { record.cancelledAt = max(now, 1) }
            if record.phase.isWaiting { record.waitPoint?.leave() }
            shard.forgetEnclosingWaits(of: record)
            record.spawnPointReference._withUnsafeGuaranteedRef { $0.live -= 1 }
            record.setPhase(.finished, since: now)
            record.outcome = outcome
            record.errorType = errorType
            switch outcome {
            case .completed: shard.completed &+= 1
            case .cancelled: shard.cancelled &+= 1
            case .failed: shard.failed &+= 1
            }
            // Pruned to the retention by spawns and readers, not here (see `spawn`): until
            // then the ring holds at most the shard's tasks that were live anyway.
            if shard.finishedCapacity > 0 {
                shard.finished.append(record)
            }
        }
    }

    /// Puts the task into a labelled wait and says how to end it. Call from the task
    /// itself (the only writer of its waits).
    ///
    /// The common case, a wait that is not nested at the same place as the task's last
    /// one, takes no lock: it counts itself in at the remembered point (an atomic
    /// increment) and stores the record's phase. Anything else takes the shard lock.
    func beginWait(_ record: TaskRecord, reason: String, file: String, line: Int, resource: UInt64 = 0) -> WaitToken {
        let now = clock.now()
        if record.phase.isActive, let recent = record.recentPoint,
            recent._withUnsafeGuaranteedRef({ $0.is(reason: reason, file: file, line: line) && $0.enter() })
        {
            record.resourceWord.store(resource, ordering: .relaxed)
            record.setPhase(.waiting, since: now)
            return .flat
        }
        return record.withShardLocked { shard in
            let phase = record.phase
            if phase.isFinished { return .unrecorded }
            var token = WaitToken.flat
            if phase.isWaiting, let current = record.waitPoint {
                let enclosing = EnclosingWait(
                    frame: WaitFrame(point: current, resource: record.waitResource), since: phase.since)
                shard.pushEnclosingWait(enclosing, of: record)
                current.leave()
                token = .nested
            }
            let point = shard.waitPoint(reason: reason, file: file, line: line, recent: record.waitPoint)
            let counted = shard.enterWait(at: point)
            if record.waitPoint !== counted { record.waitPoint = counted }
            record.resourceWord.store(resource, ordering: .relaxed)
            record.setPhase(.waiting, since: now)
            return token
        }
    }

    /// Ends the wait begun with `token`, restoring any enclosing wait. Call from the task itself.
    func endWait(_ record: TaskRecord, _ token: WaitToken) {
        switch token {
        case .unrecorded:
            return
        case .flat:
            let now = clock.now()
            // A finished record was counted out when it finished.
            guard record.phase.isWaiting, let point = record.recentPoint else { return }
            record.setPhase(.active, since: now)
            point._withUnsafeGuaranteedRef { $0.leave() }
        case .nested:
            record.withShardLocked { shard in
                guard record.phase.isWaiting, let enclosing = shard.popEnclosingWait(of: record) else { return }
                record.waitPoint?.leave()
                // The enclosing wait's point may have been dropped while nobody else waited there.
                let point = shard.enterWait(at: enclosing.frame.point)
                record.waitPoint = point
                record.resourceWord.store(enclosing.frame.resource, ordering: .relaxed)
                record.setPhase(.waiting, since: enclosing.since)
            }
        }
    }

    // MARK: Reading

    /// Counts by state and reason, and running totals. Cost: 64 lock
    /// acquisitions and a merge of the per-shard reason tables; no task is visited.
    func counts() -> Counts {
        var counts = Counts()
        let cutoff = finishedCutoff(now: clock.now())
        for shard in shards {
            shard.state.withLock { state in
                state.pruneFinished(finishedBefore: cutoff)
                counts.live += state.liveCount
                counts.finished += state.finished.count
                counts.totals.spawned &+= state.spawned
                counts.totals.completed &+= state.completed
                counts.totals.cancelled &+= state.cancelled
                counts.totals.failed &+= state.failed
                state.compactPoints()
                for point in state.waitPoints.values {
                    let waiting = point.waiting
                    guard waiting != 0 else { continue }
                    counts.waiting += waiting
                    counts.waits[point.reason, default: 0] += waiting
                }
                for point in state.spawnPoints.values where point.live != 0 {
                    counts.sites[point.key, default: 0] += point.live
                }
            }
        }
        return counts
    }

    /// The current state of one record, its times measured at `now` (the clock's reading when `nil`).
    func info(_ record: TaskRecord, now: UInt64? = nil) -> TaskInfo {
        let now = now ?? clock.now()
        return record.withShardLocked { _ in record.info(clock: clock, now: now) }
    }

    /// The live (unfinished) record with this id. Cost: a pass over one shard's live tasks
    /// (1/64 of them), in slices; for rare requests only.
    func liveRecord(id: UInt64) -> TaskRecord? {
        var found: TaskRecord?
        forEachRecord(in: [shards[Int(id % UInt64(Registry.shardCount))]], live: true, finished: false) { record in
            if record.id == id { found = record }
            return found == nil
        }
        return found
    }

    /// A context for resources to report in, now.
    func reportContext() -> ReportContext {
        ReportContext(registry: self, now: clock.now())
    }

    /// The record with this id, live or retained. Cost: a pass over one shard's tasks, in slices.
    func record(id: UInt64) -> TaskRecord? {
        var found: TaskRecord?
        forEachRecord(in: [shards[Int(id % UInt64(Registry.shardCount))]], live: true, finished: true) { record in
            if record.id == id { found = record }
            return found == nil
        }
        return found
    }

    /// Every record, live and retained, for which `keep` is true (called with
    /// the record's shard lock held), in no particular order. Cost: a pass over every task, in slices.
    func records(where keep: (TaskRecord) -> Bool) -> [TaskRecord] {
        var result: [TaskRecord] = []
        forEachRecord(live: true, finished: true, pruning: true) { record in
            if keep(record) { result.append(record) }
            return true
        }
        return result
    }
}

/// The registry's counters, summed over its shards.
struct Counts: Sendable, Equatable {
    var live = 0
    var waiting = 0
    var finished = 0
    var totals = Summary.Totals(spawned: 0, completed: 0, cancelled: 0, failed: 0)
    var waits: [String: Int] = [:]
    var sites: [SiteKey: Int] = [:]

    var active: Int { live - waiting }
}

extension Duration {
    /// This duration in whole nanoseconds, clamped to `0...UInt64.max`.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// This duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

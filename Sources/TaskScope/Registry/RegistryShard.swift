import ScopeProtocol
import Synchronization

/// One of the registry's shards: a slice of the tasks (by id) behind its own lock,
/// so that tasks on different cores rarely touch the same lock.
final class RegistryShard: Sendable {
    let state: Mutex<ShardState>

    init(finishedCapacity: Int) {
        state = Mutex(ShardState(finishedCapacity: finishedCapacity))
    }
}

/// The contents of a shard. Counters are kept as tasks change state, so that
/// a summary or a sample adds up 64 small structs instead of visiting tasks.
struct ShardState: Sendable {
    /// The live tasks, in no order. Each record knows its index, so that it is added and
    /// removed in constant time without hashing, and the list costs a pointer per task
    /// (a dictionary by id cost four times that).
    private var live: [TaskRecord] = []
    /// Finished tasks, oldest first, at most `finishedCapacity`.
    var finished: RecordRing
    var finishedCapacity: Int
    /// Where this shard's tasks wait, each counting its waiters.
    private(set) var waitPoints: [WaitPointKey: WaitPoint] = [:]
    /// Where this shard's tasks were spawned, each counting its live tasks (adopted tasks aside).
    private(set) var spawnPoints: [SpawnPoint.Key: SpawnPoint] = [:]
    private var lastSpawnPoint: Unmanaged<SpawnPoint>?
    /// The wait point this shard found last; checked to be still in the table before use.
    private var lastWaitPoint: WaitPoint?
    /// The waits that nested waits replaced, innermost last, by task: kept here rather than
    /// in every record, since few tasks nest waits and a million records would each carry
    /// the room.
    private var enclosingWaits: [ObjectIdentifier: [EnclosingWait]] = [:]
    /// The passes over `live` in progress, by readers that let the lock go between slices
    /// (see ``ShardScan``); `scanCount` is their number, all a removal reads when there are none.
    private var scans: [ShardScan] = []
    private var scanCount = 0
    private var nextScanID: UInt64 = 0
    var spawned: UInt64 = 0
    var completed: UInt64 = 0
    var cancelled: UInt64 = 0
    var failed: UInt64 = 0

    init(finishedCapacity: Int) {
        self.finishedCapacity = finishedCapacity
        finished = RecordRing(initialCapacity: min(max(finishedCapacity, 1), 256))
    }

    /// How many tasks are live.
    var liveCount: Int { live.count }

    /// Calls `body` with each live record, in no order, without retaining them: the list
    /// holds them while the lock is held. Passing over a million tasks, retaining and
    /// releasing each cost the rules about a third of their time.
    @inline(__always)
    func forEachLive(_ body: (TaskRecord) throws -> Void) rethrows {
        try live.withUnsafeBufferPointer { records in
            try records.withMemoryRebound(to: Unmanaged<TaskRecord>.self) { references in
                for reference in references {
                    try reference._withUnsafeGuaranteedRef(body)
                }
            }
        }
    }

    mutating func addLive(_ record: TaskRecord) {
        record.liveIndex = UInt32(truncatingIfNeeded: live.count)
        live.append(record)
    }

    /// Removes a live record; false when it is not in the list (finished or dropped already).
    /// `kept` says whether it goes on to the finished records (rather than being dropped).
    mutating func removeLive(_ record: TaskRecord, kept: Bool) -> Bool {
        let index = Int(record.liveIndex)
        guard index < live.count, live[index] === record else { return false }
        if scanCount != 0 {
            let last = live.count - 1
            for scan in scans.indices {
                scans[scan].noteRemoval(of: record, at: index, last: last, moved: live[last], kept: kept)
            }
        }
        // Swapped with the last in place: moving the last one by value would retain and
        // release it, a record that may not have been touched for a long time.
        live.withUnsafeMutableBufferPointer { records in
            let last = records.count - 1
            if index != last {
                records.swapAt(index, last)
                records[index].liveIndex = UInt32(truncatingIfNeeded: index)
            }
        }
        live.removeLast()
        return true
    }

    /// Whether `record` is in the live list.
    func isLive(_ record: TaskRecord) -> Bool {
        let index = Int(record.liveIndex)
        return index < live.count && live[index] === record
    }

    /// Registers a pass over the live list in slices; see ``continueScan(_:budget:_:)``.
    mutating func beginScan(keepingFinished: Bool) -> UInt64 {
        nextScanID &+= 1
        scans.append(ShardScan(id: nextScanID, keepsFinished: keepingFinished))
        scanCount = scans.count
        return nextScanID
    }

    /// Visits the next records of scan `id`, at most `budget` of them (counted down), calling
    /// `body` with each until it returns false. Returns true when the scan is over (every
    /// record visited, or `body` stopped it), and then unregisters it.
    mutating func continueScan(_ id: UInt64, budget: inout Int, _ body: (TaskRecord) -> Bool) -> Bool {
        guard let position = scans.firstIndex(where: { $0.id == id }) else { return true }
        var scan = scans[position]
        // The copy holds the pending records alone, so that taking them out copies nothing.
        scans[position].pending = []
        var over = false
        var stopped = false
        live.withUnsafeBufferPointer { records in
            records.withMemoryRebound(to: Unmanaged<TaskRecord>.self) { references in
                while budget > 0, scan.cursor < references.count {
                    budget -= 1
                    let reference = references[scan.cursor]
                    scan.cursor += 1
                    if !reference._withUnsafeGuaranteedRef(body) {
                        stopped = true
                        return
                    }
                }
            }
        }
        while !stopped, budget > 0, scan.cursor >= live.count, let record = scan.pending.popLast() {
            budget -= 1
            // Moved records that have since finished or been dropped, or finished ones that a
            // live-only pass does not visit, are as if they had gone before the pass came.
            let present = record.phase.isFinished ? scan.keepsFinished : isLive(record)
            if present, !body(record) { stopped = true }
        }
        over = stopped || (scan.cursor >= live.count && scan.pending.isEmpty)
        if over {
            scans.remove(at: position)
            scanCount = scans.count
        } else {
            scans[position] = scan
        }
        return over
    }

    /// Unregisters scan `id`, whatever it has visited.
    mutating func endScan(_ id: UInt64) {
        scans.removeAll { $0.id == id }
        scanCount = scans.count
    }

    /// The point for a spawn at `file`:`line`: the last one used when it matches (a loop
    /// spawning from one line), else from the table.
    ///
    /// Spawn points are never dropped: records refer to them unretained (a retain and a
    /// release per task on a point every spawn shares cost more than the rest of the
    /// bookkeeping), and there are only as many as lines that spawn tasks. Should a
    /// program invent sites without end (a computed `fileID:`), those past
    /// ``SpawnPoint/limitPerShard`` share one point, so the table stays bounded.
    mutating func spawnPoint(file: String, line: Int, function: String) -> Unmanaged<SpawnPoint> {
        if let last = lastSpawnPoint,
            last._withUnsafeGuaranteedRef({ $0.is(file: file, line: line, function: function) })
        {
            return last
        }
        // By function too: one line can spawn for many (a middleware's scope, named by each route).
        let key = SpawnPoint.Key(file: file, line: line, function: function)
        let point: SpawnPoint
        if let known = spawnPoints[key] {
            point = known
        } else if spawnPoints.count < SpawnPoint.limitPerShard {
            point = SpawnPoint(file: file, line: line, function: function)
            spawnPoints[key] = point
        } else {
            let other = SpawnPoint.Key(file: SpawnPoint.otherSites, line: 0, function: "")
            point = spawnPoints[other] ?? SpawnPoint(file: SpawnPoint.otherSites, line: 0, function: "")
            spawnPoints[other] = point
        }
        // The table holds the point from here on, and never drops it.
        let reference = Unmanaged.passUnretained(point)
        lastSpawnPoint = reference
        return reference
    }

    /// The point for a wait on `reason` at `file`:`line`, preferring the task's previous one,
    /// then the last one found in this shard (a task adopted for one wait has no previous
    /// one, and a loop of such waits finds its point there without hashing three strings).
    mutating func waitPoint(reason: String, file: String, line: Int, recent: WaitPoint?) -> WaitPoint {
        if let recent, recent.attached, recent.is(reason: reason, file: file, line: line) { return recent }
        if let last = lastWaitPoint, last.attached, last.is(reason: reason, file: file, line: line) { return last }
        let key = WaitPointKey(reason: reason, file: file, line: line)
        let point: WaitPoint
        if let known = waitPoints[key] {
            point = known
        } else {
            point = WaitPoint(reason: reason, file: file, line: line)
            waitPoints[key] = point
        }
        lastWaitPoint = point
        return point
    }

    /// Counts a waiter in at the same place as `point`, in the table: at `point` itself unless
    /// it was dropped while empty. Returns the point counted at.
    mutating func enterWait(at point: WaitPoint) -> WaitPoint {
        if point.enter() { return point }
        let attached = waitPoint(reason: point.reason, file: point.file, line: point.line, recent: nil)
        // Only the lock holder detaches points, so an attached one takes the waiter.
        _ = attached.enter()
        return attached
    }

    mutating func pushEnclosingWait(_ wait: EnclosingWait, of record: TaskRecord) {
        enclosingWaits[ObjectIdentifier(record), default: []].append(wait)
    }

    /// The innermost wait that a nested wait of `record` replaced.
    mutating func popEnclosingWait(of record: TaskRecord) -> EnclosingWait? {
        let key = ObjectIdentifier(record)
        guard var stack = enclosingWaits[key], let last = stack.popLast() else { return nil }
        enclosingWaits[key] = stack.isEmpty ? nil : stack
        return last
    }

    /// Drops what `record`'s nested waits replaced (it finished or was dropped inside them).
    mutating func forgetEnclosingWaits(of record: TaskRecord) {
        if !enclosingWaits.isEmpty { enclosingWaits[ObjectIdentifier(record)] = nil }
    }

    /// Drops the wait points nobody waits at any more, once there are many, so the table
    /// stays bounded by the places in use (reasons can be made up at run time). Points in
    /// use are never dropped.
    mutating func compactPoints() {
        if waitPoints.count > 64 {
            for (key, point) in waitPoints where point.detachIfUnused() {
                waitPoints[key] = nil
            }
        }
    }

    /// Takes out up to two of the oldest finished tasks beyond the capacity, for the caller
    /// to free after the lock. Two per spawn drain what a burst of finishes left, since
    /// every finish follows a spawn.
    mutating func takeOldestBeyondCapacity() -> (TaskRecord?, TaskRecord?) {
        guard finished.count > finishedCapacity else { return (nil, nil) }
        let first = finished.removeFirst()
        guard finished.count > finishedCapacity else { return (first, nil) }
        return (first, finished.removeFirst())
    }

    /// Drops finished tasks beyond the capacity or that finished before `cutoff`.
    mutating func pruneFinished(finishedBefore cutoff: UInt64) {
        while let oldest = finished.first,
            finished.count > finishedCapacity || oldest.stateSince < cutoff
        {
            _ = finished.removeFirst()
        }
    }
}

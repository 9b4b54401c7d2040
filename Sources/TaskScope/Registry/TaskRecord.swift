import ScopeProtocol
import Synchronization

/// One tracked task, as the registry keeps it.
///
/// The immutable fields are set at spawn. A task's own waits change its phase and
/// resource without a lock (only the task itself writes them, and readers load each
/// as one word); everything else changes under the lock of `shard`, which readers hold.
@usableFromInline
final class TaskRecord: @unchecked Sendable {
    let id: UInt64
    let name: String
    /// The parent's id, or 0 for a root task.
    let parentID: UInt64
    // The spawn point and the shard are held unretained: each is shared by many records,
    // made on one thread and freed on another, and retaining them cost a spawn two cache
    // lines bounced between cores. The shard's table owns its spawn points and never drops
    // one; the registry owns its shards; and no record is used after its registry is gone
    // (the agent's registry lives as long as the process). They are `Unmanaged` rather than
    // `unowned(unsafe)`, which Swift still retains around every use.
    /// Where it was spawned, shared with the other tasks spawned there.
    let spawnPointReference: Unmanaged<SpawnPoint>
    /// Monotonic nanoseconds at spawn.
    let created: UInt64
    let shardReference: Unmanaged<RegistryShard>
    /// The address of the Swift task running this record, set when it starts (0 before).
    /// Task-locals are inherited by child tasks, so the record in a task-local is only this
    /// task's own when the addresses match. It also reads the task's cancellation while the
    /// record is live: the task outlives its record's finish, which takes the shard lock, so
    /// a reader holding that lock and seeing the record unfinished sees a living task. Read
    /// when asked, this replaces a cancellation handler in every tracked task, which cost a
    /// spawn about 170 ns (a status record added and removed under the task's lock).
    let taskKey = Atomic<Int>(0)
    /// The state and the monotonic nanoseconds when it began, in one word (see ``TaskPhase``),
    /// so that a reader sees both from the same moment.
    let phaseWord: Atomic<UInt64>
    /// The resource of the current wait, or 0.
    let resourceWord = Atomic<UInt64>(0)
    // The fields below are declared in an order that packs them: a million records are
    // a million times any padding.
    /// An untracked task seen waiting on a tracked primitive: shown only while it waits.
    let adopted: Bool
    /// Whether a tracked task was started in this one (with it as parent): set by the spawner,
    /// read by `leaked-wait-group`, which proves nothing for an adder whose workers it cannot
    /// see. (One byte, in the padding before `liveIndex`.)
    let hasTrackedChildren = Atomic<Bool>(false)
    /// Whether it serves a request: a request scope (``TaskScope/scope(_:fileID:line:function:isolation:_:)``),
    /// or a task one started, directly or not. Read by `abandoned-channel`: a shared channel a
    /// request used may be used by the next one. (One byte, in the same padding.)
    let servesRequest: Bool

    // Guarded by `shard`'s lock.
    var outcome: TaskOutcome?
    /// Its place in its shard's live list while it is live (which fits in the padding here).
    var liveIndex: UInt32 = 0
    /// The trace id and the type of the error a failed task threw, boxed: few tasks run in a
    /// traced span or fail, and every record would otherwise carry the room for two strings.
    /// Set at spawn, replaced at the finish under the lock.
    private var notes: RecordNotes?
    /// The point of the current wait while waiting; after it, the point of the last one,
    /// where most tasks wait again (and find it here without hashing). Written only by the
    /// task itself and under the shard lock; read by the task itself, or under the lock.
    var waitPoint: WaitPoint? {
        didSet { recentPoint = waitPoint.map(Unmanaged.passUnretained) }
    }
    /// `waitPoint`, unretained, for the task's own waits: reading the strong reference costs
    /// a retain and a release, a fifth of a wait. `waitPoint` keeps it alive, and only the
    /// task itself replaces it. (This fits in what malloc rounds a record up to anyway.)
    private(set) var recentPoint: Unmanaged<WaitPoint>?
    /// Monotonic nanoseconds when the task's cancellation was first seen, or 0.
    var cancelledAt: UInt64 = 0

    init(
        id: UInt64, name: String, parentID: UInt64, spawnPoint: Unmanaged<SpawnPoint>, created: UInt64,
        shard: Unmanaged<RegistryShard>, adopted: Bool = false, traceID: String? = nil, servesRequest: Bool = false
    ) {
        self.id = id
        self.name = name
        self.parentID = parentID
        self.spawnPointReference = spawnPoint
        self.created = created
        self.phaseWord = Atomic(TaskPhase(.active, since: created).word)
        self.shardReference = shard
        self.adopted = adopted
        self.servesRequest = servesRequest
        self.notes = traceID.map { RecordNotes(traceID: $0, errorType: nil) }
    }

    /// Where it was spawned. (Retained when read: use it off the hot path.)
    var spawnPoint: SpawnPoint { spawnPointReference.takeUnretainedValue() }

    /// The shard that holds it. (Retained when read: on the hot path, `withShardLocked`.)
    var shard: RegistryShard { shardReference.takeUnretainedValue() }

    /// Runs `body` with this record's shard locked, without retaining the shard.
    @inline(__always)
    func withShardLocked<Result: Sendable>(_ body: (inout ShardState) -> Result) -> Result {
        shardReference._withUnsafeGuaranteedRef { shard in
            shard.state.withLock { state in body(&state) }
        }
    }

    /// Whether the task has been cancelled, noting when this was first seen. Call with
    /// `shard`'s lock held: the task of a live record is alive only while the lock keeps
    /// the record from finishing.
    func observeCancellation(now: UInt64) -> Bool {
        if cancelledAt != 0 { return true }
        guard state != .finished, taskIsCancelled else { return false }
        cancelledAt = max(now, 1)
        return true
    }

    /// Asks the running task itself; false before it starts. Call with `shard`'s lock held,
    /// or from the task itself.
    var taskIsCancelled: Bool {
        let key = taskKey.load(ordering: .relaxed)
        guard key != 0, MemoryLayout<UnsafeCurrentTask>.size == MemoryLayout<Int>.size else { return false }
        return unsafeBitCast(key, to: UnsafeCurrentTask.self).isCancelled
    }

    /// Whether this is the record of the Swift task with key `key` (see
    /// ``TaskScope/currentTaskKey()``). A finished record is nobody's: a plain task that
    /// inherits it through the task-local can start at the address its finished task freed,
    /// and would otherwise take it as its own (its waits unrecorded, its id the dead task's).
    /// Clearing the key when the record finishes would not do: the spawner stores it after
    /// creating the task, which may have finished by then.
    @inline(__always)
    func isOwned(byTaskKey key: Int) -> Bool {
        taskKey.load(ordering: .relaxed) == key && !phase.isFinished
    }

    /// The state and when it began, from one moment.
    @inline(__always)
    var phase: TaskPhase { TaskPhase(word: phaseWord.load(ordering: .acquiring)) }

    /// Enters a state beginning at `since`.
    @inline(__always)
    func setPhase(_ state: TaskState, since: UInt64) {
        phaseWord.store(TaskPhase(state, since: since).word, ordering: .releasing)
    }

    var state: TaskState { phase.state }

    /// Monotonic nanoseconds when the current state (or current wait) began.
    var stateSince: UInt64 { phase.since }

    var waitResource: UInt64 { resourceWord.load(ordering: .relaxed) }

    /// The current wait, while there is one.
    var wait: WaitFrame? { wait(in: phase) }

    /// The wait of `phase` (read from this record), if it is one.
    func wait(in phase: TaskPhase) -> WaitFrame? {
        guard phase.isWaiting, let waitPoint else { return nil }
        return WaitFrame(point: waitPoint, resource: waitResource)
    }

    var errorType: String? {
        get { notes?.errorType }
        set {
            let traceID = self.traceID
            notes = newValue == nil && traceID == nil ? nil : RecordNotes(traceID: traceID, errorType: newValue)
        }
    }

    /// The id of the trace whose span the task started in (see ``TraceIDs``), if any.
    var traceID: String? { notes?.traceID }

    var spawnFile: String { spawnPoint.file }
    var spawnLine: Int { spawnPoint.line }
    var spawnFunction: String { spawnPoint.function }
    var spawnSite: SiteKey { spawnPoint.key }

    /// The record as the wire shows it. Call with `shard`'s lock held.
    func info(clock: AgentClock, now: UInt64) -> TaskInfo {
        let phase = self.phase
        let wait = wait(in: phase)
        return TaskInfo(
            id: id,
            name: name,
            parent: parentID == 0 ? nil : parentID,
            state: phase.state,
            outcome: outcome,
            error: errorType,
            wait: wait?.reason,
            waitSite: wait.map { SourceSite(file: $0.file, line: $0.line) },
            spawnSite: SourceSite(
                file: spawnFile, line: spawnLine, function: spawnFunction.isEmpty ? nil : spawnFunction),
            created: milliseconds(clock.wall(created)),
            inState: inState(phase, clock: clock, now: now),
            cancelled: observeCancellation(now: now),
            resource: wait.flatMap { $0.resource == 0 ? nil : $0.resource },
            adopted: adopted ? true : nil,
            cancelledAt: cancelledAt == 0 ? nil : milliseconds(clock.wall(cancelledAt)),
            trace: traceID
        )
    }

    /// Seconds in the state of `phase` at `now`, as the wire shows them: to the millisecond, and
    /// never more than the task's age at `now` as the wire shows that
    /// (`clock.capturedAt(now) - created`), which rounding alone could exceed by a millisecond.
    func inState(_ phase: TaskPhase, clock: AgentClock, now: UInt64) -> Double {
        let age = clock.capturedAt(now) - milliseconds(clock.wall(created))
        return min(milliseconds(AgentClock.seconds(from: phase.since, to: now)), max(0, age))
    }
}

/// Seconds rounded to the millisecond: the clock's resolution, and short on the wire.
@inline(__always)
func milliseconds(_ seconds: Double) -> Double {
    (seconds * 1000).rounded() / 1000
}

/// What a task is waiting for: the reason and the line of the await, and what on.
struct WaitFrame: Sendable {
    var point: WaitPoint
    /// The resource waited on, or 0.
    var resource: UInt64 = 0

    var reason: String { point.reason }
    var file: String { point.file }
    var line: Int { point.line }
}

/// A spawn site, as the key of per-site counts.
struct SiteKey: Hashable, Sendable, CustomStringConvertible {
    var file: String
    var line: Int

    var description: String { "\(file):\(line)" }
}

/// A wait that a nested one replaced, restored when the nested one ends.
struct EnclosingWait: Sendable {
    var frame: WaitFrame
    var since: UInt64
}

/// A task's state and the monotonic nanoseconds when it began, packed in one word: the
/// state in the low two bits (nanoseconds since boot need 62 bits for 146 years).
struct TaskPhase: Sendable, Equatable {
    var word: UInt64

    @inline(__always)
    init(word: UInt64) { self.word = word }

    @inline(__always)
    init(_ state: TaskState, since: UInt64) {
        let code: UInt64
        switch state {
        case .active: code = 0
        case .waiting: code = 1
        case .finished: code = 2
        }
        word = since << 2 | code
    }

    var state: TaskState {
        switch word & 3 {
        case 0: .active
        case 1: .waiting
        default: .finished
        }
    }

    @inline(__always) var isActive: Bool { word & 3 == 0 }
    @inline(__always) var isWaiting: Bool { word & 3 == 1 }
    @inline(__always) var isFinished: Bool { word & 3 == 2 }

    var since: UInt64 { word >> 2 }
}

/// What few records carry: the trace a task started in, the error type of a failed task.
final class RecordNotes: Sendable {
    let traceID: String?
    let errorType: String?

    init(traceID: String?, errorType: String?) {
        self.traceID = traceID
        self.errorType = errorType
    }
}

/// How a wait began, which says how to end it.
@usableFromInline
enum WaitToken: UInt8, Sendable {
    /// Not recorded: the record had finished.
    case unrecorded
    /// Began from the active state: ending it makes the task active again.
    case flat
    /// Replaced an enclosing wait, which ending it restores.
    case nested
}

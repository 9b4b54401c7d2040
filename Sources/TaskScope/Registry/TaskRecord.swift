import ScopeProtocol
import Synchronization

/// One tracked task, as the registry keeps it.
///
/// The immutable fields are set at spawn. The mutable ones are only read or
/// written while holding the lock of `shard`, so a state change costs one
/// uncontended lock and no allocation.
@usableFromInline
final class TaskRecord: @unchecked Sendable {
    let id: UInt64
    let name: String
    /// The parent's id, or 0 for a root task.
    let parentID: UInt64
    /// Where it was spawned, shared with the other tasks spawned there.
    let spawnPoint: SpawnPoint
    /// Monotonic nanoseconds at spawn.
    let created: UInt64
    let shard: RegistryShard
    /// The identity of the Swift task running this record, set when it starts. Task-locals
    /// are inherited by child tasks, so the record in a task-local is only this task's own
    /// when the identities match.
    let taskKey = Atomic<Int>(0)
    // The fields below are declared in an order that packs them: a million records are
    // a million times any padding.
    /// An untracked task seen waiting on a tracked primitive: shown only while it waits.
    let adopted: Bool

    // Guarded by `shard`'s lock.
    var state: TaskState = .active
    var outcome: TaskOutcome?
    /// Its place in its shard's live list while it is live (which fits in the padding here).
    var liveIndex: UInt32 = 0
    /// The type of the error a failed task threw, boxed: few tasks fail, and every record
    /// would otherwise carry the room for a string.
    private var failure: ErrorTypeBox?
    /// The point of the current wait while `state` is `.waiting`; after it, the point of
    /// the last one, where most tasks wait again (and find it here without hashing).
    var waitPoint: WaitPoint?
    /// The resource of the current wait, or 0.
    var waitResource: UInt64 = 0
    /// Monotonic nanoseconds when the current state (or current wait) began.
    var stateSince: UInt64
    /// Monotonic nanoseconds when the task's cancellation was first seen, or 0.
    var cancelledAt: UInt64 = 0
    /// The Swift task running this record, from its start to its finish: a strong
    /// reference, like a `Task` handle, whose `isCancelled` may be read from any thread.
    /// Reading it when asked replaces a cancellation handler in every tracked task, which
    /// cost a spawn about 170 ns (a status record added and removed under the task's lock).
    var runningTask: UnsafeCurrentTask?

    init(
        id: UInt64, name: String, parentID: UInt64, spawnPoint: SpawnPoint, created: UInt64, shard: RegistryShard,
        adopted: Bool = false
    ) {
        self.id = id
        self.name = name
        self.parentID = parentID
        self.spawnPoint = spawnPoint
        self.created = created
        self.stateSince = created
        self.shard = shard
        self.adopted = adopted
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

    /// Asks the running task itself; false before it starts. Call with `shard`'s lock held.
    var taskIsCancelled: Bool { runningTask?.isCancelled ?? false }

    /// The current wait, while there is one.
    var wait: WaitFrame? {
        guard state == .waiting, let waitPoint else { return nil }
        return WaitFrame(point: waitPoint, resource: waitResource)
    }

    /// Enters `frame` as the current wait (the caller sets `state`).
    func setWait(_ frame: WaitFrame) {
        if waitPoint !== frame.point { waitPoint = frame.point }
        waitResource = frame.resource
    }

    var errorType: String? {
        get { failure?.typeName }
        set { failure = newValue.map(ErrorTypeBox.init) }
    }

    var spawnFile: String { spawnPoint.file }
    var spawnLine: Int { spawnPoint.line }
    var spawnFunction: String { spawnPoint.function }
    var spawnSite: SiteKey { spawnPoint.key }

    /// The record as the wire shows it. Call with `shard`'s lock held.
    func info(clock: AgentClock, now: UInt64) -> TaskInfo {
        TaskInfo(
            id: id,
            name: name,
            parent: parentID == 0 ? nil : parentID,
            state: state,
            outcome: outcome,
            error: errorType,
            wait: wait?.reason,
            waitSite: wait.map { SourceSite(file: $0.file, line: $0.line) },
            spawnSite: SourceSite(
                file: spawnFile, line: spawnLine, function: spawnFunction.isEmpty ? nil : spawnFunction),
            created: milliseconds(clock.wall(created)),
            inState: milliseconds(AgentClock.seconds(from: stateSince, to: now)),
            cancelled: observeCancellation(now: now),
            resource: wait.flatMap { $0.resource == 0 ? nil : $0.resource },
            adopted: adopted ? true : nil
        )
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

/// What a wait replaced, so that ending it restores an enclosing wait.
struct WaitToken: Sendable {
    var previous: WaitFrame?
    var previousSince: UInt64
}

/// The error type of a failed task.
final class ErrorTypeBox: Sendable {
    let typeName: String
    init(_ typeName: String) { self.typeName = typeName }
}

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
    /// An untracked task seen waiting on a tracked primitive: shown only while it waits.
    let adopted: Bool
    /// The identity of the Swift task running this record, set when it starts. Task-locals
    /// are inherited by child tasks, so the record in a task-local is only this task's own
    /// when the identities match.
    let taskKey = Atomic<Int>(0)

    // Guarded by `shard`'s lock.
    var state: TaskState = .active
    var outcome: TaskOutcome?
    var errorType: String?
    var wait: WaitFrame?
    /// The point of the task's last wait: most tasks wait at the same line again.
    var recentWaitPoint: WaitPoint?
    /// Monotonic nanoseconds when the current state (or current wait) began.
    var stateSince: UInt64
    /// Monotonic nanoseconds when the task was cancelled, or 0.
    var cancelledAt: UInt64 = 0

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
            cancelled: cancelledAt != 0,
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

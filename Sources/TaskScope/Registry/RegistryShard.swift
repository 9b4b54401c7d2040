import NIOCore
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
    var live: [UInt64: TaskRecord] = [:]
    /// Finished tasks, oldest first, at most `finishedCapacity`.
    var finished: CircularBuffer<TaskRecord>
    var finishedCapacity: Int
    var waiting = 0
    var waitsByReason: [String: Int] = [:]
    /// Live tracked (not adopted) tasks by spawn site, for the runaway-spawn rule.
    var liveBySite: [SiteKey: Int] = [:]
    var spawned: UInt64 = 0
    var completed: UInt64 = 0
    var cancelled: UInt64 = 0
    var failed: UInt64 = 0

    init(finishedCapacity: Int) {
        self.finishedCapacity = finishedCapacity
        finished = CircularBuffer(initialCapacity: min(max(finishedCapacity, 1), 256))
    }

    /// Counts a wait beginning or ending. Entries that drop to zero stay (readers skip
    /// them): removing and re-adding a key on every wait would churn the table.
    mutating func countWait(_ reason: String, by delta: Int) {
        waiting += delta
        waitsByReason[reason, default: 0] += delta
    }

    /// Drops zero entries once the table has many, so it stays bounded by the reasons in use.
    mutating func compactWaits() {
        if waitsByReason.count > 64 { waitsByReason = waitsByReason.filter { $0.value != 0 } }
    }

    mutating func countSite(_ site: SiteKey, by delta: Int) {
        liveBySite[site, default: 0] += delta
        if delta < 0, liveBySite.count > 256 { liveBySite = liveBySite.filter { $0.value != 0 } }
    }

    /// Drops finished tasks beyond the capacity or that finished before `cutoff`.
    mutating func pruneFinished(finishedBefore cutoff: UInt64) {
        while let oldest = finished.first,
            finished.count > finishedCapacity || oldest.stateSince < cutoff
        {
            finished.removeFirst()
        }
    }
}

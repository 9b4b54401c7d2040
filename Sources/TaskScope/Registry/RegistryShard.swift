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

    mutating func countWait(_ reason: String, by delta: Int) {
        waiting += delta
        let count = waitsByReason[reason, default: 0] + delta
        waitsByReason[reason] = count == 0 ? nil : count
    }

    mutating func countSite(_ site: SiteKey, by delta: Int) {
        let count = liveBySite[site, default: 0] + delta
        liveBySite[site] = count == 0 ? nil : count
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

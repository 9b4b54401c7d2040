/// A pass over one shard's live list in slices, registered in the shard, so that the
/// records the list's swap removals move while the lock is let go between slices are
/// neither missed nor visited twice.
///
/// The list's indices below `cursor` have been visited. A removal fills its hole with the
/// list's last record: when the hole is below the cursor and the last record is not, that
/// record joins `pending` (it would be skipped); a record removed before the cursor reached
/// it joins `pending` when the pass visits finished records too (it would be missed, and
/// the finished records the pass reads stop where they were when it began).
struct ShardScan: Sendable {
    let id: UInt64
    /// Whether records that finish before the pass reaches them are visited (as finished).
    let keepsFinished: Bool
    var cursor = 0
    var pending: [TaskRecord] = []

    /// Notes that the live record at `index` is being removed from a list whose last index is
    /// `last` (it is swapped there first); `kept` when it goes on to the finished records.
    @inline(__always)
    mutating func noteRemoval(of record: TaskRecord, at index: Int, last: Int, moved: TaskRecord, kept: Bool) {
        if index >= cursor {
            if kept && keepsFinished { pending.append(record) }
        } else if last >= cursor {
            pending.append(moved)
        }
        cursor = min(cursor, last)
    }
}

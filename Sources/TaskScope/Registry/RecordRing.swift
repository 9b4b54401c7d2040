/// A shard's finished records, oldest first: a ring of slots that doubles when full.
///
/// It moves records in and out rather than copying them, so that dropping the oldest
/// costs no reference counting beyond the release that frees it. (NIO's `CircularBuffer`
/// retained and released each record it handed out: two atomic operations on a record
/// no core had touched since it finished, on every spawn.)
struct RecordRing: Sendable {
    private var slots: ContiguousArray<TaskRecord?>
    private var head = 0
    private(set) var count = 0
    /// How many records were ever taken out: the sequence number of the oldest, so that a
    /// pass over the ring in slices can resume where it stopped while records come and go.
    private(set) var removedCount: UInt64 = 0

    /// An empty ring with room for `capacity` records before it grows (at least one).
    init(initialCapacity capacity: Int) {
        var size = 1
        while size < capacity { size <<= 1 }
        slots = ContiguousArray(repeating: nil, count: size)
    }

    var isEmpty: Bool { count == 0 }

    /// The oldest record.
    var first: TaskRecord? { count == 0 ? nil : slots[head] }

    /// Adds `record` as the newest. Amortised O(1).
    mutating func append(_ record: TaskRecord) {
        if count == slots.count { grow() }
        slots[(head &+ count) & (slots.count &- 1)] = record
        count &+= 1
    }

    /// Takes out the oldest record; the ring must not be empty.
    mutating func removeFirst() -> TaskRecord {
        precondition(count > 0, "removeFirst on an empty ring")
        let record = slots[head].take()!
        head = (head &+ 1) & (slots.count &- 1)
        count &-= 1
        removedCount &+= 1
        return record
    }

    /// The sequence number the next record appended will have: the oldest's is `removedCount`.
    var endSequence: UInt64 { removedCount &+ UInt64(count) }

    /// The record with sequence number `sequence`, which must be in `removedCount..<endSequence`.
    subscript(sequence sequence: UInt64) -> TaskRecord {
        slots[(head &+ Int(sequence &- removedCount)) & (slots.count &- 1)]!
    }

    /// Calls `body` with each record, oldest first.
    func forEach(_ body: (TaskRecord) throws -> Void) rethrows {
        let mask = slots.count &- 1
        for offset in 0..<count {
            try body(slots[(head &+ offset) & mask]!)
        }
    }

    /// The first record, oldest first, for which `predicate` holds.
    func first(where predicate: (TaskRecord) throws -> Bool) rethrows -> TaskRecord? {
        let mask = slots.count &- 1
        for offset in 0..<count {
            let record = slots[(head &+ offset) & mask]!
            if try predicate(record) { return record }
        }
        return nil
    }

    private mutating func grow() {
        var larger = ContiguousArray<TaskRecord?>(repeating: nil, count: slots.count * 2)
        let mask = slots.count &- 1
        for offset in 0..<count {
            larger[offset] = slots[(head &+ offset) & mask].take()
        }
        slots = larger
        head = 0
    }
}

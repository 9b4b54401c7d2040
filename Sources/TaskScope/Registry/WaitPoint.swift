import Synchronization

/// An await that tasks wait at: its reason and line, shared by the waits there (within
/// one shard), with the number of tasks waiting there now.
///
/// A task remembers the point of its last wait, so a task waiting at the same line
/// again (the usual loop) counts its wait without hashing anything or taking a lock:
/// the count is atomic, and a point the shard's table dropped refuses new waiters
/// (the task then takes the lock and finds the point that replaced it).
final class WaitPoint: @unchecked Sendable {
    let reason: String
    let file: String
    let line: Int
    /// Tasks waiting here now, or `detached` once the shard's table dropped the point.
    private let waiters = Atomic<Int>(0)

    private static let detached = Int.min

    init(reason: String, file: String, line: Int) {
        self.reason = reason
        self.file = file
        self.line = line
    }

    var key: WaitPointKey { WaitPointKey(reason: reason, file: file, line: line) }

    /// Tasks waiting here now.
    var waiting: Int { max(0, waiters.load(ordering: .relaxed)) }

    /// Whether the shard's table still holds this point.
    var attached: Bool { waiters.load(ordering: .relaxed) >= 0 }

    @inline(__always)
    func `is`(reason: String, file: String, line: Int) -> Bool {
        self.line == line && self.reason == reason && self.file == file
    }

    /// Counts a waiter in, unless the table dropped the point: false then. Under the
    /// shard's lock, an attached point always counts the waiter in (only the lock holder
    /// detaches points).
    @inline(__always)
    func enter() -> Bool {
        var current = waiters.load(ordering: .relaxed)
        while current >= 0 {
            let (exchanged, original) = waiters.weakCompareExchange(
                expected: current, desired: current &+ 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Counts a waiter of ``enter()`` out.
    @inline(__always)
    func leave() {
        waiters.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Marks the point dropped if nobody waits there; call under the shard's lock.
    func detachIfUnused() -> Bool {
        waiters.compareExchange(expected: 0, desired: WaitPoint.detached, ordering: .relaxed).exchanged
    }
}

/// A wait point's identity by value: what merges the points of different shards.
struct WaitPointKey: Hashable, Sendable {
    var reason: String
    var file: String
    var line: Int
}

/// An await that tasks wait at: its reason and line, shared by the waits there (within
/// one shard), with the number of tasks waiting there now.
///
/// A task remembers the point of its last wait, so a task waiting at the same line
/// again (the usual loop) counts its wait without hashing anything.
final class WaitPoint: @unchecked Sendable {
    let reason: String
    let file: String
    let line: Int
    /// Tasks waiting here now; guarded by the owning shard's lock.
    var waiting = 0
    /// Whether the shard's table still holds this point (guarded by its lock).
    var attached = true

    init(reason: String, file: String, line: Int) {
        self.reason = reason
        self.file = file
        self.line = line
    }

    var key: WaitPointKey { WaitPointKey(reason: reason, file: file, line: line) }

    @inline(__always)
    func `is`(reason: String, file: String, line: Int) -> Bool {
        self.line == line && self.reason == reason && self.file == file
    }
}

/// A wait point's identity by value: what merges the points of different shards.
struct WaitPointKey: Hashable, Sendable {
    var reason: String
    var file: String
    var line: Int
}

/// A line that spawns tracked tasks, shared by every task spawned there (within one
/// shard), with the number of them alive.
///
/// Sharing it keeps a task's record small and spares the hot path the hashing of
/// its file name: a shard remembers the point it used last, and a loop spawning
/// from one line finds it there.
final class SpawnPoint: @unchecked Sendable {
    let file: String
    let line: Int
    let function: String
    /// Live tasks spawned here; guarded by the owning shard's lock.
    var live = 0

    init(file: String, line: Int, function: String) {
        self.file = file
        self.line = line
        self.function = function
    }

    var key: SiteKey { SiteKey(file: file, line: line) }

    /// What a shard finds a point by: its line and the function that spawns there.
    struct Key: Hashable, Sendable {
        var file: String
        var line: Int
        var function: String
    }

    /// Whether this is the point for `file`, `line` and `function`: the line first, since it
    /// differs most often and is the cheapest to compare.
    @inline(__always)
    func `is`(file: String, line: Int, function: String) -> Bool {
        self.line == line && self.function == function && self.file == file
    }

    /// How many spawn sites a shard tells apart; beyond, they share the point of `otherSites`.
    static let limitPerShard = 4_096

    /// The file name of the point shared by sites beyond ``limitPerShard``.
    static let otherSites = "(other sites)"

    /// The point of tasks adopted while waiting, which were spawned untracked.
    static let untracked = SpawnPoint(file: "(untracked)", line: 0, function: "")
}

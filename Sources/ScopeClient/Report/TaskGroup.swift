import ScopeProtocol

/// Live tasks that share a wait reason, a wait site and a spawn site: one
/// line of the grouped report, like one stack in a goroutine profile.
public struct TaskGroup: Sendable, Hashable {
    /// What identifies a group.
    public struct Key: Sendable, Hashable {
        /// The wait reason, or `nil` for active tasks.
        public var reason: String?
        public var waitSite: SourceSite?
        public var spawnSite: SourceSite

        public init(reason: String?, waitSite: SourceSite?, spawnSite: SourceSite) {
            self.reason = reason
            self.waitSite = waitSite
            self.spawnSite = spawnSite
        }

        /// The key of a task's group.
        public init(_ task: TaskInfo) {
            self.init(reason: task.wait, waitSite: task.waitSite, spawnSite: task.spawnSite)
        }
    }

    public var key: Key
    /// Tasks in the group.
    public var count: Int
    /// The longest time any task of the group has spent in its state (waiting, or active).
    public var longest: Double
    /// A few task ids, lowest first, to look up.
    public var sampleIDs: [UInt64]

    /// How many ids a group keeps.
    public static let sampleLimit = 5

    public init(key: Key, count: Int = 0, longest: Double = 0, sampleIDs: [UInt64] = []) {
        self.key = key
        self.count = count
        self.longest = longest
        self.sampleIDs = sampleIDs
    }

    mutating func add(_ task: TaskInfo) {
        count += 1
        longest = max(longest, task.inState)
        if sampleIDs.count < TaskGroup.sampleLimit || task.id < sampleIDs[sampleIDs.count - 1] {
            sampleIDs.append(task.id)
            sampleIDs.sort()
            if sampleIDs.count > TaskGroup.sampleLimit { sampleIDs.removeLast() }
        }
    }
}

/// Live tasks that share a wait reason, a wait site and a spawn site: one
/// line of the grouped report, like one stack in a goroutine profile.
public struct SiteGroup: Codable, Sendable, Hashable {
    /// What identifies a group.
    public struct Key: Codable, Sendable, Hashable {
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

    /// Counts `task` into the group.
    public mutating func add(_ task: TaskInfo) {
        add(id: task.id, inState: task.inState)
    }

    /// Adds the tasks of `other`, a group with the same key counted apart.
    public mutating func merge(_ other: SiteGroup) {
        count += other.count
        longest = max(longest, other.longest)
        sampleIDs = Array((sampleIDs + other.sampleIDs).sorted().prefix(SiteGroup.sampleLimit))
    }

    /// Counts a task with this id and time in state into the group.
    public mutating func add(id: UInt64, inState: Double) {
        count += 1
        longest = max(longest, inState)
        Self.sample(id, into: &sampleIDs)
    }

    /// Keeps `id` among a group's `sampleIDs` if it is one of the ``sampleLimit`` lowest seen:
    /// `sampleIDs` stays sorted, lowest first, and at most ``sampleLimit`` long.
    public static func sample(_ id: UInt64, into sampleIDs: inout [UInt64]) {
        guard sampleIDs.count < sampleLimit || id < sampleIDs[sampleIDs.count - 1] else { return }
        sampleIDs.append(id)
        sampleIDs.sort()
        if sampleIDs.count > sampleLimit { sampleIDs.removeLast() }
    }
}

/// Which groups a `groups` request wants.
public struct GroupQuery: Sendable, Hashable {
    /// Keep only tasks waiting for this reason.
    public var wait: String?
    /// Groups to return at most, largest first, `1...TaskQuery.maxLimit`.
    public var limit: Int

    public init(wait: String? = nil, limit: Int = TaskQuery.defaultLimit) {
        self.wait = wait
        self.limit = limit
    }
}

/// The `groups` reply: live tasks grouped by wait reason, wait site and spawn site, largest first.
public struct GroupList: Codable, Sendable, Hashable {
    /// Groups in all.
    public var total: Int
    public var groups: [SiteGroup]

    public init(total: Int, groups: [SiteGroup]) {
        self.total = total
        self.groups = groups
    }
}

extension SiteGroup {
    /// Largest first; ties by longest time, then by site.
    public static func byImportance(_ lhs: SiteGroup, _ rhs: SiteGroup) -> Bool {
        if lhs.count != rhs.count { return lhs.count > rhs.count }
        if lhs.longest != rhs.longest { return lhs.longest > rhs.longest }
        return (lhs.key.spawnSite.description, lhs.key.waitSite?.description ?? "")
            < (rhs.key.spawnSite.description, rhs.key.waitSite?.description ?? "")
    }
}

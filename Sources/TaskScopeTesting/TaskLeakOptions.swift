/// What a leak check ignores, and how long it lets tasks finish.
public struct TaskLeakOptions: Sendable {
    /// Tasks with one of these names are not leaks.
    public var ignoredNames: Set<String>
    /// Tasks spawned at these places are not leaks: a file (`"Module/File.swift"`, as
    /// `#fileID` writes it, or its last part, `"File.swift"`) or a line of one (`"File.swift:42"`).
    public var ignoredSpawnSites: [String]
    /// Tasks with these ids are not leaks: usually ``TaskLeaks/aliveNow()`` taken when the test began.
    public var ignoredTasks: Set<UInt64>
    /// How long to wait for tasks that are just finishing before calling them leaks.
    /// The check looks again with a growing pause (10 ms, doubling, at most 200 ms) until then,
    /// and once more after yielding, so that a task already woken gets its turn first.
    public var settle: Duration

    public init(
        ignoringNames ignoredNames: Set<String> = [], ignoringSpawnSites ignoredSpawnSites: [String] = [],
        ignoringTasks ignoredTasks: Set<UInt64> = [], settle: Duration = .seconds(1)
    ) {
        self.ignoredNames = ignoredNames
        self.ignoredSpawnSites = ignoredSpawnSites
        self.ignoredTasks = ignoredTasks
        self.settle = settle
    }
}

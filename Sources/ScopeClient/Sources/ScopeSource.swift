import ScopeProtocol

/// Where a UI gets its data: a live agent or a snapshot file. Both answer the
/// same queries, so the same screens work online and offline.
public protocol ScopeSource: Sendable {
    /// What to call this source in messages (a socket path or a file).
    var label: String { get }
    /// Whether this is a file rather than a running process.
    var isOffline: Bool { get }
    /// Connects (again) and returns who is on the other end.
    func connect() async throws(ScopeClientError) -> Hello
    func summary() async throws(ScopeClientError) -> Summary
    func history(limit: Int) async throws(ScopeClientError) -> [HistorySample]
    func warnings() async throws(ScopeClientError) -> [Warning]
    func resources() async throws(ScopeClientError) -> [ResourceInfo]
    func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup]
    /// Waiting tasks' async call stacks, grouped (a snapshot file has none).
    func stacks(_ query: StackQuery) async throws(ScopeClientError) -> StackList
    func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage
    func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail
    /// Writes a snapshot document to `path`, atomically.
    func export(to path: String) async throws(ScopeClientError)
}

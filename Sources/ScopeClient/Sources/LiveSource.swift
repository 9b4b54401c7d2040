import ScopeProtocol
import Synchronization

/// A running process's agent, reconnected on demand when it went away.
public final class LiveSource: ScopeSource {
    public let path: String
    public var label: String { path }
    public var isOffline: Bool { false }
    private let connection = Mutex<ScopeConnection?>(nil)

    public init(path: String) { self.path = path }

    public func connect() async throws(ScopeClientError) -> Hello {
        try await current().hello
    }

    private func current() async throws(ScopeClientError) -> ScopeConnection {
        if let existing = connection.withLock({ $0 }) { return existing }
        let fresh = try await ScopeConnection.connect(to: path, timeout: .seconds(2), requestTimeout: .seconds(10))
        connection.withLock { $0 = fresh }
        return fresh
    }

    /// Runs a request; a connection that failed is dropped so the next call reconnects. An
    /// error reply or a request its caller cancelled leaves the connection as good as it was.
    @discardableResult
    private func using<T>(
        _ body: (ScopeConnection) async throws(ScopeClientError) -> T
    ) async throws(ScopeClientError)
        -> T
    {
        let live = try await current()
        do {
            return try await body(live)
        } catch {
            switch error {
            case .server, .cancelled: break
            default:
                live.close()
                connection.withLock { if $0 === live { $0 = nil } }
            }
            throw error
        }
    }

    public func summary() async throws(ScopeClientError) -> Summary {
        try await using { connection throws(ScopeClientError) in try await connection.summary() }
    }

    public func history(limit: Int) async throws(ScopeClientError) -> [HistorySample] {
        try await using { connection throws(ScopeClientError) in try await connection.history(limit: limit).samples }
    }

    public func warnings() async throws(ScopeClientError) -> [Warning] {
        try await using { connection throws(ScopeClientError) in try await connection.warnings() }
    }

    public func resources() async throws(ScopeClientError) -> [ResourceInfo] {
        try await using { connection throws(ScopeClientError) in
            try await connection.resources(ResourceQuery(limit: TaskQuery.maxLimit)).resources
        }
    }

    public func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup] {
        try await using { connection throws(ScopeClientError) in try await connection.groups(query).groups }
    }

    public func stacks(_ query: StackQuery) async throws(ScopeClientError) -> StackList {
        try await using { connection throws(ScopeClientError) in try await connection.stacks(query) }
    }

    public func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage {
        try await using { connection throws(ScopeClientError) in try await connection.tasks(query) }
    }

    public func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail {
        try await using { connection throws(ScopeClientError) in try await connection.task(id: id) }
    }

    public func export(to path: String) async throws(ScopeClientError) {
        let file = try AtomicFile(path: path)
        do {
            try await using { connection throws(ScopeClientError) in
                try await SnapshotExporter.export(from: connection, format: .json, to: file)
            }
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }
}

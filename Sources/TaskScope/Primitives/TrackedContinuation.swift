import ScopeProtocol
import Synchronization

/// A continuation that taskscope can see: while a task waits on it, the wait
/// shows as `continuation`; if it is destroyed without being resumed, the
/// leaked-continuation rule fires (the waiting task would otherwise hang
/// without a trace). Resume it exactly once; a second resume is ignored.
///
/// `Failure` is `Never` for ``withTrackedContinuation(_:fileID:line:isolation:_:)``
/// and `any Error` for ``withTrackedThrowingContinuation(_:fileID:line:isolation:_:)``.
public final class TrackedContinuation<T: Sendable, Failure: Error>: Sendable, TrackedResource {
    let resourceID: UInt64
    var kind: ResourceKind { .continuation }
    /// The continuation's name.
    public let name: String
    let site: SourceSite
    let created: UInt64
    private let waiter: UInt64
    private let registry: Registry
    private let continuation: Mutex<UnsafeContinuation<Result<T, any Error>, Never>?>

    init(
        name: String, site: SourceSite, waiter: UInt64, registry: Registry,
        continuation: UnsafeContinuation<Result<T, any Error>, Never>, resourceID: UInt64
    ) {
        self.resourceID = resourceID
        self.name = name
        self.site = site
        self.waiter = waiter
        self.registry = registry
        self.created = registry.clock.now()
        self.continuation = Mutex(continuation)
        registry.resources.register(self)
    }

    deinit {
        registry.resources.unregister(resourceID)
        if continuation.withLock({ $0 != nil }) {
            var info = report(registry.reportContext())
            info.state = "leaked"
            info.orphaned = true
            registry.resources.recordLeak(info)
        }
    }

    /// Resumes the waiting task with a value.
    public func resume(returning value: T) { deliver(.success(value)) }

    /// Resumes the waiting task with a result.
    public func resume(with result: Result<T, Failure>) { deliver(result.mapError { $0 }) }

    private func deliver(_ result: Result<T, any Error>) {
        let taken = continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        taken?.resume(returning: result)
    }

    /// Whether it has been resumed.
    public var isResumed: Bool { continuation.withLock { $0 == nil } }

    /// Resumes the waiting task with an error.
    public func resume(throwing error: Failure) { deliver(.failure(error)) }

    func report(_ context: ReportContext) -> ResourceInfo {
        let pending = continuation.withLock { $0 != nil }
        var info = ResourceInfo(
            id: resourceID, kind: .continuation, name: name, site: site, created: context.wall(created),
            state: pending ? "pending" : "resumed")
        info.waiting = pending ? 1 : 0
        info.waitingIDs = pending && waiter != 0 ? [waiter] : []
        return info
    }
}

/// Suspends the current task until `body`'s continuation is resumed, like
/// `withCheckedContinuation`, with the wait visible as `continuation` and a
/// leak (the continuation dropped unresumed) reported by the agent.
public func withTrackedContinuation<T: Sendable>(
    _ name: String, fileID: String = #fileID, line: Int = #line,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (TrackedContinuation<T, Never>) -> Void
) async -> T {
    switch await suspendTracked(name, fileID: fileID, line: line, isolation: isolation, body) {
    case .success(let value): return value
    case .failure:
        // Cannot happen: a TrackedContinuation<T, Never> cannot be resumed with an error.
        return await withUnsafeContinuation { (_: UnsafeContinuation<T, Never>) in }
    }
}

/// Suspends the current task until `body`'s continuation is resumed with a
/// value or an error, like `withCheckedThrowingContinuation`, tracked as
/// ``withTrackedContinuation(_:fileID:line:isolation:_:)`` is.
public func withTrackedThrowingContinuation<T: Sendable>(
    _ name: String, fileID: String = #fileID, line: Int = #line,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (TrackedContinuation<T, any Error>) -> Void
) async throws -> T {
    try await suspendTracked(name, fileID: fileID, line: line, isolation: isolation, body).get()
}

// The body runs on `isolation`, as `withCheckedContinuation`'s does: the wait is opened
// here rather than through a closure, which would not be isolated to `isolation`
// (a closure is isolated to an `isolated` parameter only when it captures it) and so
// would hop to the global executor before the body runs.
private func suspendTracked<T: Sendable, Failure: Error>(
    _ name: String, fileID: String, line: Int,
    isolation: isolated (any Actor)?,
    _ body: (TrackedContinuation<T, Failure>) -> Void
) async -> Result<T, any Error> {
    let registry = TaskScope.registry
    let resourceID = registry.resources.makeID()
    let wait = TaskScope.beginWait(WaitReason.continuation, resource: resourceID, fileID: fileID, line: line)
    defer { TaskScope.endWait(wait) }
    let taskID = wait.taskID
    return await withUnsafeContinuation(isolation: isolation) {
        (continuation: UnsafeContinuation<Result<T, any Error>, Never>) in
        body(
            TrackedContinuation(
                name: name, site: SourceSite(file: fileID, line: line), waiter: taskID, registry: registry,
                continuation: continuation, resourceID: resourceID))
    }
}

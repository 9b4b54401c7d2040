import Foundation
import NIOCore
import NIOExtras
import NIOFoundationCompat
import NIOPosix
import ScopeProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection to one agent: sends requests, awaits their replies, and
/// streams snapshots and pushed summaries.
///
/// Requests may be issued concurrently; replies are matched by id.
public final class ScopeConnection: Sendable {
    /// The socket path this connection is attached to.
    public let path: String
    /// What the agent said when the connection opened.
    public let hello: Hello
    private let channel: any Channel
    private let router: NIOLoopBound<ReplyRouter>
    private let nextID = Atomic<Int64>(1)
    private let requestTimeout: Duration

    private init(
        path: String, hello: Hello, channel: any Channel, router: NIOLoopBound<ReplyRouter>, requestTimeout: Duration
    ) {
        self.path = path
        self.hello = hello
        self.channel = channel
        self.router = router
        self.requestTimeout = requestTimeout
    }

    deinit { channel.close(promise: nil) }

    /// The longest line a reply may be, unless `connect` is told otherwise: far above the
    /// agent's largest (a page or a chunk of 10,000 tasks is a few MiB).
    public static let defaultMaxLineBytes = 64 << 20
    /// The most bytes a snapshot may bring, unless `snapshot` is told otherwise: a million
    /// tasks export to well under 1 GiB.
    public static let defaultMaxSnapshotBytes = 2 << 30

    /// Connects to the agent at `path` and reads its hello.
    ///
    /// A reply line longer than `maxLineBytes` ends the connection with
    /// ``ScopeClientError/lineTooLong(path:limit:)``, so a broken or hostile agent costs
    /// at most about twice that in memory.
    ///
    /// - Throws: ``ScopeClientError`` naming what is wrong with the path
    ///   (missing, not a socket, stale, refused, silent, not taskscope, wrong version).
    public static func connect(
        to path: String, timeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(30),
        maxLineBytes: Int = defaultMaxLineBytes, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(ScopeClientError) -> ScopeConnection {
        try checkSocketFile(path)
        let loop = group.next()
        let helloPromise = loop.makePromise(of: ByteBuffer.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.nanoseconds(Int64(clamping: timeout.nanosecondsClamped)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(
                            ByteToMessageHandler(LineBasedFrameDecoder(), maximumBufferSize: maxLineBytes))
                        try sync.addHandler(
                            ReplyRouter(
                                helloPromise: helloPromise, eventLoop: channel.eventLoop, path: path,
                                maxLineBytes: maxLineBytes))
                    }
                }
                .connect(unixDomainSocketPath: path).get()
        } catch {
            helloPromise.fail(ScopeClientError.disconnected(path))
            throw mapConnectError(error, path: path)
        }
        // The kernel accepts a connection for a process that cannot run (stopped, hung): only
        // the hello tells a live agent, so its absence is named as silence, not as a stranger.
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(clamping: timeout.nanosecondsClamped))) {
            helloPromise.fail(ScopeClientError.noAnswer(path: path, seconds: timeout.secondsValue))
        }
        let helloLine: ByteBuffer
        do {
            helloLine = try await helloPromise.futureResult.get()
            timer.cancel()
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            switch error as? ScopeClientError {
            case .disconnected?, .closedMidway?, nil: throw .notTaskscope(path)
            case let error?: throw error
            }
        }
        // An agent that cannot take this client (too many clients) says why in place of its hello.
        if let refusal = try? JSONDecoder().decode(ErrorReply.self, from: helloLine) {
            channel.close(promise: nil)
            throw .refused(path: path, error: refusal.error)
        }
        guard let hello = try? JSONDecoder().decode(Hello.self, from: helloLine), hello.type == "hello",
            hello.agent == Hello.agentName
        else {
            channel.close(promise: nil)
            throw .notTaskscope(path)
        }
        guard hello.protocol == Hello.currentProtocol else {
            channel.close(promise: nil)
            throw .unsupportedProtocol(path: path, version: hello.protocol)
        }
        do {
            try hello.validate()
        } catch {
            channel.close(promise: nil)
            throw .notAnAgent(path: path, reason: error.description)
        }
        let router: NIOLoopBound<ReplyRouter>
        do {
            router = try await channel.eventLoop.submit {
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: ReplyRouter.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            channel.close(promise: nil)
            throw .disconnected(path)
        }
        return ScopeConnection(
            path: path, hello: hello, channel: channel, router: router, requestTimeout: requestTimeout)
    }

    /// Closes the connection.
    public func close() {
        channel.close(promise: nil)
    }

    // MARK: Requests

    /// Live counts by state and wait reason.
    public func summary() async throws(ScopeClientError) -> Summary {
        try await request(.summary)
    }

    /// One page of tasks, filtered and sorted by the agent.
    public func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage {
        try await request(.tasks(query))
    }

    /// One task with its parent and children.
    public func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail {
        try await request(.task(id: id))
    }

    /// Tracked channels, timers, tickers, semaphores and continuations, orphans first.
    public func resources(_ query: ResourceQuery = ResourceQuery()) async throws(ScopeClientError) -> ResourceList {
        try await request(.resources(query))
    }

    /// Live tasks grouped by wait reason, wait site and spawn site, largest first.
    public func groups(_ query: GroupQuery = GroupQuery()) async throws(ScopeClientError) -> GroupList {
        try await request(.groups(query))
    }

    /// The async call stacks of waiting tasks, grouped by stack and wait reason, largest first.
    /// Read by the agent when asked: a pass over the waiting tasks and a read of each one's chain.
    public func stacks(_ query: StackQuery = StackQuery()) async throws(ScopeClientError) -> StackList {
        try await request(.stacks(query))
    }

    /// The leak warnings, evaluated by the agent now.
    public func warnings() async throws(ScopeClientError) -> [Warning] {
        let list: WarningList = try await request(.warnings)
        return list.warnings
    }

    /// The sampler's history, the last `limit` samples (all when `nil`).
    public func history(limit: Int? = nil) async throws(ScopeClientError) -> History {
        try await request(.history(limit: limit))
    }

    /// Asks the agent to push a summary every `interval` (its sampler's interval
    /// when `nil`) and returns the pushed summaries; ends when the connection closes
    /// or ``unsubscribe()`` is called.
    public func subscribe(interval: Duration? = nil) async throws(ScopeClientError) -> AsyncStream<Summary> {
        let (stream, continuation) = AsyncStream.makeStream(of: Summary.self, bufferingPolicy: .bufferingNewest(64))
        let router = self.router
        do {
            try await channel.eventLoop.submit { router.value.setPushes(continuation) }.get()
        } catch {
            throw .disconnected(path)
        }
        let _: Subscription = try await request(.subscribe(interval: interval?.secondsValue))
        return stream
    }

    /// Stops pushed summaries.
    public func unsubscribe() async throws(ScopeClientError) {
        let _: Subscription = try await request(.unsubscribe)
        let router = self.router
        try? await channel.eventLoop.submit { router.value.setPushes(nil) }.get()
    }

    /// Sends a request and decodes its reply as `Result`.
    public func request<Result: Codable & Sendable>(
        _ request: Request, as type: Result.Type = Result.self
    ) async throws(ScopeClientError) -> Result {
        let line = try await send(request, timeout: requestTimeout, onChunk: nil)
        return try Self.decodeReply(line, as: Result.self, from: path)
    }

    /// Streams a snapshot: `onChunk` is called, on the connection's event loop
    /// and in order, with each chunk's kind (``Wire/headChunk`` first, then
    /// ``Wire/tasksChunk``s) and its JSON data, undecoded. Throwing from it
    /// abandons the snapshot; once this returns or throws, it is never called again.
    ///
    /// A snapshot whose chunks pass `maxBytes` in all ends with
    /// ``ScopeClientError/snapshotTooLarge(path:limit:)`` and closes the connection.
    public func snapshot(
        _ options: SnapshotOptions = SnapshotOptions(), maxBytes: Int = defaultMaxSnapshotBytes,
        onChunk: @escaping @Sendable (_ kind: String, _ data: ByteBufferView) throws -> Void
    ) async throws(ScopeClientError) -> SnapshotDone {
        // A snapshot may rightly take minutes, so its deadline is not the whole stream but each
        // chunk: an agent that stops sending mid-stream fails it instead of hanging the export.
        let line = try await send(.snapshot(options), timeout: requestTimeout, maxBytes: maxBytes) { kind, data in
            try onChunk(kind, data.readableBytesView)
        }
        return try Self.decodeReply(line, as: SnapshotDone.self, from: path)
    }

    /// Requests still waiting for their reply: none once every call has returned or thrown.
    func pendingRequests() async -> Int {
        let router = self.router
        return (try? await channel.eventLoop.submit { router.value.pendingCount }.get()) ?? 0
    }

    /// Sends `request` and waits for its reply. Without `onChunk`, the reply must come within
    /// `timeout`; with it, `timeout` is allowed between two chunks instead. A cancelled task
    /// stops waiting at once with ``ScopeClientError/cancelled``.
    private func send(
        _ request: Request, timeout: Duration, maxBytes: Int = .max,
        onChunk: (@Sendable (String, ByteBuffer) throws -> Void)?
    ) async throws(ScopeClientError) -> ByteBuffer {
        guard !Task.isCancelled else { throw .cancelled }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: ByteBuffer.self)
        let router = self.router
        let channel = self.channel
        let path = self.path
        let entry = ReplyRouter.Pending(
            promise: promise, onChunk: onChunk, operation: request.operation, timeout: timeout, maxBytes: maxBytes)
        loop.execute {
            router.value.expect(id: id, entry)
            channel.writeAndFlush(ByteBuffer(bytes: request.line(id: id))).whenFailure { _ in
                router.value.fail(id: id, .disconnected(path))
            }
        }
        do {
            // Both run on the loop after `expect`: the cancellation removes the entry, or finds it gone.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                loop.execute { router.value.fail(id: id, .cancelled) }
            }
        } catch let error as ScopeClientError {
            throw error
        } catch {
            throw .badReply("\(error)")
        }
    }

    /// Decodes a reply and, when its type knows its ranges, refuses numbers out of them.
    static func decodeReply<Result: Codable & Sendable>(
        _ line: ByteBuffer, as: Result.Type, from path: String
    ) throws(ScopeClientError) -> Result {
        if let envelope = try? JSONDecoderCache.decoder.decode(Envelope.self, from: line), let error = envelope.error {
            throw .server(error)
        }
        let result: Result
        do {
            result = try JSONDecoderCache.decoder.decode(Reply<Result>.self, from: line).result
        } catch {
            throw .badReply("\(error)")
        }
        do {
            try (result as? any WireValidatable)?.validate()
        } catch {
            throw .notAnAgent(path: path, reason: error.description)
        }
        return result
    }

    // MARK: Errors

    private static func checkSocketFile(_ path: String) throws(ScopeClientError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: throw .noSuchFile(path)
            case EACCES: throw .permissionDenied(path)
            default: throw .connection(path: path, reason: String(cString: strerror(errno)))
            }
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
    }

    private static func mapConnectError(_ error: any Error, path: String) -> ScopeClientError {
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return .staleSocket(path)
            case EACCES, EPERM: return .permissionDenied(path)
            case ENOENT: return .noSuchFile(path)
            default: return .connection(path: path, reason: String(cString: strerror(io.errnoCode)))
            }
        }
        if error is ChannelError { return .timedOut("connecting to \(path)") }
        return .connection(path: path, reason: "\(error)")
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : max(0, whole &+ attoseconds / 1_000_000_000)
    }

    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

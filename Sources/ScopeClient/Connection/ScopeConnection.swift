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

    /// Connects to the agent at `path` and reads its hello.
    ///
    /// - Throws: ``ScopeClientError`` naming what is wrong with the path
    ///   (missing, not a socket, stale, refused, not taskscope, wrong version).
    public static func connect(
        to path: String, timeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(30),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
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
                        try sync.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                        try sync.addHandler(ReplyRouter(helloPromise: helloPromise, path: path))
                    }
                }
                .connect(unixDomainSocketPath: path).get()
        } catch {
            helloPromise.fail(ScopeClientError.disconnected(path))
            throw mapConnectError(error, path: path)
        }
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(clamping: timeout.nanosecondsClamped))) {
            helloPromise.fail(ScopeClientError.notTaskscope(path))
        }
        let helloLine: ByteBuffer
        do {
            helloLine = try await helloPromise.futureResult.get()
            timer.cancel()
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            if case ScopeClientError.disconnected = error { throw .notTaskscope(path) }
            throw (error as? ScopeClientError) ?? .notTaskscope(path)
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
    /// abandons the snapshot.
    public func snapshot(
        _ options: SnapshotOptions = SnapshotOptions(),
        onChunk: @escaping @Sendable (_ kind: String, _ data: ByteBufferView) throws -> Void
    ) async throws(ScopeClientError) -> SnapshotDone {
        // A snapshot may rightly take minutes, so its deadline is not the whole stream but each
        // chunk: an agent that stops sending mid-stream fails it instead of hanging the export.
        let progress = StreamProgress()
        let line = try await send(.snapshot(options), timeout: requestTimeout, progress: progress) { kind, data in
            progress.advance()
            try onChunk(kind, data.readableBytesView)
        }
        return try Self.decodeReply(line, as: SnapshotDone.self, from: path)
    }

    /// Sends `request` and waits for its reply. Without `progress`, the reply must come within
    /// `timeout`; with it, `timeout` is allowed between two steps of progress instead.
    private func send(
        _ request: Request, timeout: Duration, progress: StreamProgress? = nil,
        onChunk: (@Sendable (String, ByteBuffer) throws -> Void)?
    ) async throws(ScopeClientError) -> ByteBuffer {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: ByteBuffer.self)
        let router = self.router
        let channel = self.channel
        let path = self.path
        loop.execute {
            router.value.expect(id: id, .init(promise: promise, onChunk: onChunk))
            channel.writeAndFlush(ByteBuffer(bytes: request.line(id: id))).whenFailure { _ in
                promise.fail(ScopeClientError.disconnected(path))
            }
        }
        let delay = TimeAmount.nanoseconds(Int64(clamping: timeout.nanosecondsClamped))
        let operation = request.operation
        let timer: RepeatedTask
        if let progress {
            timer = loop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { task in
                if progress.stalledSinceLastLook() {
                    promise.fail(ScopeClientError.timedOut("\(operation) from \(path) stalled for \(timeout)"))
                    task.cancel()
                }
            }
        } else {
            timer = loop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { task in
                promise.fail(ScopeClientError.timedOut("no reply to \(operation) from \(path)"))
                task.cancel()
            }
        }
        defer { timer.cancel() }
        do {
            return try await promise.futureResult.get()
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

/// Counts the chunks of a streamed reply, so a stall can be told from a long stream.
final class StreamProgress: Sendable {
    private let count = Atomic<Int>(0)
    private let countAtLastLook = Atomic<Int>(0)

    func advance() { count.add(1, ordering: .relaxed) }

    /// Whether nothing advanced since the previous call (or since the start, on the first).
    func stalledSinceLastLook() -> Bool {
        let now = count.load(ordering: .relaxed)
        return countAtLastLook.exchange(now, ordering: .relaxed) == now
    }
}

import Foundation
import NIOCore
import NIOExtras
import NIOFoundationCompat
import ScopeProtocol

/// Routes incoming lines on the client side: the hello, replies by id,
/// snapshot chunks to their consumer, and pushed summaries to the subscriber.
///
/// It owns every pending request's deadline: a reply, a timeout, a cancellation, a
/// closed connection and a cap passed each remove the request on the event loop in the
/// same step as they complete its promise, so no chunk reaches a consumer once its
/// caller has been told the request ended.
final class ReplyRouter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// A request waiting for its reply; `onChunk` receives streamed chunks first.
    struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var onChunk: (@Sendable (String, ByteBuffer) throws -> Void)?
        /// The operation's name, for the error lines.
        var operation: String
        /// Without `onChunk`, the time the reply may take; with it, the time allowed between chunks.
        var timeout: Duration
        /// The most bytes a streamed reply may bring in all.
        var maxBytes: Int = .max
        var received = 0
        /// When the request was sent, or its last chunk came.
        var lastActivity = NIODeadline.now()
        var deadline: Scheduled<Void>?
    }

    let helloPromise: EventLoopPromise<ByteBuffer>
    private let eventLoop: any EventLoop
    private var pending: [Int64: Pending] = [:]
    private var pushes: AsyncStream<Summary>.Continuation?
    private var helloReceived = false
    private let path: String
    private let maxLineBytes: Int
    /// Why the agent closed the connection, when it said (an error line with no id): every
    /// request from then on ends with it, not with a bare "closed".
    private var closedByAgent: ScopeClientError?

    init(helloPromise: EventLoopPromise<ByteBuffer>, eventLoop: any EventLoop, path: String, maxLineBytes: Int) {
        self.helloPromise = helloPromise
        self.eventLoop = eventLoop
        self.path = path
        self.maxLineBytes = maxLineBytes
    }

    /// Requests still waiting for their reply (for tests).
    var pendingCount: Int { pending.count }

    /// Registers a request and starts its deadline.
    func expect(id: Int64, _ entry: Pending) {
        if let closedByAgent { return entry.promise.fail(closedByAgent) }
        pending[id] = entry
        armDeadline(for: id)
    }

    /// Ends a request with `error`, unless it has already ended.
    func fail(id: Int64, _ error: ScopeClientError) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        entry.deadline?.cancel()
        entry.promise.fail(error == .disconnected(path) ? closedByAgent ?? error : error)
    }

    func setPushes(_ continuation: AsyncStream<Summary>.Continuation?) {
        pushes?.finish()
        pushes = continuation
    }

    /// A stream's deadline moves with each chunk, so a long snapshot lives and a stalled one
    /// ends `timeout` after its last chunk. The timer is not moved per chunk: when it fires
    /// early, it is set again for the time still left.
    private func armDeadline(for id: Int64) {
        guard let entry = pending[id] else { return }
        let due = entry.lastActivity + .nanoseconds(entry.timeout.nanosecondsClamped)
        pending[id]?.deadline = eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            guard let entry = pending[id] else { return }
            if entry.lastActivity + .nanoseconds(entry.timeout.nanosecondsClamped) > .now() {
                return armDeadline(for: id)
            }
            pending[id] = nil
            entry.promise.fail(
                ScopeClientError.timedOut(
                    entry.onChunk == nil
                        ? "no reply to \(entry.operation) from \(path)"
                        : "\(entry.operation) from \(path) stalled for \(entry.timeout)"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard helloReceived else {
            helloReceived = true
            helloPromise.succeed(line)
            return
        }
        // Chunks are routed by their fixed prefix: decoding a large chunk only to find its id would double the cost.
        if let chunk = Wire.chunkHeader(line.readableBytesView) {
            guard var entry = pending[chunk.id] else { return }
            entry.lastActivity = .now()
            entry.received += line.readableBytes
            pending[chunk.id] = entry
            guard entry.received <= entry.maxBytes else {
                // Stop the stream where it passed the cap, rather than read and drop the rest.
                fail(id: chunk.id, .snapshotTooLarge(path: path, limit: entry.maxBytes))
                context.close(promise: nil)
                return
            }
            let dataLength = line.readableBytes - chunk.dataOffset - 1
            do {
                guard dataLength >= 0, line.readableBytesView.last == UInt8(ascii: "}"),
                    let data = line.getSlice(at: line.readerIndex + chunk.dataOffset, length: dataLength)
                else {
                    throw ScopeClientError.badReply("a snapshot chunk without its closing brace")
                }
                try entry.onChunk?(chunk.kind, data)
            } catch {
                fail(id: chunk.id, (error as? ScopeClientError) ?? .badReply("\(error)"))
            }
            return
        }
        guard let envelope = try? JSONDecoderCache.decoder.decode(Envelope.self, from: line) else {
            failAll(context: context) { _ in .badReply("a line that is not a protocol message") }
            return
        }
        if envelope.id == nil, let error = envelope.error {
            // The agent's last word on this connection: it closes it after this line.
            let reason = ScopeClientError.closedByAgent(path: path, error: error)
            closedByAgent = reason
            failAll(context: context) { _ in reason }
            context.close(promise: nil)
            return
        }
        if let id = envelope.id, let entry = pending.removeValue(forKey: id) {
            entry.deadline?.cancel()
            entry.promise.succeed(line)
        } else if envelope.type == "summary", let pushes {
            // A push that does not decode, or carries numbers out of range, is dropped like a lost one.
            if let push = try? JSONDecoderCache.decoder.decode(SummaryPush.self, from: line),
                (try? push.validate()) != nil
            {
                pushes.yield(push.summary)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let path = self.path
        failAll(context: context) { entry in
            entry?.onChunk != nil ? .closedMidway(path: path, during: "snapshot") : .disconnected(path)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let path = self.path
        if error is ByteToMessageDecoderError.PayloadTooLargeError {
            let limit = maxLineBytes
            failAll(context: context) { _ in .lineTooLong(path: path, limit: limit) }
        } else if error is NIOExtrasErrors.LeftOverBytesError {
            // The connection closed with part of a line read: the process died, or closed it, mid-message.
            failAll(context: context) { entry in
                guard let entry else { return .closedMidway(path: path, during: "hello") }
                return .closedMidway(path: path, during: entry.onChunk != nil ? "snapshot" : "reply")
            }
        } else {
            failAll(context: context) { _ in .connection(path: path, reason: "\(error)") }
        }
        context.close(promise: nil)
    }

    /// Ends the hello (`nil` entry) and every pending request with the error `reason` gives for each.
    private func failAll(context: ChannelHandlerContext, _ reason: (Pending?) -> ScopeClientError) {
        if !helloReceived {
            helloReceived = true
            helloPromise.fail(reason(nil))
        }
        let entries = pending
        pending = [:]
        for entry in entries.values {
            entry.deadline?.cancel()
            entry.promise.fail(reason(entry))
        }
        pushes?.finish()
        pushes = nil
    }
}

/// `JSONDecoder` is costly to create; lines are decoded on one event loop at a time.
enum JSONDecoderCache {
    static let decoder = JSONDecoder()
}

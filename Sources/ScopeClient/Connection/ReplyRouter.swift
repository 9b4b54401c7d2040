import Foundation
import NIOCore
import NIOFoundationCompat
import ScopeProtocol

/// Routes incoming lines on the client side: the hello, replies by id,
/// snapshot chunks to their consumer, and pushed summaries to the subscriber.
final class ReplyRouter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// A request waiting for its reply; `onChunk` receives streamed chunks first.
    struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var onChunk: (@Sendable (String, ByteBuffer) throws -> Void)?
    }

    let helloPromise: EventLoopPromise<ByteBuffer>
    private var pending: [Int64: Pending] = [:]
    private var pushes: AsyncStream<Summary>.Continuation?
    private var helloReceived = false
    private let path: String

    init(helloPromise: EventLoopPromise<ByteBuffer>, path: String) {
        self.helloPromise = helloPromise
        self.path = path
    }

    func expect(id: Int64, _ entry: Pending) { pending[id] = entry }

    func setPushes(_ continuation: AsyncStream<Summary>.Continuation?) {
        pushes?.finish()
        pushes = continuation
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
            guard let entry = pending[chunk.id] else { return }
            let dataLength = line.readableBytes - chunk.dataOffset - 1
            do {
                guard dataLength >= 0, line.readableBytesView.last == UInt8(ascii: "}"),
                    let data = line.getSlice(at: line.readerIndex + chunk.dataOffset, length: dataLength)
                else {
                    throw ScopeClientError.badReply("a snapshot chunk without its closing brace")
                }
                try entry.onChunk?(chunk.kind, data)
            } catch {
                pending[chunk.id] = nil
                entry.promise.fail(error)
            }
            return
        }
        guard let envelope = try? JSONDecoderCache.decoder.decode(Envelope.self, from: line) else {
            failAll(ScopeClientError.badReply("a line that is not a protocol message"), context: context)
            return
        }
        if let id = envelope.id, let entry = pending.removeValue(forKey: id) {
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
        failAll(ScopeClientError.disconnected(path), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(ScopeClientError.connection(path: path, reason: "\(error)"), context: context)
        context.close(promise: nil)
    }

    private func failAll(_ error: ScopeClientError, context: ChannelHandlerContext) {
        if !helloReceived {
            helloReceived = true
            helloPromise.fail(error)
        }
        let entries = pending
        pending = [:]
        for entry in entries.values { entry.promise.fail(error) }
        pushes?.finish()
        pushes = nil
    }
}

/// `JSONDecoder` is costly to create; lines are decoded on one event loop at a time.
enum JSONDecoderCache {
    static let decoder = JSONDecoder()
}

import NIOCore
import ScopeProtocol

/// Tells a client the agent serves too many already, in one error line, and closes it.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let cap: Int

    init(cap: Int) { self.cap = cap }

    func channelActive(context: ChannelHandlerContext) {
        let error = ErrorReply(
            id: nil,
            error: .init(.tooManyClients, "the agent serves \(cap) clients at most; try again when one has gone"))
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Wire.line(error)))).assumeIsolated().whenComplete {
            _ in context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

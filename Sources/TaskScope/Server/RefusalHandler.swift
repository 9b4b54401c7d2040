import NIOCore
import ScopeProtocol

/// Tells a client the agent cannot take it (`too-many-clients`), in one error line, and closes it.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let message: String

    init(message: String) { self.message = message }

    func channelActive(context: ChannelHandlerContext) {
        let error = ErrorReply(id: nil, error: .init(.tooManyClients, message))
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Wire.line(error)))).assumeIsolated().whenComplete {
            _ in context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

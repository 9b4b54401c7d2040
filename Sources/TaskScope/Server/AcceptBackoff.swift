import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops accepting for a while when the process is out of descriptors (or memory), instead
/// of retrying at once.
///
/// NIO's own `AcceptBackoffHandler`, which `ServerBootstrap` installs, delays the next read
/// request, but after a failed accept the listening socket stays registered for reading, so
/// with a connection waiting the event loop retries `accept` some 16,000 times a second. This
/// handler turns reading off (which unregisters the socket) and back on after ``delay``.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = Channel

    /// How long accepting pauses after an accept failed for want of a resource.
    static let delay = TimeAmount.milliseconds(250)

    private let logger: Logger
    private var resume: Scheduled<Void>?
    /// Set once a pause is logged, until a client is accepted again: one line per shortage.
    private var logged = false

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode), resume == nil {
            if !logged {
                logged = true
                logger.warning(
                    "taskscope cannot accept clients: the process is out of descriptors or memory; pausing",
                    metadata: ["error": "\(error)", "pause": "\(Self.delay)"])
            }
            try? context.channel.syncOptions?.setOption(.autoRead, value: false)
            resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.delay) {
                self.resume = nil
                try? context.channel.syncOptions?.setOption(.autoRead, value: true)
            }
        }
        context.fireErrorCaught(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        logged = false
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}

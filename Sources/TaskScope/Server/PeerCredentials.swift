import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who is on the other end of a connection: only this user (or root) may attach.
enum PeerCredentials {
    /// Succeeds with `true` when the peer's uid is ours or root's, `false` (logged) otherwise.
    static func check(_ channel: any Channel, logger: Logger) -> EventLoopFuture<Bool> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(true)
        }
        let future: EventLoopFuture<UnixCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { credentials in
            let ours = geteuid()
            guard credentials.uid == ours || credentials.uid == 0 else {
                logger.warning(
                    "taskscope refused a connection from another user",
                    metadata: ["peer_uid": "\(credentials.uid)", "peer_pid": "\(credentials.pid)"])
                return false
            }
            return true
        }
        #else
        return channel.eventLoop.makeSucceededFuture(true)
        #endif
    }
}

/// The layout of Linux's `struct ucred`, which Swift's Glibc module does not
/// import (it sits behind `_GNU_SOURCE`).
struct UnixCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

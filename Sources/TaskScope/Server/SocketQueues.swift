import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The bytes the kernel holds that the agent wrote to a connection and its peer has not
/// read yet: nothing once the peer has read everything it was sent.
///
/// Read with one `getsockopt(SO_MEMINFO)` (Linux 4.12 and later): for a unix socket the
/// kernel charges each unread message to its sender until it is read, so the sender's write
/// allocation is zero exactly when the peer has read all of it. The count includes the
/// kernel's own overhead per message, so it says whether, not exactly how much.
enum SocketQueues {
    /// Bytes (and their overhead) written to `channel` and not yet read by its peer; `nil`
    /// where the kernel cannot say. On the channel's event loop only.
    static func unreadByPeer(_ channel: any Channel) -> Int? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        var unread: Int?
        // On the channel's loop the option is read at once and the future is already complete,
        // so its callback runs here, before this returns.
        let future: EventLoopFuture<MemoryInfo> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: Self.memoryInfoOption)
        future.assumeIsolated().whenSuccess { unread = Int($0.2) }
        return unread
        #else
        return nil
        #endif
    }

    /// `SK_MEMINFO_VARS` counters, of which the third (`SK_MEMINFO_WMEM_ALLOC`) is the write allocation.
    private typealias MemoryInfo = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// `SO_MEMINFO` from `asm-generic/socket.h`, which Glibc's module does not export.
    private static let memoryInfoOption = SocketOptionName(55)
}

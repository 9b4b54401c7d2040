import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A unix socket server that is not a taskscope agent: it accepts, optionally
/// sends a greeting, and then says nothing. For testing how clients tell.
public final class FakeServer: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let thread: Thread

    public init(path: String, greeting: String?) throws {
        self.path = path
        fd = try FakeServer.bound(path)
        listen(fd, 16)
        let fd = self.fd
        thread = Thread {
            var clients: [Int32] = []
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { break }
                clients.append(client)
                if let greeting { _ = greeting.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
            }
            clients.forEach { close($0) }
        }
        thread.start()
    }

    /// Binds a socket file at `path` and closes it without listening: a stale socket.
    public static func bindOnly(_ path: String) throws {
        close(try bound(path))
    }

    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    private static func bound(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let result = withUnixAddress(path) { bind(fd, $0, $1) }
        guard result == 0 else {
            throw RawLineClient.Failure(description: "bind \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A unix socket server that is not a taskscope agent: it accepts, optionally
/// sends a greeting, and then says nothing, answers every line it reads with
/// `answer`, or plays `script` with each client on a thread of its own. For testing
/// how clients tell, and what they do with nonsense.
public final class FakeServer: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let thread: Thread
    private let stopped = Atomic<Bool>(false)

    /// With a `script`, the script owns the client's descriptor (a ``FakePeer``) and closes it when it returns.
    public init(
        path: String, greeting: String?, answer: String? = nil, script: (@Sendable (FakePeer) -> Void)? = nil
    ) throws {
        self.path = path
        fd = try FakeServer.bound(path)
        listen(fd, 16)
        let fd = self.fd
        thread = Thread {
            var clients: [Int32] = []
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { break }
                if let greeting { FakeServer.send(greeting, to: client) }
                if let script {
                    Thread.detachNewThread {
                        let peer = FakePeer(fd: client)
                        script(peer)
                        peer.close()
                    }
                    continue
                }
                clients.append(client)
                if let answer { Thread.detachNewThread { FakeServer.answerEveryLine(of: client, with: answer) } }
            }
            clients.forEach { close($0) }
        }
        thread.start()
    }

    /// The hello of an agent speaking protocol `version`, started at `started` (JSON text, so
    /// that a test can send what no `Double` literal reads back the same, like `1e300`).
    public static func agentHello(protocol version: Int, started: String = "0") -> String {
        #"{"type":"hello","protocol":\#(version),"agent":"taskscope","agentVersion":"1","pid":1,"process":"p","#
            + #""started":\#(started),"interval":1,"maxLineBytes":1048576}"# + "\n"
    }

    /// A `summary` reply to a connection's first request (id 1), up for `uptime` (JSON text).
    public static func summaryReply(uptime: String) -> String {
        #"{"id":1,"result":{"pid":1,"process":"p","capturedAt":0,"uptime":\#(uptime),"#
            + #""tasks":{"active":0,"waiting":0,"finished":0},"#
            + #""totals":{"spawned":0,"completed":0,"cancelled":0,"failed":0},"waits":{},"interval":1}}"# + "\n"
    }

    private static func send(_ text: String, to client: Int32) {
        _ = text.withCString { Glibc.send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    private static func answerEveryLine(of client: Int32, with answer: String) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            for _ in chunk[..<count].filter({ $0 == UInt8(ascii: "\n") }) { send(answer, to: client) }
        }
    }

    /// Binds a socket file at `path` and closes it without listening: a stale socket.
    public static func bindOnly(_ path: String) throws {
        close(try bound(path))
    }

    /// Stops listening and removes the socket file. Safe to call twice: closing the descriptor
    /// twice would close whatever another test opened under the same number meanwhile.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
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

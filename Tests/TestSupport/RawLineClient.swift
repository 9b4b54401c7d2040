import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately dumb protocol client for tests: a blocking unix socket that
/// writes raw bytes and reads raw lines, as `socat` would.
///
/// From async code its reads are `async`: a read that has to wait for the peer waits on a
/// thread of its own, never on one of the few threads that run every task of the suite
/// (a blocked one holds up every other test running alongside). One task uses a client
/// at a time, which is what makes it `Sendable`.
public final class RawLineClient: @unchecked Sendable {
    public let fd: Int32
    private var pending: [UInt8] = []

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Connects to `path`; reads time out after `timeout` seconds.
    public init(path: String, timeout: Double = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let result = withUnixAddress(path) { connect(fd, $0, $1) }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect \(path): \(reason)")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Writes bytes as they are.
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Writes a string followed by a newline.
    public func send(_ line: String) throws {
        try write(Array((line + "\n").utf8))
    }

    /// Reads one line (without its newline); `nil` at end of stream.
    public func readLine() throws -> String? {
        while true {
            if let line = takeBufferedLine() { return line }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            // A peer that closes with our bytes unread resets the connection: an end all the same.
            if count == 0 || (count < 0 && errno == ECONNRESET) { return nil }
            guard count > 0 else { throw Failure(description: "read: \(String(cString: strerror(errno)))") }
            pending.append(contentsOf: chunk[..<count])
        }
    }

    /// Reads one line and parses it as a JSON object.
    public func readObject() throws -> [String: Any] {
        guard let line = try readLine() else { throw Failure(description: "connection closed") }
        return try Self.object(line)
    }

    /// The next complete line already received, if there is one.
    private func takeBufferedLine() -> String? {
        guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        return line
    }

    private static func object(_ line: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Failure(description: "not a JSON object: \(line)")
        }
        return object
    }

    /// Sends a request line and returns the next line parsed.
    public func request(_ line: String) throws -> [String: Any] {
        try send(line)
        return try readObject()
    }

    /// Whether the peer closes the connection: reads (and drops) lines until end
    /// of stream (true) or until a read times out or fails (false).
    public func isClosedByPeer() -> Bool {
        while true {
            do {
                guard try readLine() != nil else { return true }
            } catch {
                return false
            }
        }
    }
}

extension RawLineClient {
    /// Reads one line (without its newline); `nil` at end of stream. A line already received
    /// is returned at once; waiting for more happens on a thread of its own.
    public func readLine() async throws -> String? {
        if let line = takeBufferedLine() { return line }
        return try await onOwnThread { try self.readLine() }
    }

    /// Reads one line and parses it as a JSON object.
    public func readObject() async throws -> [String: Any] {
        guard let line = try await readLine() else { throw Failure(description: "connection closed") }
        return try Self.object(line)
    }

    /// Sends a request line and returns the next line parsed.
    public func request(_ line: String) async throws -> [String: Any] {
        try send(line)
        return try await readObject()
    }

    /// Whether the peer closes the connection (see the blocking ``isClosedByPeer()``).
    public func isClosedByPeer() async -> Bool {
        (try? await onOwnThread { self.isClosedByPeer() }) ?? false
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One client of a scripted ``FakeServer``, seen from the server: blocking reads of lines,
/// writes that report whether the client still reads, and a count of what was sent.
public final class FakePeer: Sendable {
    private let fd: Int32
    private let closed = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)

    init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Bytes written to the client so far.
    public var bytesSent: Int { sent.load(ordering: .relaxed) }

    /// Reads up to and without the next newline; nil once the client has closed.
    public func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }

    /// Writes all of `text`; false once the client has gone.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Writes all of `bytes`; false once the client has gone.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            offset += count
            sent.add(count, ordering: .relaxed)
        }
        return true
    }

    /// Sends `block` until the client stops reading (closes); returns the bytes sent.
    @discardableResult
    public func sendForever(_ block: [UInt8]) -> Int {
        while send(block) {}
        return bytesSent
    }

    /// Closes the connection. Safe to call twice.
    public func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        Glibc.close(fd)
    }
}

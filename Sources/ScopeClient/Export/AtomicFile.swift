import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Somewhere bytes are written to: a file or standard output.
public protocol ByteSink: AnyObject, Sendable {
    /// Appends bytes.
    func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError)
}

/// A file written under a temporary name in the target's directory and
/// renamed over the target only when complete, so that a reader (or a crash,
/// or a full disk) never sees half a file under the target name.
///
/// A target that is a symbolic link keeps being one: the file it points at is
/// replaced. A target that exists and is not a regular file (a FIFO, a device
/// such as `/dev/stdout`) is written into as it is, since it cannot be replaced.
public final class AtomicFile: ByteSink, @unchecked Sendable {
    /// The path the file will have once committed, as given.
    public let path: String
    /// Where the bytes go until committed: a temporary file, or the target itself when
    /// it is not a regular file.
    private let writingPath: String
    private let replaces: Bool
    /// The file replaced at commit: `path`, or where its symbolic links lead.
    private let target: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20

    /// Creates the temporary file now, so an unwritable destination fails
    /// before any work is done.
    public init(path: String) throws(ScopeClientError) {
        self.path = path
        let target = AtomicFile.resolvingLinks(path)
        self.target = target
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        guard !name.isEmpty else { throw .file(path: path, reason: "not a file name") }
        var info = stat()
        let exists = stat(target, &info) == 0
        if exists, (info.st_mode & S_IFMT) == S_IFDIR { throw .file(path: path, reason: "is a directory") }
        if exists, (info.st_mode & S_IFMT) != S_IFREG {
            // A device or a pipe: written into, never replaced.
            replaces = false
            writingPath = target
            descriptor = open(target, O_WRONLY | O_CLOEXEC)
        } else {
            replaces = true
            let base = directory.isEmpty ? "." : directory
            writingPath = "\(base)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            descriptor = open(writingPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            // A file replaced keeps its permissions.
            if descriptor >= 0, exists { _ = fchmod(descriptor, info.st_mode & 0o7777) }
        }
        guard descriptor >= 0 else {
            throw .file(path: path, reason: "cannot write here: \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    /// The path a chain of symbolic links at `path` ends at (`path` itself when it is none).
    private static func resolvingLinks(_ path: String) -> String {
        var current = path
        for _ in 0..<32 {
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else {
                return current
            }
            current =
                destination.hasPrefix("/")
                ? destination
                : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(destination)
        }
        return current
    }

    deinit { abandon() }

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    /// Writes what is buffered, syncs the file to disk and renames it over the target.
    public func commit() throws(ScopeClientError) {
        try flush()
        guard replaces else {
            close(descriptor)
            descriptor = -1
            return
        }
        guard fsync(descriptor) == 0 else {
            let error = failure("cannot sync")
            abandon()
            throw error
        }
        close(descriptor)
        descriptor = -1
        guard rename(writingPath, target) == 0 else {
            let error = failure("cannot rename into place")
            unlink(writingPath)
            throw error
        }
    }

    /// Removes the temporary file; the target is left as it was.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        if replaces { unlink(writingPath) }
    }

    private func flush() throws(ScopeClientError) {
        if !writeAll(buffer, to: descriptor) {
            let error = failure("cannot write")
            abandon()
            throw error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func failure(_ what: String) -> ScopeClientError {
        .file(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// Standard output as a ``ByteSink``, written unbuffered with `write(2)`.
///
/// A reader that went away (`EPIPE`: `taskscope snapshot PID | head`) is
/// ``ScopeClientError/outputClosed(_:)``, which the CLI ends on quietly; any other
/// failure (a full disk, `/dev/full`) is ``ScopeClientError/file(path:reason:)``.
/// `SIGPIPE` must be ignored for `EPIPE` to arrive instead of the signal.
public final class StandardOutput: ByteSink, @unchecked Sendable {
    private let descriptor: Int32

    /// Standard output, or another descriptor (for tests).
    public init(descriptor: Int32 = STDOUT_FILENO) { self.descriptor = descriptor }

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        guard !writeAll(Array(bytes), to: descriptor) else { return }
        if errno == EPIPE { throw .outputClosed("standard output") }
        throw .file(path: "standard output", reason: "cannot write: \(String(cString: strerror(errno)))")
    }

    /// Writes `text` as UTF-8.
    public func write(_ text: String) throws(ScopeClientError) {
        try write(Array(text.utf8))
    }
}

/// Writes every byte of `bytes` to `descriptor`, retrying short writes and `EINTR`; false
/// (with `errno` saying why) when a write fails.
private func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { raw in write(descriptor, raw.baseAddress! + offset, raw.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}

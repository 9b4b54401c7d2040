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
public final class AtomicFile: ByteSink, @unchecked Sendable {
    /// The path the file will have once committed.
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20

    /// Creates the temporary file now, so an unwritable destination fails
    /// before any work is done.
    public init(path: String) throws(ScopeClientError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        guard !name.isEmpty else { throw .file(path: path, reason: "not a file name") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .file(path: path, reason: "is a directory")
        }
        let base = directory.isEmpty ? "." : directory
        temporaryPath = "\(base)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .file(path: path, reason: "cannot write here: \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try flush() }
    }

    /// Writes what is buffered, syncs the file to disk and renames it over the target.
    public func commit() throws(ScopeClientError) {
        try flush()
        guard fsync(descriptor) == 0 else { throw failure("cannot sync") }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let error = failure("cannot rename into place")
            unlink(temporaryPath)
            throw error
        }
    }

    /// Removes the temporary file; the target is left as it was.
    public func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    private func flush() throws(ScopeClientError) {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { raw in
                systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                let error = failure("cannot write")
                abandon()
                throw error
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func failure(_ what: String) -> ScopeClientError {
        .file(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// Standard output as a ``ByteSink``.
public final class StandardOutput: ByteSink, @unchecked Sendable {
    public init() {}

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        let data = Data(bytes)
        do {
            try FileHandle.standardOutput.write(contentsOf: data)
        } catch {
            throw .file(path: "standard output", reason: "\(error.localizedDescription)")
        }
    }
}

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

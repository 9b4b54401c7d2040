import Foundation
import Synchronization

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
/// such as `/dev/stdout`) is written into as it is, since it cannot be replaced;
/// a FIFO nobody reads is refused after ``readerGrace`` rather than waited on for ever.
///
/// The temporary name is `.<name>.taskscope-tmp-<pid>-<random>`: creating one removes those
/// that processes now dead left in the same directory (killed before they could clean up) and
/// that nobody has written for ``staleAge``: a pid that is not running here may be a live
/// export in another pid namespace sharing the directory, and that one keeps writing.
/// Its state is behind a lock, so ``abandon()`` may come from a signal watcher while
/// another thread writes.
public final class AtomicFile: ByteSink {
    /// The path the file will have once committed, as given.
    public let path: String
    /// Where the bytes go until committed: a temporary file, or the target itself when
    /// it is not a regular file.
    private let writingPath: String
    private let replaces: Bool
    /// The file replaced at commit: `path`, or where its symbolic links lead.
    private let target: String
    private let state: Mutex<State>
    private static let bufferLimit = 1 << 20

    private struct State {
        var descriptor: Int32
        var buffer: [UInt8] = []
    }

    /// Creates the temporary file now, so an unwritable destination fails
    /// before any work is done.
    public init(path: String) throws(ScopeClientError) {
        self.path = path
        var info = stat()
        let exists = stat(path, &info) == 0
        if exists, (info.st_mode & S_IFMT) == S_IFDIR { throw .file(path: path, reason: "is a directory") }
        let descriptor: Int32
        if exists, (info.st_mode & S_IFMT) != S_IFREG {
            // A device or a pipe: written into, never replaced. Opened by the name given, since
            // `/dev/stdout` leads to `/proc/self/fd/1` and on to `pipe:[…]`, which no path names.
            // Opening a FIFO blocks until it has a reader, for ever if none comes: opened without
            // blocking, no reader is ENXIO, retried for a moment (`cat fifo &` may not have
            // opened it yet) and then refused.
            replaces = false
            target = path
            writingPath = path
            let isFIFO = (info.st_mode & S_IFMT) == S_IFIFO
            descriptor = AtomicFile.openWaitingForReader(path, grace: isFIFO ? Self.readerGrace : .zero)
            if descriptor < 0, errno == ENXIO, isFIFO {
                throw .file(path: path, reason: "no process is reading this FIFO")
            }
        } else {
            replaces = true
            let target = AtomicFile.resolvingLinks(path)
            self.target = target
            let directory = (target as NSString).deletingLastPathComponent
            let name = (target as NSString).lastPathComponent
            guard !name.isEmpty else { throw .file(path: path, reason: "not a file name") }
            let base = directory.isEmpty ? "." : directory
            AtomicFile.sweepStale(in: base)
            writingPath = "\(base)/.\(name)\(Self.temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            descriptor = open(writingPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            // A file replaced keeps its permissions.
            if descriptor >= 0, exists { _ = fchmod(descriptor, info.st_mode & 0o7777) }
        }
        guard descriptor >= 0 else {
            throw .file(path: path, reason: "cannot write here: \(String(cString: strerror(errno)))")
        }
        var state = State(descriptor: descriptor)
        state.buffer.reserveCapacity(Self.bufferLimit)
        self.state = Mutex(state)
    }

    /// How long a FIFO may take to get a reader.
    static let readerGrace: Duration = .seconds(2)

    /// Opens `path` for writing without blocking, retrying while it is a FIFO with no reader
    /// for at most `grace`; the descriptor is made blocking again for the writes.
    private static func openWaitingForReader(_ path: String, grace: Duration) -> Int32 {
        let deadline = ContinuousClock.now + grace
        while true {
            let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
            if descriptor >= 0 {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
                return descriptor
            }
            let error = errno
            guard error == ENXIO, ContinuousClock.now < deadline else {
                errno = error
                return -1
            }
            usleep(10_000)
        }
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

    /// What sets a temporary file's name apart: `.<name>` + this + `<pid>-<random>`.
    static let temporaryMarker = ".taskscope-tmp-"

    /// How long a dead process's temporary file must have gone unwritten before a sweep removes it.
    static let staleAge: Duration = .seconds(60)

    /// Removes the temporary files of this user that processes no longer running left in `directory`
    /// and that nobody has written for ``staleAge``.
    /// Cost: one directory listing, and a `kill(pid, 0)` per temporary file found.
    static func sweepStale(in directory: String, now: time_t = time(nil)) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            guard let pid = temporaryFileOwner(name), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let stale = "\(directory)/\(name)"
            var info = stat()
            guard lstat(stale, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid(),
                now - info.st_mtim.tv_sec >= Int(Self.staleAge.components.seconds)
            else { continue }
            unlink(stale)
        }
    }

    /// The pid in a temporary file's name, `.<name>.taskscope-tmp-<pid>-<random>`; nil for any other name.
    static func temporaryFileOwner(_ name: String) -> Int32? {
        guard name.hasPrefix("."), let marker = name.range(of: Self.temporaryMarker, options: .backwards),
            marker.lowerBound > name.index(after: name.startIndex)
        else { return nil }
        let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let pid = Int32(parts[0]), pid > 0, UInt32(parts[1]) != nil
        else { return nil }
        return pid
    }

    deinit { abandon() }

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        try state.withLock { state throws(ScopeClientError) in
            guard state.descriptor >= 0 else { throw .file(path: path, reason: "already closed") }
            state.buffer.append(contentsOf: bytes)
            if state.buffer.count >= Self.bufferLimit { try flush(&state) }
        }
    }

    /// Writes what is buffered, syncs the file to disk and renames it over the target.
    public func commit() throws(ScopeClientError) {
        try state.withLock { state throws(ScopeClientError) in
            guard state.descriptor >= 0 else { throw .file(path: path, reason: "already closed") }
            try flush(&state)
            guard replaces else {
                close(state.descriptor)
                state.descriptor = -1
                return
            }
            guard fsync(state.descriptor) == 0 else {
                let error = failure("cannot sync")
                abandon(&state)
                throw error
            }
            close(state.descriptor)
            state.descriptor = -1
            guard rename(writingPath, target) == 0 else {
                let error = failure("cannot rename into place")
                unlink(writingPath)
                throw error
            }
        }
    }

    /// Removes the temporary file; the target is left as it was. Safe to call twice, and
    /// from any thread: a write after it fails.
    public func abandon() {
        state.withLock { abandon(&$0) }
    }

    private func abandon(_ state: inout State) {
        guard state.descriptor >= 0 else { return }
        close(state.descriptor)
        state.descriptor = -1
        if replaces { unlink(writingPath) }
    }

    private func flush(_ state: inout State) throws(ScopeClientError) {
        if !writeAll(state.buffer, to: state.descriptor) {
            let error = failure("cannot write")
            abandon(&state)
            throw error
        }
        state.buffer.removeAll(keepingCapacity: true)
    }

    private func failure(_ what: String) -> ScopeClientError {
        .file(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// Standard output as a ``ByteSink``, written unbuffered with `write(2)`.
///
/// A reader that went away (`EPIPE`: `taskscope snapshot PID | head`) is
/// ``ScopeClientError/outputClosed(_:)``, which the CLI ends on quietly; any other
/// failure (a full disk, `/dev/full`) is ``ScopeClientError/standardOutput(reason:)``.
/// `SIGPIPE` must be ignored for `EPIPE` to arrive instead of the signal.
public final class StandardOutput: ByteSink {
    private let descriptor: Int32

    /// Standard output, or another descriptor (for tests).
    public init(descriptor: Int32 = STDOUT_FILENO) { self.descriptor = descriptor }

    public func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) {
        guard !writeAll(Array(bytes), to: descriptor) else { return }
        if errno == EPIPE { throw .outputClosed("standard output") }
        throw .standardOutput(reason: String(cString: strerror(errno)).lowercased())
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

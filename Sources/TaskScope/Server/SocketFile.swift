#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system side of the agent's socket: its private directory, and
/// what to do about whatever already sits at the socket's path.
enum SocketFile {
    /// Makes sure `directory` exists, creating it (and missing parents) with mode 0700.
    ///
    /// With `owned`, the directory is taskscope's own: it must belong to this
    /// user and is made 0700 if it is more open. Without, it is a directory the
    /// user chose for one socket (`$TASKSCOPE_SOCKET`), perhaps shared like
    /// `/tmp` or `$HOME`, and is left as it is: the socket's own mode protects it.
    static func prepareDirectory(_ directory: String, owned: Bool) throws(TaskScopeError) {
        var info = stat()
        // taskscope's own directory must not be a symbolic link; one the user chose may be (`/var/run`).
        let inspect: (String, inout stat) -> Int32 = owned ? { lstat($0, &$1) } : { stat($0, &$1) }
        if inspect(directory, &info) != 0 {
            guard errno == ENOENT else { throw failure("cannot inspect socket directory \(directory)") }
            let parent = parentDirectory(of: directory)
            if parent != directory, access(parent, F_OK) != 0 {
                try createParents(parent)
            }
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw failure("cannot create socket directory \(directory)")
            }
            guard inspect(directory, &info) == 0 else { throw failure("cannot inspect socket directory \(directory)") }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw TaskScopeError("socket directory \(directory) exists but is not a directory (or is a symbolic link)")
        }
        guard owned else { return }
        guard info.st_uid == geteuid() else {
            throw TaskScopeError(
                "socket directory \(directory) belongs to uid \(info.st_uid), not to this process's uid \(geteuid())")
        }
        if info.st_mode & 0o077 != 0, chmod(directory, 0o700) != 0 {
            throw failure("cannot make socket directory \(directory) private (mode 0700)")
        }
    }

    /// Clears the way for a new socket at `path`: nothing there is fine; a
    /// stale socket of ours (nobody listening) is removed; anything else is left
    /// alone and reported.
    static func clearStale(_ path: String) throws(TaskScopeError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw failure("cannot inspect \(path)")
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw TaskScopeError("\(path) exists and is not a socket; not removing it")
        }
        guard info.st_uid == geteuid() else {
            throw TaskScopeError("\(path) is a socket of uid \(info.st_uid); not removing it")
        }
        if isListening(path) {
            throw TaskScopeError("another process is already serving on \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("cannot remove stale socket \(path)") }
    }

    /// Whether something accepts connections on the unix socket at `path`.
    static func isListening(_ path: String) -> Bool {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let fits = path.utf8.count < capacity
        guard fits else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// The device and inode of the file at `path`, to tell later whether it is still ours.
    static func identity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Removes the socket at `path` only if it is still the one we bound.
    static func remove(_ path: String, ifStill identity: FileIdentity?) {
        guard let identity, SocketFile.identity(path) == identity else { return }
        unlink(path)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func createParents(_ directory: String) throws(TaskScopeError) {
        let parent = parentDirectory(of: directory)
        if parent != directory, access(parent, F_OK) != 0 { try createParents(parent) }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw failure("cannot create directory \(directory)")
        }
    }

    private static func failure(_ what: String) -> TaskScopeError {
        TaskScopeError("\(what): \(String(cString: strerror(errno)))")
    }
}

/// A file's identity on disk.
struct FileIdentity: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
}

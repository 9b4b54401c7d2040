import Foundation
import ScopeProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One attachable process, as `taskscope list` shows it.
public struct AttachableProcess: Codable, Sendable, Hashable {
    public var pid: Int32
    public var process: String
    public var socket: String
    /// Seconds since the agent started.
    public var uptime: Double
    /// Tracked tasks that have not finished.
    public var liveTasks: Int
    public var agentVersion: String
}

/// What a scan of the socket directory found.
public struct Discovery: Sendable {
    /// Processes that answered, by pid.
    public var processes: [AttachableProcess] = []
    /// Stale sockets (nobody listening) that were removed.
    public var removedStale: [String] = []
    /// Sockets that could not be read, with the reason.
    public var problems: [(path: String, error: ScopeClientError)] = []
    /// The directory that was scanned.
    public var directory: String
}

/// Finds the agents of this user: every socket in the socket directory (and
/// `$TASKSCOPE_SOCKET`), asking each for its hello and summary, and removing
/// the stale ones nobody listens on.
///
/// The directory is trusted on the agent's own terms: a real directory (not a symbolic
/// link) owned by this user. Any other is skipped, with the reason in ``Discovery/problems``,
/// so that root listing in a directory another user owns does not talk to that user's sockets.
public enum ProcessDiscovery {
    /// Scans for attachable processes. Cost: one short connection per socket, in parallel.
    public static func scan(
        location: SocketLocation = SocketLocation(), timeout: Duration = .seconds(2)
    ) async
        -> Discovery
    {
        var discovery = Discovery(directory: location.directory)
        var paths: [String] = []
        do {
            paths = try socketPaths(in: location.directory)
        } catch {
            discovery.problems.append((location.directory, error))
        }
        if let explicit = location.explicitSocket, !paths.contains(explicit), access(explicit, F_OK) == 0 {
            paths.append(explicit)
        }
        let results = await withTaskGroup(of: (String, Result<AttachableProcess, ScopeClientError>).self) { group in
            for path in paths {
                group.addTask { (path, await probe(path, timeout: timeout)) }
            }
            var results: [(String, Result<AttachableProcess, ScopeClientError>)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (path, result) in results.sorted(by: { $0.0 < $1.0 }) {
            switch result {
            case .success(let process):
                discovery.processes.append(process)
            case .failure(.staleSocket):
                if removeStale(path) {
                    discovery.removedStale.append(path)
                } else {
                    discovery.problems.append((path, .staleSocket(path)))
                }
            case .failure(let error):
                discovery.problems.append((path, error))
            }
        }
        discovery.processes.sort { $0.pid < $1.pid }
        return discovery
    }

    private static func probe(_ path: String, timeout: Duration) async -> Result<AttachableProcess, ScopeClientError> {
        do {
            let connection = try await ScopeConnection.connect(to: path, timeout: timeout, requestTimeout: timeout)
            defer { connection.close() }
            let summary = try await connection.summary()
            let hello = connection.hello
            return .success(
                AttachableProcess(
                    pid: hello.pid, process: hello.process, socket: path, uptime: summary.uptime,
                    liveTasks: summary.tasks.live, agentVersion: hello.agentVersion))
        } catch {
            return .failure(error)
        }
    }

    /// The socket paths in `directory`: none when it does not exist; an error when it is not
    /// this user's own directory or cannot be read.
    static func socketPaths(in directory: String) throws(ScopeClientError) -> [String] {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            switch errno {
            case ENOENT: return []
            case EACCES: throw .permissionDenied(directory)
            default: throw .file(path: directory, reason: String(cString: strerror(errno)))
            }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .file(path: directory, reason: "not a directory (or a symbolic link); no sockets trusted there")
        }
        guard info.st_uid == geteuid() else { throw .untrustedDirectory(path: directory, owner: info.st_uid) }
        guard access(directory, R_OK | X_OK) == 0 else { throw .permissionDenied(directory) }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw .file(path: directory, reason: "cannot read the directory")
        }
        return names.filter { $0.hasSuffix(SocketLocation.socketSuffix) }.sorted().map { "\(directory)/\($0)" }
    }

    /// Removes a socket nobody listens on, if it is a socket of this user.
    static func removeStale(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK, info.st_uid == geteuid() else {
            return false
        }
        return unlink(path) == 0
    }
}

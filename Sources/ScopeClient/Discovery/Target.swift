import Foundation
import ScopeProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a user names on the command line to reach an agent: a pid or a socket path.
public enum Target: Sendable, Hashable, CustomStringConvertible {
    case pid(Int32)
    case socket(String)

    /// Reads `PID|SOCKET`: all digits is a pid, anything else a path.
    public init(parsing text: String) {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let pid = Int32(text) {
            self = .pid(pid)
        } else {
            self = .socket(text)
        }
    }

    public var description: String {
        switch self {
        case .pid(let pid): "pid \(pid)"
        case .socket(let path): path
        }
    }

    /// The socket path to connect to.
    ///
    /// - Throws: ``ScopeClientError/noSuchProcess(_:)`` when no process has the
    ///   pid, ``ScopeClientError/noAgent(pid:path:)`` when it has no socket,
    ///   ``ScopeClientError/permissionDenied(_:)`` when this user may not look.
    public func socketPath(location: SocketLocation = SocketLocation()) throws(ScopeClientError) -> String {
        switch self {
        case .socket(let path):
            return path
        case .pid(let pid):
            let path = location.defaultSocketPath(forPID: pid)
            if access(path, F_OK) == 0 { return path }
            // A directory this user may not search hides whether the socket exists: say so, not "no agent".
            let hidden = errno == EACCES
            if let explicit = location.explicitSocket, access(explicit, F_OK) == 0 {
                return explicit
            }
            if hidden { throw .permissionDenied(path) }
            guard Target.processExists(pid) else { throw .noSuchProcess(pid) }
            throw .noAgent(pid: pid, path: path)
        }
    }

    /// Connects to the target, removing its socket if it turns out to be stale.
    public func connect(location: SocketLocation = SocketLocation()) async throws(ScopeClientError) -> ScopeConnection {
        let path = try socketPath(location: location)
        let connection: ScopeConnection
        do {
            connection = try await ScopeConnection.connect(to: path)
        } catch .staleSocket(let stale) where ProcessDiscovery.removeStale(stale) {
            throw .staleSocketRemoved(stale)
        }
        if case .pid(let pid) = self, connection.hello.pid != pid {
            connection.close()
            throw .noAgent(pid: pid, path: path)
        }
        return connection
    }

    static func processExists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

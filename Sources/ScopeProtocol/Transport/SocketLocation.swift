import Foundation

/// Where agents put their sockets, and where clients look for them.
///
/// The rules: `$TASKSCOPE_SOCKET` if set; else `<dir>/<pid>.sock`, where
/// `<dir>` is `$TASKSCOPE_DIR`, else `$XDG_RUNTIME_DIR/taskscope`, else
/// `/tmp/taskscope-<uid>`.
public struct SocketLocation: Sendable, Hashable {
    /// The environment variable naming one socket path exactly.
    public static let socketVariable = "TASKSCOPE_SOCKET"
    /// The environment variable naming the socket directory.
    public static let directoryVariable = "TASKSCOPE_DIR"
    /// The suffix of every agent socket in the directory.
    public static let socketSuffix = ".sock"

    /// The environment the rules read.
    public var environment: [String: String]
    /// The user whose fallback directory is used.
    public var uid: UInt32

    /// Creates the rules for an environment and user; by default this process's.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, uid: UInt32 = UInt32(getuid())
    ) {
        self.environment = environment
        self.uid = uid
    }

    /// The directory agents of this user put their sockets in.
    public var directory: String {
        if let dir = nonEmpty(SocketLocation.directoryVariable) { return dir }
        if let runtime = nonEmpty("XDG_RUNTIME_DIR") { return runtime + "/taskscope" }
        return "/tmp/taskscope-\(uid)"
    }

    /// The socket path set exactly by `$TASKSCOPE_SOCKET`, if any.
    public var explicitSocket: String? { nonEmpty(SocketLocation.socketVariable) }

    /// The socket an agent in process `pid` serves on.
    public func socketPath(forPID pid: Int32) -> String {
        explicitSocket ?? defaultSocketPath(forPID: pid)
    }

    /// The socket an agent in process `pid` serves on when `$TASKSCOPE_SOCKET` is not set:
    /// where a client looks for a process given by pid.
    public func defaultSocketPath(forPID pid: Int32) -> String {
        "\(directory)/\(pid)\(SocketLocation.socketSuffix)"
    }

    /// The pid a default socket name encodes (`4242.sock` gives 4242), if it is one.
    public static func pid(fromSocketName name: String) -> Int32? {
        guard name.hasSuffix(socketSuffix) else { return nil }
        return Int32(name.dropLast(socketSuffix.count))
    }

    private func nonEmpty(_ key: String) -> String? {
        guard let value = environment[key], !value.isEmpty else { return nil }
        return value
    }
}

import ScopeProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong between the CLI and an agent, each with one
/// line that tells a person what happened and, where it helps, what to do.
public enum ScopeClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No process has this pid.
    case noSuchProcess(Int32)
    /// The process exists but serves no socket where its pid says it would.
    case noAgent(pid: Int32, path: String)
    /// Nothing exists at this path.
    case noSuchFile(String)
    /// The path exists but is not a unix socket.
    case notASocket(String)
    /// A socket file whose process has gone: nobody is listening.
    case staleSocket(String)
    /// A stale socket that was found and removed on the way.
    case staleSocketRemoved(String)
    /// The socket belongs to someone this user may not connect to.
    case permissionDenied(String)
    /// Something listens there but does not speak the taskscope protocol.
    case notTaskscope(String)
    /// The agent answered the connection with an error instead of its hello (it serves as many
    /// clients as it may, or the process is short of descriptors), and closed it.
    case refused(path: String, error: ProtocolError)
    /// The agent closed a connection it had served, saying why in an error line with no id (it
    /// gave this client's place to a new one, or a request line was too long).
    case closedByAgent(path: String, error: ProtocolError)
    /// The kernel accepted the connection but nothing said hello within `seconds`: the
    /// process is stopped (SIGSTOP, a debugger) or its agent is stuck.
    case noAnswer(path: String, seconds: Double)
    /// The connection closed in the middle of a line of the reply to `during` (a snapshot, a reply).
    case closedMidway(path: String, during: String)
    /// A line from the agent passed `limit` bytes; the connection was closed there.
    case lineTooLong(path: String, limit: Int)
    /// A snapshot passed `limit` bytes in all; the connection was closed there.
    case snapshotTooLarge(path: String, limit: Int)
    /// A socket directory that does not belong to this user: its sockets are not trusted.
    case untrustedDirectory(path: String, owner: UInt32)
    /// The task awaiting the reply was cancelled; the request was abandoned.
    case cancelled
    /// Something at `path` speaks the protocol but sent a number no agent can mean
    /// (a start time a thousand years away, a negative count): `reason` names it.
    case notAnAgent(path: String, reason: String)
    /// The agent speaks a protocol version this client does not.
    case unsupportedProtocol(path: String, version: Int)
    /// The agent did not answer in time.
    case timedOut(String)
    /// The connection closed before the reply arrived.
    case disconnected(String)
    /// The agent answered with an error reply.
    case server(ProtocolError)
    /// A reply could not be understood.
    case badReply(String)
    /// Reading or writing a local file failed.
    case file(path: String, reason: String)
    /// Writing to standard output failed for a reason other than a closed pipe (a full disk).
    case standardOutput(reason: String)
    /// The reader of a pipe went away (`taskscope snapshot PID | head`): not a failure of
    /// taskscope, so the CLI ends quietly, as `cat` does.
    case outputClosed(String)
    /// Any other connection failure.
    case connection(path: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchProcess(let pid): "no process with pid \(pid)"
        case .noAgent(let pid, let path):
            "process \(pid) has no taskscope agent (no socket at \(path)); does it call TaskScope.start()?"
        case .noSuchFile(let path): "\(path): no such file or directory"
        case .notASocket(let path): "\(path) is not a socket"
        case .staleSocket(let path): "nobody is listening on \(path) (stale socket: the process has exited)"
        case .staleSocketRemoved(let path):
            "nobody is listening on \(path) (the process has exited); removed the stale socket"
        case .permissionDenied(let path): "\(path): permission denied (the agent only accepts its own user and root)"
        case .notTaskscope(let path): "\(path) is not a taskscope socket (it did not say hello)"
        case .refused(let path, let error): "the process behind \(path) refused the connection: \(error.message)"
        case .closedByAgent(let path, let error):
            "the process behind \(path) closed the connection: \(error.message)"
        case .noAnswer(let path, let seconds):
            "the process behind \(path) accepted the connection but did not answer within "
                + "\(ByteText.seconds(seconds)) (is it stopped?)"
        case .closedMidway(let path, let during): "the process behind \(path) closed the connection mid-\(during)"
        case .lineTooLong(let path, let limit):
            "the process behind \(path) sent a line longer than \(ByteText.format(limit)); stopped"
        case .snapshotTooLarge(let path, let limit):
            "the snapshot from \(path) passed \(ByteText.format(limit)); stopped (--max-bytes raises the limit)"
        case .untrustedDirectory(let path, let owner):
            "\(path) belongs to uid \(owner), not to this user (uid \(geteuid())); "
                + "only sockets in a directory of one's own are trusted"
        case .cancelled: "cancelled"
        case .notAnAgent(let path, let reason): "\(path) is not a taskscope agent: \(reason)"
        case .unsupportedProtocol(let path, let version):
            "\(path) speaks taskscope protocol \(version); this client speaks \(Hello.currentProtocol)"
        case .timedOut(let what): "timed out: \(what)"
        case .disconnected(let path): "the process behind \(path) closed the connection"
        case .server(let error): "the agent refused the request: \(error.message) (\(error.code))"
        case .badReply(let detail): "the agent sent a reply this client cannot read: \(detail)"
        case .file(let path, let reason): "\(path): \(reason)"
        case .standardOutput(let reason): "cannot write to standard output: \(reason)"
        case .outputClosed(let path): "\(path): the reader closed the pipe"
        case .connection(let path, let reason): "cannot connect to \(path): \(reason)"
        }
    }
}

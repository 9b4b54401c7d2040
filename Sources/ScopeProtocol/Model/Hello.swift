/// The first line an agent sends on every connection.
public struct Hello: Codable, Sendable, Hashable {
    /// Always `"hello"`.
    public var type: String
    /// The protocol version the agent speaks; this package speaks ``Hello/currentProtocol``.
    public var `protocol`: Int
    /// Always `"taskscope"`, so a client can tell a taskscope socket from another.
    public var agent: String
    /// The agent's version.
    public var agentVersion: String
    /// The host's process id.
    public var pid: Int32
    /// The host's process name.
    public var process: String
    /// When the agent started (Unix seconds).
    public var started: Double
    /// The sampler's interval in seconds.
    public var interval: Double
    /// The longest request line the agent accepts, in bytes.
    public var maxLineBytes: Int

    /// The protocol version of this package.
    public static let currentProtocol = 1
    /// The agent name every taskscope agent sends.
    public static let agentName = "taskscope"

    public init(
        agentVersion: String, pid: Int32, process: String, started: Double, interval: Double, maxLineBytes: Int
    ) {
        self.type = "hello"
        self.protocol = Hello.currentProtocol
        self.agent = Hello.agentName
        self.agentVersion = agentVersion
        self.pid = pid
        self.process = process
        self.started = started
        self.interval = interval
        self.maxLineBytes = maxLineBytes
    }
}

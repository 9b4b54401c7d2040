/// What the UI needs to follow a process that restarts under a new pid (`taskscope attach`
/// without a target): the pid watched, and every pid already attachable when it was chosen
/// or last followed. Only a process not among them can be the restart: a service that was
/// running beside it all along is never taken for it.
public struct RestartFollowing: Sendable, Hashable {
    /// The process watched now.
    public var pid: Int32
    /// The pids that are not new: those attachable when the UI started, and each one followed since.
    public var known: Set<Int32>

    /// Follows `pid`; `known` are the processes attachable now (never followed when `pid` exits).
    public init(pid: Int32, known: some Sequence<Int32>) {
        self.pid = pid
        self.known = Set(known).union([pid])
    }
}

import ScopeClient
import ScopeProtocol

/// Everything that can change the UI's state: key presses, terminal events and data.
public enum Action: Sendable {
    case key(Key)
    case resize(width: Int, height: Int)
    case connected(Hello)
    case summary(Summary)
    case history([HistorySample])
    case warnings([Warning])
    case resources([ResourceInfo])
    case tasks(TaskPage, for: TaskQuery)
    case groups([SiteGroup])
    case detail(TaskDetail)
    /// The async stack of the task whose detail is open.
    case detailStack(DetailStack)
    /// The waiting tasks grouped by async stack (Groups by stack).
    case stackGroups(StackList)
    /// The process went away, with why.
    case disconnected(String)
    /// The processes that can be attached to now, looked up while the connection is lost
    /// (only when the UI follows restarts: `attach` without a target).
    case discovered([AttachableProcess])
    /// The outcome of an export: the path written, or the error.
    case exported(Result<String, ExportFailure>)
    /// Quit now (a signal, or the terminal went away).
    case quit
}

/// Why an export failed, for the status line.
public struct ExportFailure: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

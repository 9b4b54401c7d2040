/// The lifecycle state of a tracked task, as named on the wire.
///
/// A task is `active` while it runs or awaits something unlabelled, `waiting`
/// while it is inside a labelled wait, and `finished` once its operation has
/// returned or thrown. Finished tasks carry a ``TaskOutcome``.
public enum TaskState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Running, or suspended on an await that taskscope cannot see.
    case active
    /// Suspended inside a labelled wait (a tracked primitive or `TaskScope.waiting(on:)`).
    case waiting
    /// The operation returned or threw; see ``TaskOutcome``.
    case finished
}

/// How a finished task ended.
public enum TaskOutcome: String, Codable, Sendable, Hashable, CaseIterable {
    /// The operation returned normally.
    case completed
    /// The operation threw `CancellationError`, or threw after the task was cancelled.
    case cancelled
    /// The operation threw any other error.
    case failed
}

import ScopeProtocol

/// The wait reasons a process's tasks wait on now, as one phrase for messages
/// (`queue.pop (3), sleep (2)`), so that a filter that matches nothing says what would.
public enum ReasonsNow {
    /// `waits` (reason to waiting tasks, as ``Summary/waits``), most tasks first, then by name;
    /// `none` when nothing waits. Cost: a sort of the reasons.
    public static func describe(_ waits: [String: Int]) -> String {
        let present = waits.filter { $0.value > 0 }.sorted { lhs, rhs in
            lhs.value != rhs.value ? lhs.value > rhs.value : lhs.key < rhs.key
        }
        guard !present.isEmpty else { return "none" }
        return present.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
    }

    /// The line a report shows when no task waits on `reason`.
    public static func noTask(waitingOn reason: String, waits: [String: Int]) -> String {
        "no task is waiting on \(reason); reasons now: \(describe(waits))"
    }

    /// Whether a filter on `reason` can ever match: a built-in reason (tasks may come to wait
    /// on it) or one some task waits on now. A user label not waiting now is indistinguishable
    /// from a typing mistake, so it is refused with the reasons that exist.
    public static func isKnown(_ reason: String, waits: [String: Int]) -> Bool {
        WaitReason.builtIn.contains(reason) || (waits[reason] ?? 0) > 0
    }

    /// The line refusing a filter on an unknown `reason`.
    public static func unknown(_ reason: String, waits: [String: Int]) -> String {
        "no task waits on '\(reason)' and it is no built-in reason; reasons now: \(describe(waits)) "
            + "(built in: \(WaitReason.builtIn.joined(separator: ", ")))"
    }
}

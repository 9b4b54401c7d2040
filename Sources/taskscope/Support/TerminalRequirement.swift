import Foundation
import ScopeUI

/// The UI's need for a terminal that can move the cursor, checked before it starts.
enum TerminalRequirement {
    /// Fails with one line (`taskscope attach needs a terminal with cursor movement; TERM=dumb
    /// has none — try snapshot --format text`) when `TERM` is unset, unknown, or cannot move the cursor.
    /// `instead` ends the line: what to do without such a terminal.
    static func check(_ command: String, instead: String) throws {
        guard let problem = TerminalCheck.problem(environment: ProcessInfo.processInfo.environment) else { return }
        throw CLIFailure(
            wholeLine: "taskscope \(command) needs a terminal with cursor movement; \(problem) — \(instead)")
    }
}

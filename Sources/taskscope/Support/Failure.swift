import ArgumentParser
import Foundation
import ScopeClient
import TaskScope

/// Runs a command body so that any failure is one line on standard error
/// (`taskscope: …`) and exit status 1, never a trap or a stack dump.
///
/// A reader that closed the pipe (`taskscope snapshot PID | head`) is no failure: the
/// command ends quietly with status 0, as `cat` and `ps` do.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch ScopeClientError.outputClosed {
        return
    } catch let error as TaskScopeError {
        printError(error.message)  // its description already says "taskscope: "
        throw ExitCode.failure
    } catch let error as CLIFailure where error.isWholeLine {
        FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        throw ExitCode.failure
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

/// Prints `taskscope: message` to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("taskscope: \(message)\n".utf8))
}

/// A failure of the CLI itself, with the line to show.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    /// Whether `description` is the whole line, printed without the `taskscope: ` prefix
    /// (because it already starts with the command's name).
    var isWholeLine = false

    init(_ description: String) { self.description = description }

    init(wholeLine: String) {
        description = wholeLine
        isWholeLine = true
    }
}

import ArgumentParser
import Foundation
import ScopeClient

/// Runs a command body so that any failure is one line on standard error
/// (`taskscope: …`) and exit status 1, never a trap or a stack dump.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
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
    init(_ description: String) { self.description = description }
}

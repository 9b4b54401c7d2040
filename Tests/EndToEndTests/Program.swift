import Foundation
import Subprocess
import SystemPackage

/// Runs programs for tests, with a deadline.
///
/// Every run is bounded: a program still running at its deadline is killed and the
/// run throws, so a hung child fails one test instead of hanging the suite. The
/// pipes are swift-subprocess's (close-on-exec), so a long-lived child started
/// meanwhile (the demo, the tmux server) cannot inherit one and hold it open.
enum Program {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    struct TimedOut: Error, CustomStringConvertible {
        var command: String
        var timeout: Duration
        var description: String { "\(command) still ran after \(timeout); it was killed" }
    }

    /// Runs `path` with `arguments` and extra `environment`, and collects its output.
    /// A program killed by a signal reports 128 plus the signal, as a shell does.
    static func run(
        _ path: String, _ arguments: [String], environment: [String: String] = [:],
        captureOutput: Bool = true, timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let command = ([path] + arguments).joined(separator: " ")
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                let updates = Dictionary(
                    uniqueKeysWithValues: environment.map {
                        (Environment.Key(stringLiteral: $0.key), Optional($0.value))
                    })
                if captureOutput {
                    let result = try await Subprocess.run(
                        .path(FilePath(path)), arguments: Arguments(arguments),
                        environment: .inherit.updating(updates), output: .string(limit: 256 << 20),
                        error: .string(limit: 16 << 20))
                    return Result(
                        status: result.terminationStatus.shellStatus, stdout: result.standardOutput,
                        stderr: result.standardError)
                }
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: Arguments(arguments), environment: .inherit.updating(updates),
                    output: .discarded, error: .discarded)
                return Result(status: result.terminationStatus.shellStatus, stdout: "", stderr: "")
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw TimedOut(command: command, timeout: timeout)
            }
            return result
        }
    }
}

extension TerminationStatus {
    var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}

import Foundation
import Subprocess
import SystemPackage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Output into a pipe whose reader went away (`taskscope snapshot PID | head`) ends the
/// command quietly with status 0, as `cat` and `ps` do; every other write error is one line.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLIPipeTests {
    /// Runs `taskscope` with its standard output a pipe whose read end is already closed, so that
    /// its first write fails with EPIPE whatever the timing. Returns the status and stderr.
    private func runIntoClosedPipe(
        _ arguments: [String], environment: [String: String]
    ) async throws -> (status: Int32, stderr: String) {
        var ends: [Int32] = [0, 0]
        // Close-on-exec at once, so no child another test starts meanwhile inherits the read end.
        #expect(pipe(&ends) == 0)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        close(ends[0])
        let updates = Dictionary(
            uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })
        let result = try await Subprocess.run(
            .path(FilePath(CLI.executable.path)), arguments: Arguments(arguments),
            environment: .inherit.updating(updates),
            output: .fileDescriptor(FileDescriptor(rawValue: ends[1]), closeAfterSpawningProcess: true),
            error: .string(limit: 1 << 20))
        return (result.terminationStatus.shellStatus, result.standardError)
    }

    /// Runs a shell pipeline with `set -o pipefail`, so its status is taskscope's as well as the reader's.
    private func shell(_ script: String, environment: [String: String]) async throws -> Program.Result {
        try await Program.run(
            "/bin/bash", ["-c", "set -o pipefail; \(script)"],
            environment: environment.merging(["TASKSCOPE": CLI.executable.path]) { $1 })
    }

    @Test func aReaderThatClosesThePipeEndsEveryCommandQuietly() async throws {
        let demo = try await DemoProcess()
        let (before, after) = ("\(demo.directory)/before.json", "\(demo.directory)/after.json")
        #expect(
            try await CLI.run(["snapshot", "\(demo.pid)", "-o", before], environment: demo.environment).status == 0)
        #expect(try await CLI.run(["snapshot", "\(demo.pid)", "-o", after], environment: demo.environment).status == 0)
        let commands = [
            ["snapshot", "\(demo.pid)"], ["snapshot", "\(demo.pid)", "--format", "text"], ["list"], ["list", "--json"],
            ["diff", before, after], ["diff", before, after, "--json"],
        ]
        for arguments in commands {
            let closed = try await runIntoClosedPipe(arguments, environment: demo.environment)
            #expect(closed.status == 0, "\(arguments): \(closed.stderr)")
            #expect(closed.stderr.isEmpty, "\(arguments): \(closed.stderr)")
        }
        // The way a person meets it: a real pipeline into head, its status checked with pipefail.
        for command in ["snapshot \(demo.pid)", "snapshot \(demo.pid) --format text", "list --json"] {
            let piped = try await shell(
                #""$TASKSCOPE" \#(command) | head -c 10 >/dev/null"#, environment: demo.environment)
            #expect(piped.status == 0, "\(command): \(piped.stderr)")
            #expect(piped.stderr.isEmpty, "\(command): \(piped.stderr)")
        }
        // Every other write error stays one clear line and a failure.
        for command in ["snapshot \(demo.pid) --format text", "list", "diff \(before) \(after) --json"] {
            let full = try await shell(#""$TASKSCOPE" \#(command) >/dev/full"#, environment: demo.environment)
            #expect(full.status == 1, "\(command)")
            #expect(
                full.stderr == "taskscope: cannot write to standard output: no space left on device\n",
                "\(command): \(full.stderr)")
        }
        #expect(try await demo.interrupt() == 0)
    }
}

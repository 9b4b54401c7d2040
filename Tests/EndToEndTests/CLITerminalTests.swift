import Foundation
import TestSupport
import Testing

/// The UI's commands on a terminal that cannot draw it, and subcommands typed wrong:
/// one clear line and a failing exit, never a screen of garbage or a confusing target error.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLITerminalTests {
    private func expectLine(
        _ arguments: [String], environment: [String: String], status: Int32 = 1, _ line: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let result = try await CLI.run(arguments, environment: environment)
        #expect(result.status == status, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)", sourceLocation: sourceLocation)
        #expect(result.stderr == line + "\n", "\(arguments)", sourceLocation: sourceLocation)
    }

    @Test func aTerminalWithoutCursorMovementGetsOneLine() async throws {
        let demo = try await DemoProcess()
        let file = "\(demo.directory)/snap.json"
        #expect(try await CLI.run(["snapshot", "\(demo.pid)", "-o", file], environment: demo.environment).status == 0)
        let attach = "taskscope attach needs a terminal with cursor movement; "
        for (term, problem) in [
            ("dumb", "TERM=dumb has none"), ("", "TERM is not set"),
            ("no-such-terminal", "TERM=no-such-terminal is not a terminal terminfo knows"),
        ] {
            let environment = demo.environment.merging(["TERM": term]) { $1 }
            try await expectLine(
                ["attach", "\(demo.pid)"], environment: environment,
                attach + "\(problem) — try snapshot \(demo.pid) --format text")
            try await expectLine(
                ["attach"], environment: environment, attach + "\(problem) — try snapshot \(demo.pid) --format text")
            try await expectLine(
                ["view", file], environment: environment,
                "taskscope view needs a terminal with cursor movement; \(problem) — "
                    + "open it where TERM names a full terminal (xterm, tmux)")
            try await expectLine(
                ["demo"], environment: environment,
                "taskscope demo needs a terminal with cursor movement; \(problem) — "
                    + "try demo --serve, then snapshot PID --format text")
        }
        #expect(try await demo.interrupt() == 0)
    }

    @Test func aMistypedSubcommandIsNamedWithTheOneMeant() async throws {
        let directory = try makeTemporaryDirectory("typo")
        defer { removeTree(directory) }
        let environment = ["TASKSCOPE_DIR": directory]
        for (typed, meant) in [("atach", "attach"), ("snapshott", "snapshot"), ("lsit", "list"), ("veiw", "view")] {
            try await expectLine(
                [typed, "123"], environment: environment, status: 64,
                "taskscope: unknown command '\(typed)'; did you mean '\(meant)'?")
        }
        try await expectLine(
            ["frobnicate"], environment: environment, status: 64,
            "taskscope: unknown command 'frobnicate'; the commands are attach, list, snapshot, view, diff, demo "
                + "(attach takes a pid or a socket path)")
        // What can be a target still is one: a pid, a path.
        try await expectLine(["2000000000"], environment: environment, "taskscope: no process with pid 2000000000")
        try await expectLine(
            ["./atach"], environment: environment, "taskscope: ./atach: no such file or directory")
    }

    @Test func inARealTerminalWithTermDumbTheLineIsAllThereIs() async throws {
        let demo = try await DemoProcess()
        let terminal = try await Tmux(
            width: 120, height: 20, directory: demo.directory,
            environment: demo.environment.merging(["LANG": "C.UTF-8"]) { $1 })
        try await terminal.waitForPrompt()
        // tmux sets TERM for its panes, so the command sets its own.
        try await terminal.type("TERM=dumb \(CLI.executable.path) attach \(demo.pid); echo status-$?")
        let screen = try await terminal.waitForScreen("the one line and the status") { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix("status-") }
        }
        #expect(
            screen.contains(
                "taskscope attach needs a terminal with cursor movement; TERM=dumb has none — "
                    + "try snapshot \(demo.pid) --format text"), "\(screen)")
        #expect(screen.contains("status-1"))
        #expect(!screen.contains("Overview"), "the UI was drawn")
        try await terminal.close()
        #expect(try await demo.interrupt() == 0)
    }
}

import Foundation
import TestSupport
import Testing

/// `taskscope attach` without a target, in a real terminal, while its process restarts under
/// a new pid: it follows the one new process and says so, and offers the pick when several.
@Suite(.serialized, .timeLimit(.minutes(2))) struct FollowTerminalTests {
    @Test func attachWithoutATargetFollowsARestartAndOffersThePickWhenSeveralAppear() async throws {
        let directory = try makeTemporaryDirectory("follow-ui")
        defer { removeTree(directory) }
        let environment = ["TASKSCOPE_DIR": directory]
        let first = try await DemoProcess(extraEnvironment: environment)
        let terminal = try await Tmux(
            width: 120, height: 30, directory: directory,
            environment: environment.merging(["LANG": "C.UTF-8", "TERM": "screen"]) { $1 })
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach")
        try await terminal.waitForScreen("attached to the only process") { $0.contains("(pid \(first.pid))") }

        // Restarted under a new pid, at a new socket: followed, and the status line says so.
        #expect(try await first.interrupt() == 0)
        let second = try await DemoProcess(extraEnvironment: environment)
        let followed = try await terminal.waitForScreen("following the new process") { screen in
            screen.contains("(pid \(second.pid))")
                && screen.contains("process \(first.pid) is gone; following \(second.pid)")
        }
        #expect(!followed.contains("process gone"))

        // Two new ones, then gone again: the same pick as at the start, then the UI on the one picked.
        // (Both start first, so the UI cannot look between the two and follow the first alone.)
        let third = try await DemoProcess(extraEnvironment: environment)
        let fourth = try await DemoProcess(extraEnvironment: environment)
        #expect(try await second.interrupt() == 0)
        let pick = try await terminal.waitForScreen("the pick") { screen in
            screen.contains("process \(second.pid) is gone; 2 new processes are attachable:")
                && screen.contains("attach to which pid?")
        }
        #expect(pick.contains("  \(third.pid)  taskscope") && pick.contains("  \(fourth.pid)  taskscope"))
        try await terminal.type("\(fourth.pid)")
        try await terminal.waitForScreen("attached to the one picked") { $0.contains("(pid \(fourth.pid))") }
        try await terminal.send("q")
        try await terminal.waitForScreen("back at the shell") { !$0.contains("(pid \(fourth.pid))") }
        #expect(try await third.interrupt() == 0)
        #expect(try await fourth.interrupt() == 0)
        try await terminal.close()
    }
}

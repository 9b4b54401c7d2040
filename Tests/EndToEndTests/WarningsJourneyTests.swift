import Foundation
import ScopeProtocol
import TestSupport
import Testing

/// A new user's loop at 80x24, keyboard only, on the real demo in a real terminal: find the
/// definite leak, read it whole with its fix, list its tasks, open one and come back, filter
/// by a wait reason, export.
@Suite(.serialized, .timeLimit(.minutes(2))) struct WarningsJourneyTests {
    @Test func atEightyByTwentyFourALeakIsFoundReadListedOpenedAndExported() async throws {
        let demo = try await DemoProcess()
        let terminal = try await Tmux(
            width: 80, height: 24, directory: demo.directory,
            environment: demo.environment.merging(["LANG": "C.UTF-8", "TERM": "screen"]) { $1 })
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach \(demo.pid)")
        try await terminal.waitForScreen("the overview's warnings") { screen in
            screen.contains("WARNINGS") && screen.contains("! orphaned-channel")
        }

        // Enter on the selected (first, definite) warning reads it whole, fix and tasks included.
        try await terminal.send("Enter")
        let warning = try await terminal.waitForScreen("the Warnings screen") { screen in
            screen.contains("orphaned-channel (definite)") && screen.contains("fix: ")
                && screen.contains("Enter lists them")
        }
        #expect(warning.contains("warning 1 of "))
        #expect(warning.contains("resource: channel"))

        // Enter lists exactly its tasks, each marked as named by a warning.
        try await terminal.send("Enter")
        // (The page on screen may still be the unfiltered one for a refresh: wait for the new one.)
        let tasks = try await terminal.waitForScreen("the warning's tasks, every one marked") { screen in
            let rows = screen.split(separator: "\n").filter { $0.contains(" waiting ") }
            return screen.contains("tasks of orphaned-channel") && screen.contains("rows 1-") && !rows.isEmpty
                && rows.allSatisfy { $0.hasPrefix("!") }
        }
        #expect(!tasks.contains("queue-consumer"))

        // Enter opens the first task, whose detail names the warning; Esc comes back to the list.
        try await terminal.send("Enter")
        try await terminal.waitForScreen("the task's detail") { $0.contains("warnings    ! orphaned-channel") }
        try await terminal.send("Escape")
        try await terminal.waitForScreen("the list again") { screen in
            !screen.contains("warnings    !") && screen.contains("tasks of orphaned-channel")
        }

        // Esc clears the warning's scope; w filters by a wait reason.
        try await terminal.send("Escape")
        try await terminal.waitForScreen("every task") { !$0.contains("tasks of orphaned-channel") }
        try await terminal.send("w")
        try await terminal.waitForScreen("the picker") { $0.contains("filter by wait reason") }
        try await terminal.selectInPicker("queue.pop")
        try await terminal.send("Enter")
        let filtered = try await terminal.waitForScreen("only the queue.pop tasks") { screen in
            screen.contains("wait: queue.pop") && screen.contains("rows 1-3 of 3")
        }
        #expect(!filtered.contains("filter by wait reason"))
        #expect(filtered.split(separator: "\n").filter { $0.contains("queue-consumer") }.count == 3)

        // e exports, and the path is read whole at 80 columns.
        try await terminal.send("e")
        let exported = try await terminal.waitForScreen("the export") { $0.contains("exported to") }
        let files = try FileManager.default.contentsOfDirectory(atPath: demo.directory).filter { $0.hasSuffix(".json") }
        #expect(files.count == 1)
        let joined = exported.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        #expect(joined.contains(files.first ?? "-"), "\(exported)")

        try await terminal.send("q")
        try await terminal.waitForScreen("the UI is gone") { !$0.contains("q quit") }
        #expect(try await demo.interrupt() == 0)
        try await terminal.close()
    }
}

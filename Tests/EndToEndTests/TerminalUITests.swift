import Foundation
import ScopeProtocol
import TestSupport
import Testing

/// The real UI in a real terminal (tmux), attached to the real demo.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TerminalUITests {
    /// A 100x30 terminal with `taskscope attach` running in it on `demo`.
    private func attach(to demo: DemoProcess) async throws -> Tmux {
        let terminal = try await Tmux(
            width: 100, height: 30, directory: demo.directory,
            environment: demo.environment.merging(["LANG": "C.UTF-8", "TERM": "screen"]) { $1 })
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach \(demo.pid)")
        return terminal
    }

    @Test func attachBrowseFilterExportResizeAndQuit() async throws {
        let demo = try await DemoProcess()
        let terminal = try await attach(to: demo)

        // The overview: counts, trends and the warnings panel.
        let overview = try await terminal.waitForScreen("the overview with warnings") { screen in
            screen.contains("WARNINGS") && screen.contains("orphaned-channel") && screen.contains("queue.pop")
        }
        #expect(overview.contains("taskscope  taskscope (pid \(demo.pid))"))
        #expect(overview.contains("live"))
        #expect(overview.range(of: #"active\s+\d+"#, options: .regularExpression) != nil)

        // Screens switch.
        try await terminal.send("2")
        try await terminal.waitForScreen("the tasks table") { $0.contains("WAITING") && $0.contains("WAIT SITE") }
        try await terminal.send("4")
        try await terminal.waitForScreen("the resources") { $0.contains("KIND") && $0.contains("unanswered-results") }
        try await terminal.send("3")
        try await terminal.waitForScreen("the groups") { $0.contains("LONGEST") && $0.contains("TREND") }

        // A wait-reason filter from the picker leaves only matching rows.
        try await terminal.send("2")
        try await terminal.send("w")
        try await terminal.waitForScreen("the picker") { $0.contains("filter by wait reason") }
        // The reasons present change as the demo runs, so move down until queue.pop is the one selected.
        try await terminal.selectInPicker("queue.pop")
        try await terminal.send("Enter")
        let filtered = try await terminal.waitForScreen("only queue.pop rows") { screen in
            screen.contains("wait: queue.pop") && screen.contains("rows 1-3 of 3")
        }
        let rows = filtered.split(separator: "\n").filter { $0.contains("queue-consumer") }
        #expect(rows.count == 3)
        #expect(!filtered.contains("heartbeat"))

        // Export writes a valid snapshot and says where.
        try await terminal.send("e")
        let exported = try await terminal.waitForScreen("the export") { $0.contains("exported to ") }
        let status = try #require(exported.split(separator: "\n").last { $0.contains("exported to ") })
        let path = try #require(status.split(separator: " ").first { $0.hasPrefix("/") && $0.contains("taskscope-") })
        let files = try FileManager.default.contentsOfDirectory(atPath: demo.directory).filter { $0.hasSuffix(".json") }
        #expect(files.count == 1)
        let document = try SnapshotDocument.decode(
            try Data(contentsOf: URL(fileURLWithPath: "\(demo.directory)/\(files[0])")))
        #expect(document.process.pid == demo.pid)
        #expect(path.hasPrefix(demo.directory))

        // Resizing re-lays out the screen.
        try await terminal.resize(width: 140, height: 40)
        try await terminal.waitForScreen("the wider table") { $0.contains("SPAWN SITE") }

        // q quits and leaves the terminal as it was: canonical input and echo back on.
        try await terminal.send("q")
        try await terminal.waitForScreen("the UI is gone") { !$0.contains("q quit") }
        // The shell prints a marker it computes, so the typed command line itself cannot match.
        try await terminal.type("stty -a > stty.txt; echo shell-back-$((40+2))")
        try await terminal.waitForScreen("the shell is back") { $0.contains("shell-back-42") }
        let settings = try String(contentsOfFile: "\(demo.directory)/stty.txt", encoding: .utf8)
        #expect(settings.contains(" icanon"))
        #expect(!settings.contains("-icanon"))
        #expect(settings.contains(" echo "))
        #expect(try await demo.interrupt() == 0)
        try await terminal.close()
    }

    @Test func withoutArgumentsItAttachesToTheOnlyProcessWithTheWaitFilterAndSurvivesARestart() async throws {
        let directory = try makeTemporaryDirectory("again")
        defer { removeTree(directory) }
        // One socket path for both runs, so the second demo comes back where the first was.
        let socket = "\(directory)/demo.sock"
        let environment = ["TASKSCOPE_DIR": directory, "TASKSCOPE_SOCKET": socket]
        let first = try await DemoProcess(extraEnvironment: environment)
        let terminal = try await Tmux(
            width: 100, height: 30, directory: directory,
            environment: environment.merging(["LANG": "C.UTF-8", "TERM": "screen"]) { $1 })
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) --wait queue.pop")
        try await terminal.waitForScreen("attached with the filter") { screen in
            screen.contains("(pid \(first.pid))") && screen.contains("wait: queue.pop")
        }
        try await terminal.send("2")
        try await terminal.waitForScreen("only queue.pop rows") { $0.contains("rows 1-3 of 3") }

        // The process goes away: the UI says so and keeps the last data.
        #expect(try await first.interrupt() == 0)
        let gone = try await terminal.waitForScreen("the process is gone") { $0.contains("process gone") }
        #expect(gone.contains("queue-consumer"))
        #expect(gone.contains("reconnecting"))

        // The same socket comes back: the UI reconnects to the new process.
        let second = try await DemoProcess(extraEnvironment: environment)
        try await terminal.waitForScreen("reconnected") { screen in
            screen.contains("(pid \(second.pid))") && screen.contains("live") && !screen.contains("process gone")
        }
        try await terminal.send("q")
        #expect(try await second.interrupt() == 0)
        try await terminal.close()
    }

    @Test func viewOpensASnapshotOffline() async throws {
        let demo = try await DemoProcess()
        let snapshot = "\(demo.directory)/saved.json"
        let saved = try await CLI.run(["snapshot", "\(demo.pid)", "-o", snapshot], environment: demo.environment)
        #expect(saved.status == 0)
        #expect(try await demo.interrupt() == 0)
        // An empty NO_COLOR is no NO_COLOR (some machines set it for every tmux session).
        let terminal = try await Tmux(
            width: 100, height: 30, directory: demo.directory,
            environment: ["LANG": "C.UTF-8", "TERM": "screen", "NO_COLOR": ""])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) view \(snapshot)")
        let screen = try await terminal.waitForScreen("the snapshot's overview") { screen in
            screen.contains("offline: \(snapshot)") && screen.contains("WARNINGS")
        }
        #expect(screen.contains("(pid \(demo.pid))"))
        // Colour where the terminal has it (red for definite leaks, among others)...
        let coloured = try await terminal.screen(escapes: true)
        #expect(coloured.range(of: "\u{1B}\\[(\\d+;)*3[1-6]m", options: .regularExpression) != nil)
        try await terminal.send("2")
        try await terminal.waitForScreen("its tasks") { $0.contains("queue-consumer") }
        try await terminal.send("q")
        try await terminal.waitForScreen("the UI is gone") { !$0.contains("q quit") }
        try await terminal.type("echo view-closed-$((40+2))")
        try await terminal.waitForScreen("the shell is back") { $0.contains("view-closed-42") }

        // ...and none with NO_COLOR.
        try await terminal.send("C-l")
        try await terminal.type("NO_COLOR=1 \(CLI.executable.path) view \(snapshot)")
        try await terminal.waitForScreen("the plain overview") { $0.contains("offline: \(snapshot)") }
        let plain = try await terminal.screen(escapes: true)
        #expect(plain.range(of: "\u{1B}\\[(\\d+;)*3[1-6]m", options: .regularExpression) == nil)
        #expect(plain.contains("\u{1B}[7m"))  // reverse video still marks the status line
        try await terminal.send("q")
        try await terminal.close()
    }

    @Test func closingTheTerminalEndsTheUI() async throws {
        let directory = try makeTemporaryDirectory("hangup")
        defer { removeTree(directory) }
        let file = "\(directory)/hangup-\(UInt32.random(in: 0...UInt32.max)).json"
        let summary = Summary(
            pid: 1, process: "gone", capturedAt: 10, uptime: 5, tasks: .init(active: 0, waiting: 0, finished: 0),
            totals: .init(spawned: 0, completed: 0, cancelled: 0, failed: 0), waits: [:], interval: 1)
        let head = SnapshotHead(
            process: ProcessDescription(pid: 1, name: "gone", agentVersion: "0", started: 5), capturedAt: 10,
            filter: nil,
            summary: summary, history: History(interval: 1, capacity: 600, samples: []))
        try JSONEncoder().encode(SnapshotDocument(head: head, tasks: [])).write(to: URL(fileURLWithPath: file))
        func running() async throws -> Bool {
            try await Program.run("/usr/bin/pgrep", ["-f", file], captureOutput: false).status == 0
        }
        let terminal = try await Tmux(
            width: 80, height: 24, directory: directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) view \(file)")
        try await terminal.waitForScreen("the UI") { $0.contains("offline:") }
        #expect(try await running())
        try await terminal.close()  // the terminal goes away under the UI
        try await eventually("the UI exits") { try await !running() }
    }

    /// How a test ends the UI from outside.
    enum Ending: String, CaseIterable, Sendable {
        case ctrlC, sigterm, sighup
    }

    /// Runs `command` in `terminal` (its pid in `directory`/ui.pid), waits for `ready`, ends it
    /// the way said, and checks that the process exits and the terminal is the shell's again:
    /// the alternate screen left, typed text echoed, canonical input back.
    private func endFromOutside(
        _ terminal: Tmux, running command: String, in directory: String, ready: String, _ ending: Ending
    ) async throws {
        let pidFile = "\(directory)/ui.pid"
        try? FileManager.default.removeItem(atPath: pidFile)
        try await terminal.type("sh -c 'echo $$ > ui.pid; exec \(command)'")
        try await terminal.waitForScreen("the UI, to end with \(ending)") { $0.contains(ready) }
        #expect(try await terminal.alternateScreen())
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        switch ending {
        case .ctrlC: try await terminal.send("C-c")
        case .sigterm: #expect(kill(pid, SIGTERM) == 0)
        case .sighup: #expect(kill(pid, SIGHUP) == 0)
        }
        try await eventually("the process exits on \(ending)") { kill(pid, 0) != 0 }
        try await eventually("the alternate screen is left") { try await !terminal.alternateScreen() }
        // The shell prints a marker it computes, so the typed command line itself cannot match;
        // the command line itself on the screen is the echo of what was typed.
        let marker = "back-\(ending.rawValue)"
        try await terminal.type("stty -a > stty.txt; echo \(marker)-$((40+2))")
        let screen = try await terminal.waitForScreen("the shell is back") { $0.contains("\(marker)-42") }
        #expect(screen.contains("echo \(marker)-$((40+2))"), "typed text echoes")
        let settings = try String(contentsOfFile: "\(directory)/stty.txt", encoding: .utf8)
        #expect(settings.contains(" icanon") && !settings.contains("-icanon") && settings.contains(" echo "))
        try await terminal.type("clear")
        try await terminal.waitForScreen("a clear screen") { !$0.contains(marker) }
    }

    @Test func ctrlCSigtermAndSighupEndTheDemoAndRestoreTheTerminal() async throws {
        let directory = try makeTemporaryDirectory("demo-signals")
        defer { removeTree(directory) }
        let terminal = try await Tmux(
            width: 100, height: 30, directory: directory,
            environment: ["LANG": "C.UTF-8", "TERM": "screen", "TASKSCOPE_DIR": directory])
        try await terminal.waitForPrompt()
        for ending in Ending.allCases {
            // The demo's workload keeps every thread busy: the case where Ctrl-C used to be lost.
            try await endFromOutside(
                terminal, running: "\(CLI.executable.path) demo", in: directory, ready: "WARNINGS", ending)
        }
        try await terminal.close()
    }

    @Test func ctrlCSigtermAndSighupEndAttachAndRestoreTheTerminal() async throws {
        let demo = try await DemoProcess()
        let terminal = try await Tmux(
            width: 100, height: 30, directory: demo.directory,
            environment: demo.environment.merging(["LANG": "C.UTF-8", "TERM": "screen"]) { $1 })
        try await terminal.waitForPrompt()
        for ending in Ending.allCases {
            try await endFromOutside(
                terminal, running: "\(CLI.executable.path) attach \(demo.pid)", in: demo.directory, ready: "WARNINGS",
                ending)
        }
        #expect(try await demo.interrupt() == 0)
        try await terminal.close()
    }

    @Test func ctrlCSigtermAndSighupEndViewAndRestoreTheTerminal() async throws {
        let demo = try await DemoProcess()
        let snapshot = "\(demo.directory)/saved.json"
        #expect(
            try await CLI.run(["snapshot", "\(demo.pid)", "-o", snapshot], environment: demo.environment).status == 0)
        #expect(try await demo.interrupt() == 0)
        let terminal = try await Tmux(
            width: 100, height: 30, directory: demo.directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        for ending in Ending.allCases {
            try await endFromOutside(
                terminal, running: "\(CLI.executable.path) view \(snapshot)", in: demo.directory,
                ready: "offline: \(snapshot)", ending)
        }
        try await terminal.close()
    }

    @Test func searchAsYouTypeSortThisScreenF1HelpShiftTabCtrlLRedrawAndF10Quit() async throws {
        let demo = try await DemoProcess()
        let snapshot = "\(demo.directory)/saved.json"
        #expect(
            try await CLI.run(["snapshot", "\(demo.pid)", "-o", snapshot], environment: demo.environment).status == 0)
        #expect(try await demo.interrupt() == 0)
        let terminal = try await Tmux(
            width: 100, height: 30, directory: demo.directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) view \(snapshot)")
        try await terminal.waitForScreen("the overview") { $0.contains("WARNINGS") }

        try await terminal.send("F1")
        try await terminal.waitForScreen("the help") { $0.contains("this help") && $0.contains("previous screen") }
        try await terminal.send("Escape")
        try await terminal.waitForScreen("the help closed") { !$0.contains("this help") }

        // Search filters as you type; Enter keeps the filter, Esc clears it.
        try await terminal.send("2")
        try await terminal.waitForScreen("the tasks") { $0.contains("WAIT SITE") && $0.contains("heartbeat") }
        try await terminal.send("/")
        try await terminal.send("queue-con", literal: true)
        // The keys arrive at once; the page for the last of them follows the pages for the first.
        let typing = try await terminal.waitForScreen("only matching rows while typing") { screen in
            screen.contains("/queue-con_") && screen.contains("rows 1-3 of 3")
        }
        #expect(typing.split(separator: "\n").filter { $0.contains("queue-consumer") }.count == 3)
        #expect(!typing.contains("heartbeat"))
        try await terminal.send("Enter")
        try await terminal.waitForScreen("the search kept") {
            $0.contains("search: queue-con") && !$0.contains("heartbeat")
        }
        try await terminal.send("/")
        try await terminal.send("Escape")
        try await terminal.waitForScreen("the search cleared") { !$0.contains("search:") && $0.contains("heartbeat") }

        // s sorts the screen shown, and the arrows choose the column, as in htop and tokio-console.
        try await terminal.send("3")
        try await terminal.waitForScreen("the groups by count") { $0.contains("TASKS▼") && $0.contains("sort: count▼") }
        try await terminal.send("s")
        try await terminal.waitForScreen("the groups by longest") { $0.contains("LONGEST▼") && $0.contains("3 Groups") }
        try await terminal.send("Left")
        try await terminal.waitForScreen("the groups by count again") { $0.contains("TASKS▼") }
        try await terminal.send("2")
        try await terminal.waitForScreen("the tasks, sort untouched") { $0.contains("WAITING▼") }
        try await terminal.send("Right")
        try await terminal.waitForScreen("the tasks by age") { $0.contains("AGE▼") && $0.contains("sort: age▼") }

        // Shift-Tab goes back a screen: from Tasks to the overview.
        try await terminal.send("BTab")
        try await terminal.waitForScreen("the overview again") { $0.contains("WARNINGS") && !$0.contains("WAIT SITE") }

        // Something else writes on the terminal; Ctrl-L paints the screen whole again.
        let tty = try await terminal.paneTTY()
        let handle = try #require(FileHandle(forWritingAtPath: tty))
        handle.write(Data("\u{1B}[5;5HSCRIBBLED-ON-THE-TERMINAL".utf8))
        try handle.close()
        try await terminal.waitForScreen("the scribble") { $0.contains("SCRIBBLED-ON-THE-TERMINAL") }
        try await terminal.send("C-l")
        let repainted = try await terminal.waitForScreen("the scribble gone") { screen in
            !screen.contains("SCRIBBLED") && screen.contains("WARNINGS")
        }
        #expect(repainted.contains("offline: \(snapshot)"))

        try await terminal.send("F10")
        try await eventually("F10 quits") { try await !terminal.alternateScreen() }
        try await terminal.type("echo f10-closed-$((40+2))")
        try await terminal.waitForScreen("the shell is back") { $0.contains("f10-closed-42") }
        try await terminal.close()
    }

    @Test func withoutATerminalTheUISaysSoInOneLine() async throws {
        let result = try await CLI.run(["view", "/nonexistent/snap.json"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("taskscope: /nonexistent/snap.json: cannot read"))
        let notSnapshot = try await CLI.run(["view", "/etc/hostname"])
        #expect(notSnapshot.status == 1)
        #expect(notSnapshot.stderr.contains("/etc/hostname"))
    }

    /// Types `q`, waits for the shell, and returns `stty -a` as the shell then sees it.
    private func quitAndReadTerminalSettings(_ terminal: Tmux, in directory: String) async throws -> String {
        try await terminal.send("q")
        try await terminal.waitForScreen("the UI is gone") { !$0.contains("q quit") }
        try await terminal.send("C-l")
        try await terminal.type("stty -a > stty.txt; echo shell-back-$((40+2))")
        try await terminal.waitForScreen("the shell is back") { $0.contains("shell-back-42") }
        return try String(contentsOfFile: "\(directory)/stty.txt", encoding: .utf8)
    }

    @Test func nonsenseFromTheAgentAndATinyTerminalAreSaidPlainly() async throws {
        let directory = try makeTemporaryDirectory("nonsense")
        defer { removeTree(directory) }
        let socket = "\(directory)/liar.sock"
        let server = try FakeServer(
            path: socket, greeting: FakeServer.agentHello(protocol: 1), answer: "this is no protocol at all\n")
        defer { server.stop() }
        let terminal = try await Tmux(
            width: 100, height: 30, directory: directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach \(socket)")
        try await terminal.waitForScreen("the reply it cannot read, said") { $0.contains("cannot read") }
        // Still a working UI: it switches screens and keeps saying what is wrong.
        try await terminal.send("2")
        try await terminal.waitForScreen("the tasks screen") { $0.contains("WAIT SITE") }

        try await terminal.resize(width: 30, height: 8)
        let tiny = try await terminal.waitForScreen("the size complaint") { $0.contains("too small") }
        #expect(!tiny.contains("WAIT SITE"))
        try await terminal.resize(width: 100, height: 30)
        try await terminal.waitForScreen("the table again") { $0.contains("WAIT SITE") }

        let settings = try await quitAndReadTerminalSettings(terminal, in: directory)
        #expect(settings.contains(" icanon") && !settings.contains("-icanon") && settings.contains(" echo "))
        try await terminal.close()
    }

    @Test func aKilledAgentAndItsVanishedSocketLeaveTheLastDataOnScreen() async throws {
        let demo = try await DemoProcess()
        let terminal = try await attach(to: demo)
        try await terminal.waitForScreen("the overview") { $0.contains("queue.pop") && $0.contains("live") }
        // Killed mid-frame (no clean shutdown), then its socket removed under the UI.
        try await demo.killHard()
        try await terminal.waitForScreen("the process is gone") { $0.contains("process gone") }
        #expect(unlink(demo.socket) == 0)
        let gone = try await terminal.waitForScreen("still gone, socket and all", timeout: .seconds(10)) { screen in
            screen.contains("process gone") && screen.contains("no such file")
        }
        #expect(gone.contains("queue.pop"), "the last data left the screen")
        let settings = try await quitAndReadTerminalSettings(terminal, in: demo.directory)
        #expect(settings.contains(" icanon") && !settings.contains("-icanon") && settings.contains(" echo "))
        try await terminal.close()
    }
}

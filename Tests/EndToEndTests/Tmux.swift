import Foundation
import TestSupport

/// A terminal for tests: a detached tmux session, typed into with send-keys and read with capture-pane.
/// Each has a tmux server of its own (`-L`), so tests (and other suites running tmux at once) never
/// meet a server that another test's last session is shutting down.
final class Tmux: Sendable {
    let session: String
    /// The name of this terminal's own tmux server socket.
    let server: String

    struct Missing: Error, CustomStringConvertible {
        var description: String { "tmux is not installed (scripts/test installs it)" }
    }

    /// Starts `bash` in a new session of `width` x `height`, in `directory`, with `environment`.
    init(width: Int, height: Int, directory: String, environment: [String: String]) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw Missing() }
        session = "taskscope-test-\(UInt32.random(in: 0...UInt32.max))"
        server = session
        let exports = environment.map { "\($0.key)=\($0.value)" }
        try await Tmux.run(
            server: server,
            ["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", "-c", directory]
                + exports.flatMap { ["-e", $0] } + ["bash --norc --noprofile"], capture: false)
    }

    /// Waits for the shell's prompt: keys typed before bash is ready may be lost.
    func waitForPrompt() async throws {
        try await waitForScreen("the shell prompt") { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// Ends the session: the terminal goes away under whatever runs in it.
    func close() async throws {
        try await Tmux.run(server: server, ["kill-server"], capture: false)
    }

    deinit {
        // A test that failed before closing must not leave its session (and its UI) running.
        let server = self.server
        Task { try? await Tmux.run(server: server, ["kill-server"], capture: false) }
    }

    /// Types `keys` (tmux key names, or literal text with `literal`).
    func send(_ keys: String..., literal: Bool = false) async throws {
        try await Tmux.run(
            server: server, ["send-keys", "-t", session] + (literal ? ["-l"] : []) + keys, capture: false)
    }

    /// Types a command line and Enter.
    func type(_ line: String) async throws {
        try await send(line, literal: true)
        try await send("Enter")
    }

    /// The screen's text; with `escapes`, with the escape sequences of its colours and attributes.
    func screen(escapes: Bool = false) async throws -> String {
        try await Tmux.run(server: server, ["capture-pane", "-t", session, "-p"] + (escapes ? ["-e"] : []))
    }

    /// Whether the terminal shows its alternate screen (a full-screen program has it, a shell not).
    func alternateScreen() async throws -> Bool {
        try await Tmux.run(server: server, ["display-message", "-p", "-t", session, "#{alternate_on}"])
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// The terminal device of the session's pane, to write on it behind the program's back.
    func paneTTY() async throws -> String {
        try await Tmux.run(server: server, ["display-message", "-p", "-t", session, "#{pane_tty}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// In the open wait-reason picker, moves to `reason` one row at a time, up or down towards
    /// where it is now drawn, waiting for each move to be drawn before the next: a UI slowed by a
    /// busy machine is never sent past it, and a list re-sorted by new counts (which can carry
    /// the reason to the other side of the selection) is followed. The picker draws its
    /// selected row in reverse video.
    func selectInPicker(_ reason: String, timeout: Duration = .seconds(30)) async throws {
        // Rows of the screen: the selected one (a run in reverse video as wide as the picker's
        // rows, a reason padded to 30 cells then its count, not the tabs, the leak badge or the
        // status line) with its text, and the one where the picker lists `reason`.
        func rows() async throws -> (selected: Int?, text: String, target: Int?) {
            let lines = try await screen(escapes: true).split(separator: "\n", omittingEmptySubsequences: false)
            var selected: (Int, String)?
            for (index, line) in lines.enumerated() where selected == nil {
                let runs = line.split(separator: "\u{1B}[7m", omittingEmptySubsequences: false).dropFirst().map {
                    String($0.prefix { $0 != "\u{1B}" })
                }
                if let run = runs.first(where: { (30...44).contains($0.count) }) { selected = (index, run) }
            }
            let plain = lines.map { $0.replacing(/\x1B\[[0-9;]*m/, with: "") }
            let target = plain.firstIndex { $0.contains("│ \(reason) ") || $0.contains("| \(reason) ") }
            return (selected?.0, selected?.1 ?? "", target)
        }
        try await eventually("\(reason) selected in the picker", timeout: timeout) {
            let now = try await rows()
            if now.text.hasPrefix("\(reason) ") { return true }
            guard let selected = now.selected, let target = now.target else { return false }
            try await send(target < selected ? "Up" : "Down")
            try? await eventually("the selection moved", timeout: .seconds(2)) {
                let moved = try await rows()
                return moved.selected != selected || moved.text != now.text
            }
            return false
        }
    }

    func resize(width: Int, height: Int) async throws {
        try await Tmux.run(
            server: server, ["resize-window", "-t", session, "-x", "\(width)", "-y", "\(height)"], capture: false)
    }

    /// Waits until the screen satisfies `condition`, and returns it.
    @discardableResult
    func waitForScreen(
        _ what: String, timeout: Duration = .seconds(15), _ condition: (String) -> Bool
    ) async throws
        -> String
    {
        var last = ""
        do {
            try await eventually(what, timeout: timeout) {
                last = try await screen()
                return condition(last)
            }
        } catch {
            throw ConditionTimedOut(description: "\(error); the screen was:\n\(last)")
        }
        return last
    }

    /// Runs tmux and fails when it does. Only capture output from commands that cannot start
    /// the tmux server: the server is a daemon that would hold the pipe open for ever.
    @discardableResult
    static func run(server: String, _ arguments: [String], capture: Bool = true) async throws -> String {
        let result = try await Program.run(
            "/usr/bin/tmux", ["-L", server] + arguments, captureOutput: capture, timeout: .seconds(20))
        guard result.status == 0 || arguments.first == "kill-server" else {
            throw TmuxFailed(arguments: arguments, status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    struct TmuxFailed: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stderr: String
        var description: String { "tmux \(arguments.joined(separator: " ")) exited \(status): \(stderr)" }
    }
}

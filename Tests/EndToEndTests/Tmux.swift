import Foundation
import TestSupport

/// A terminal for tests: a detached tmux session, typed into with send-keys and read with capture-pane.
final class Tmux {
    let session: String

    struct Missing: Error, CustomStringConvertible {
        var description: String { "tmux is not installed (scripts/test installs it)" }
    }

    /// Starts `bash` in a new session of `width` x `height`, in `directory`, with `environment`.
    init(width: Int, height: Int, directory: String, environment: [String: String]) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw Missing() }
        session = "taskscope-test-\(UInt32.random(in: 0...UInt32.max))"
        let exports = environment.map { "\($0.key)=\($0.value)" }
        try Tmux.run(
            ["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", "-c", directory]
                + exports.flatMap { ["-e", $0] } + ["bash --norc --noprofile"], capture: false)
    }

    /// Waits for the shell's prompt: keys typed before bash is ready may be lost.
    func waitForPrompt() async throws {
        try await waitForScreen("the shell prompt") { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    deinit { _ = try? Tmux.run(["kill-session", "-t", session], capture: false) }

    /// Types `keys` (tmux key names, or literal text with `literal`).
    func send(_ keys: String..., literal: Bool = false) throws {
        try Tmux.run(["send-keys", "-t", session] + (literal ? ["-l"] : []) + keys, capture: false)
    }

    /// Types a command line and Enter.
    func type(_ line: String) throws {
        try send(line, literal: true)
        try send("Enter")
    }

    /// The screen's text; with `escapes`, with the escape sequences of its colours and attributes.
    func screen(escapes: Bool = false) throws -> String {
        try Tmux.run(["capture-pane", "-t", session, "-p"] + (escapes ? ["-e"] : []))
    }

    func resize(width: Int, height: Int) throws {
        try Tmux.run(["resize-window", "-t", session, "-x", "\(width)", "-y", "\(height)"], capture: false)
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
                last = try screen()
                return condition(last)
            }
        } catch {
            throw ConditionTimedOut(description: "\(error); the screen was:\n\(last)")
        }
        return last
    }

    /// Runs tmux. Only capture output from commands that cannot start the tmux server:
    /// the server is a daemon that would inherit the pipe and hold it open for ever.
    @discardableResult
    static func run(_ arguments: [String], capture: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tmux")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = capture ? output : FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = capture ? output.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

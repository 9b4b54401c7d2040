import Foundation
import ScopeProtocol
import TestSupport
import Testing

/// `--wait REASON` on attach, view and snapshot: one option, and a reason that matches no
/// task says which reasons there are instead of showing nothing.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLIWaitTests {
    /// A terminal that can draw, so that a UI command gets as far as needing a real one.
    static let drawable = ["TERM": "xterm"]
    static let noTerminal = "taskscope: the terminal UI needs a terminal"

    @Test func attachViewAndSnapshotShareOneWaitOption() async throws {
        var helps: [String] = []
        for command in ["attach", "view", "snapshot"] {
            let result = try await CLI.run([command, "--help"])
            #expect(result.status == 0)
            let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let index = try #require(
                lines.firstIndex { $0.hasPrefix("--wait <reason>") }, "\(command): \(result.stdout)")
            helps.append(lines[index])
        }
        #expect(Set(helps).count == 1, "\(helps)")
    }

    @Test func aReasonNobodyWaitsOnIsNamedWithTheReasonsThatExist() async throws {
        let demo = try await DemoProcess()
        let environment = demo.environment.merging(Self.drawable) { $1 }
        try await eventually("the demo's consumers wait on queue.pop") {
            let text = try await CLI.run(["snapshot", "\(demo.pid)", "--format", "text"], environment: environment)
            return text.stdout.contains("queue.pop")
        }

        // The text report: the reasons of the moment, not "no live tracked tasks".
        let text = try await CLI.run(
            ["snapshot", "\(demo.pid)", "--wait", "nosuch", "--format", "text"], environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        let line = try #require(text.stdout.split(separator: "\n").last.map(String.init))
        #expect(line.hasPrefix("no task is waiting on nosuch; reasons now: "), "\(text.stdout)")
        #expect(line.contains("queue.pop (3)"), "\(line)")
        #expect(!text.stdout.contains("no live tracked tasks"))

        // JSON: the empty document stays the answer; standard error says why it is empty.
        let json = try await CLI.run(["snapshot", "\(demo.pid)", "--wait", "nosuch"], environment: environment)
        #expect(json.status == 0)
        #expect(try SnapshotDocument.decode(Data(json.stdout.utf8)).tasks.isEmpty)
        #expect(json.stderr.hasPrefix("taskscope: no task is waiting on nosuch; reasons now: "), "\(json.stderr)")
        #expect(json.stderr.contains("queue.pop (3)"))

        // attach, with a target and without: refused before any screen, naming what exists.
        for arguments in [["attach", "\(demo.pid)", "--wait", "nosuch"], ["attach", "--wait", "nosuch"]] {
            let attach = try await CLI.run(arguments, environment: environment)
            #expect(attach.status == 1, "\(arguments)")
            #expect(attach.stdout.isEmpty)
            #expect(
                attach.stderr.hasPrefix(
                    "taskscope: no task waits on 'nosuch' and it is no built-in reason; reasons now: "),
                "\(arguments): \(attach.stderr)")
            #expect(attach.stderr.contains("queue.pop (3)"))
            #expect(attach.stderr.filter { $0 == "\n" }.count == 1)
        }
        // A built-in reason no task waits on yet may come: accepted (only the missing terminal stops it).
        let builtIn = try await CLI.run(["attach", "\(demo.pid)", "--wait", "task.join"], environment: environment)
        #expect(builtIn.stderr.hasPrefix(Self.noTerminal), "\(builtIn.stderr)")
        let present = try await CLI.run(["attach", "\(demo.pid)", "--wait", "queue.pop"], environment: environment)
        #expect(present.stderr.hasPrefix(Self.noTerminal), "\(present.stderr)")

        // view FILE --wait: the option exists, and checks the reasons of the file.
        let file = "\(demo.directory)/snap.json"
        #expect(try await CLI.run(["snapshot", "\(demo.pid)", "-o", file], environment: environment).status == 0)
        let onlyQueue = "\(demo.directory)/queue.json"
        let queue = try await CLI.run(
            ["snapshot", "\(demo.pid)", "--wait", "queue.pop", "-o", onlyQueue], environment: environment)
        #expect(queue.status == 0)
        #expect(try await demo.interrupt() == 0)
        let view = try await CLI.run(["view", file, "--wait", "queue.pop"], environment: Self.drawable)
        #expect(view.status == 1)
        #expect(view.stderr.hasPrefix(Self.noTerminal), "\(view.stderr)")
        let unknown = try await CLI.run(["view", file, "--wait", "nosuch"], environment: Self.drawable)
        #expect(unknown.status == 1)
        #expect(
            unknown.stderr.hasPrefix(
                "taskscope: no task waits on 'nosuch' and it is no built-in reason; reasons now: "),
            "\(unknown.stderr)")
        #expect(unknown.stderr.contains("queue.pop (3)"))

        // A file holds its own reasons: one taken with --wait queue.pop has no lock.acquire.
        let notInFile = try await CLI.run(["view", onlyQueue, "--wait", "lock.acquire"], environment: Self.drawable)
        #expect(notInFile.status == 1)
        #expect(notInFile.stderr.contains("reasons now: queue.pop (3) (built in"), "\(notInFile.stderr)")
    }
}

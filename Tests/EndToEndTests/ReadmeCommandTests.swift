import Foundation
import TestSupport
import Testing

/// Every `taskscope …` command README.md shows, in its examples (`$ taskscope …` lines) and in
/// its prose (`` `taskscope …` ``), run against the demo: a command the binary does not have
/// (an option, a subcommand) fails here instead of in a reader's terminal.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ReadmeCommandTests {
    static var readme: String {
        get throws {
            let url = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("README.md")
            return try String(contentsOf: url, encoding: .utf8)
        }
    }

    @Test func theCommandsAreFoundInExamplesAndProse() throws {
        let commands = ReadmeCommands.extract(from: try Self.readme)
        let texts = Set(commands.map { $0.joined(separator: " ") })
        // One of each kind the README has: an example line, one of several on a line, inline code
        // over a line break, and the UI's.
        for expected in [
            "taskscope list", "taskscope snapshot 31337 --format text", "taskscope snapshot 31337 -o after.json",
            "taskscope list --json", "taskscope view FILE --wait REASON", "taskscope attach PID",
        ] {
            #expect(texts.contains(expected), "\(expected) in \(texts.sorted())")
        }
        #expect(!texts.contains { $0.hasPrefix("taskscope snapshot of") }, "an example's output is no command")
        #expect(commands.count >= 12)
    }

    @Test func everyCommandTheReadmeShowsIsAccepted() async throws {
        let commands = ReadmeCommands.extract(from: try Self.readme)
        let demo = try await DemoProcess()
        let environment = demo.environment.merging(["TERM": "xterm"]) { $1 }
        let directory = demo.directory
        for name in ["readme.json", "before.json", "after.json"] {
            let made = try await CLI.run(
                ["snapshot", "\(demo.pid)", "-o", "\(directory)/\(name)"], environment: environment)
            #expect(made.status == 0, "\(made.stderr)")
        }
        let substitutes = [
            "31337": "\(demo.pid)", "PID": "\(demo.pid)", "TARGET": "\(demo.pid)",
            "/tmp/taskscope-0/31337.sock": demo.socket, "FILE": "\(directory)/readme.json",
            "OLD": "\(directory)/before.json", "NEW": "\(directory)/after.json", "REASON": "queue.pop",
            "snap.json": "\(directory)/snap.json", "before.json": "\(directory)/before.json",
            "after.json": "\(directory)/after.json",
        ]
        for command in commands {
            let arguments = command.dropFirst().compactMap { word -> String? in
                word == "…" ? nil : substitutes[word] ?? word
            }
            if arguments == ["demo", "--serve"] { continue }  // what DemoProcess runs: it is serving now
            let result = try await CLI.run(Array(arguments), environment: environment)
            if ReadmeCommands.opensTheUI(Array(arguments)) {
                // Accepted and checked up to the screen, which the tests do not have.
                #expect(result.status == 1, "\(command.joined(separator: " ")): \(result.stderr)")
                #expect(
                    result.stderr.contains("needs a terminal"), "\(command.joined(separator: " ")): \(result.stderr)")
            } else {
                #expect(result.status == 0, "\(command.joined(separator: " ")): \(result.stderr)")
            }
        }
        #expect(try await demo.interrupt() == 0)
    }
}

/// The `taskscope` commands of a Markdown text.
enum ReadmeCommands {
    /// Each command as its words, in order of appearance: `$ taskscope …` lines of fenced blocks
    /// (comments dropped, `;`-separated commands apart) and inline code spans `taskscope …`.
    static func extract(from markdown: String) -> [[String]] {
        var commands: [[String]] = []
        var prose = ""
        var fence: String?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                fence = fence == nil ? String(line.dropFirst(3)) : nil
                prose += "\n"
                continue
            }
            guard let language = fence else {
                prose += line + "\n"
                continue
            }
            guard language.isEmpty || language == "text" || language == "sh", line.hasPrefix("$ ") else { continue }
            let withoutComment = line.dropFirst(2).split(separator: " #", maxSplits: 1).first ?? ""
            for part in withoutComment.split(separator: ";") {
                let words = part.split(separator: " ").map(String.init)
                if words.first == "taskscope" { commands.append(words) }
            }
        }
        // Inline code, which may run over a line break.
        let spans = prose.split(separator: "`", omittingEmptySubsequences: false)
        for (index, span) in spans.enumerated() where index % 2 == 1 {
            // What a pipe feeds the output to (`taskscope snapshot PID | head`) is not taskscope's.
            let words = span.split(whereSeparator: \.isWhitespace).map(String.init).prefix { $0 != "|" }
            if words.first == "taskscope", words.count > 1 { commands.append(Array(words)) }
        }
        return commands
    }

    /// Whether `arguments` (after `taskscope`) open the terminal UI.
    static func opensTheUI(_ arguments: [String]) -> Bool {
        switch arguments.first {
        case "attach", "view": true
        case "demo": !arguments.contains("--serve")
        case let first?: first.allSatisfy(\.isNumber) || first.contains("/")
        case nil: true
        }
    }
}

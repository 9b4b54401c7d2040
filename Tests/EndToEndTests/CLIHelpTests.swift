import ScopeUI
import Testing

/// What the CLI says of itself: `--help` says what the UI does, and errors are one plain line.
@Suite struct CLIHelpTests {
    @Test func anAgentThatCannotStartIsOneLineWithOnePrefix() async throws {
        let result = try await CLI.run(["demo", "--serve"], environment: ["TASKSCOPE_DIR": "/proc/taskscope-nope"])
        #expect(result.status == 1)
        #expect(
            result.stderr.hasPrefix("taskscope: cannot create socket directory /proc/taskscope-nope"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("taskscope: taskscope:"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func attachsHelpNamesEveryScreenAndItsKey() async throws {
        let help = try await CLI.run(["attach", "--help"])
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("Keys: 1-\(Screen.allCases.count) or Tab"), "\(text)")
        for screen in Screen.allCases { #expect(text.contains(screen.title.lowercased()), "\(screen)") }
    }
}

import ScopeUI
import Testing

/// What `--help` says of the UI is what the UI does.
@Suite struct CLIHelpTests {
    @Test func attachsHelpNamesEveryScreenAndItsKey() async throws {
        let help = try await CLI.run(["attach", "--help"])
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("Keys: 1-\(Screen.allCases.count) or Tab"), "\(text)")
        for screen in Screen.allCases { #expect(text.contains(screen.title.lowercased()), "\(screen)") }
    }
}

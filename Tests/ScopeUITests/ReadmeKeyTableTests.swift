import Foundation
import Testing

@testable import ScopeUI

@Suite struct ReadmeKeyTableTests {
    /// The README's key table is the binding table, row for row.
    @Test func theReadmeListsEveryKeyInOrder() throws {
        let readme = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let expected = KeyBinding.all.map { "| `\($0.label)` | \($0.help) |" }
        let table = text.split(separator: "\n").map(String.init).filter { row in
            KeyBinding.all.contains { row.hasPrefix("| `\($0.label)` |") }
        }
        #expect(table == expected)
    }
}

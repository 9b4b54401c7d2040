import Foundation
import ScopeProtocol
import Testing

/// docs/PROTOCOL.md documents every operation the agent serves, and no other.
@Suite struct ProtocolDocTests {
    static func protocolText() throws -> String {
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        return try String(contentsOf: file, encoding: .utf8)
    }

    @Test func theOperationsTableAndSectionsNameEveryOperationServed() throws {
        let text = try Self.protocolText()
        let lines = text.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex(of: "## 3. Operations"))
        let end = try #require(lines.firstIndex(of: "## 4. Objects"))
        let section = lines[start..<end]
        // The operations table (its header is "| `op` | …") has one row per operation, each
        // beginning "| `op` |"; each operation has a "### 3.N `op`" heading.
        let header = try #require(section.firstIndex { $0.hasPrefix("| `op` |") })
        let table = section[(header + 2)...].prefix { $0.hasPrefix("|") }
        let rows = table.map { line in String(line.dropFirst(3).prefix { $0 != "`" }) }
        let headings = section.compactMap { line -> String? in
            guard line.hasPrefix("### 3."), let open = line.firstIndex(of: "`") else { return nil }
            return String(line[line.index(after: open)...].prefix { $0 != "`" })
        }
        #expect(rows == Request.operations)
        #expect(headings == Request.operations)
        let counts = [10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen"]
        let said = try #require(counts[Request.operations.count])
        #expect(text.contains("Protocol 1 has \(said) operations."))
    }
}

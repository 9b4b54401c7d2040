import Foundation
import ScopeClient

/// Standard output for every command: one writer that reports write errors, and one JSON
/// encoder configuration, so `list --json` and `diff --json` print JSON alike.
enum Output {
    /// Writes `text` to standard output. A reader that went away ends the command quietly
    /// (see ``reportingFailures(_:)``); any other failure is an error.
    static func write(_ text: String) throws(ScopeClientError) {
        try StandardOutput().write(text)
    }

    /// Writes `value` as JSON, and a newline.
    static func writeJSON(_ value: some Encodable) throws {
        try StandardOutput().write(Array(try encoder.encode(value)) + Array("\n".utf8))
    }

    /// The one JSON configuration of the CLI: indented, keys sorted, `/` not escaped
    /// (paths and `file:line` sites read as they are).
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

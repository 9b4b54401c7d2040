import Foundation

/// Tells a mistyped subcommand (`taskscope atach`) from a target of the default `attach`
/// (`taskscope 1234`, `taskscope ./app.sock`), and suggests the command meant.
enum CommandSuggestion {
    /// The subcommands, as typed.
    static let commands = ["attach", "list", "snapshot", "view", "diff", "demo", "help"]

    /// The line to show when the first argument is neither a command nor a possible target
    /// (a pid, a path with `/`, a `.sock` name or an existing file), else nil.
    static func mistypedCommand(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), !commands.contains(first) else { return nil }
        let couldBeTarget =
            first.allSatisfy(\.isNumber) || first.contains("/") || first.hasSuffix(".sock")
            || FileManager.default.fileExists(atPath: first)
        guard !couldBeTarget else { return nil }
        if let meant = suggestion(for: first) { return "unknown command '\(first)'; did you mean '\(meant)'?" }
        return "unknown command '\(first)'; the commands are \(commands.dropLast().joined(separator: ", ")) "
            + "(attach takes a pid or a socket path)"
    }

    /// The command closest to `word`: within two edits, or one it starts.
    static func suggestion(for word: String) -> String? {
        let scored = commands.map { ($0, distance(word.lowercased(), $0)) }
        if let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 { return best.0 }
        return commands.first { $0.hasPrefix(word.lowercased()) && word.count >= 2 }
    }

    /// The Levenshtein distance. Cost: `a.count × b.count`, for words of a few letters.
    static func distance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}

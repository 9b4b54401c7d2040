/// What a `tasks` query's `text` matches, read once per query and shared by the agent and
/// by queries over a snapshot, so that both find the same tasks.
///
/// A task matches when any of these holds (case-insensitive):
/// - its name, spawn file, spawn function, wait file or trace id contains the text;
/// - the text is a task id, `42` or `#42`, and the task's id is that number;
/// - the text is a site written `file:line` (as warnings and tables print one), and the
///   task's wait site or spawn site is at that line of a file whose `#fileID` ends with
///   `file`: `DemoLeaks.swift:166` and `taskscope/DemoLeaks.swift:166` both match a task
///   waiting at `taskscope/DemoLeaks.swift:166`.
///
/// Cost: the text is lowercased and parsed once; each task costs a few substring searches.
public struct TaskTextMatch: Sendable {
    /// The lowercased text, for the substring rules.
    public let needle: String
    /// The id the text names (`42` or `#42`), if it is one.
    public let id: UInt64?
    /// The lowercased file suffix and the line, when the text is `file:line`.
    public let site: (file: String, line: Int)?

    /// Reads `text`; `nil` when it is absent or empty (no filter).
    public init?(_ text: String?) {
        guard let text, !text.isEmpty else { return nil }
        let needle = text.lowercased()
        self.needle = needle
        let digits = needle.hasPrefix("#") ? needle.dropFirst() : Substring(needle)
        id = digits.allSatisfy(\.isASCII) ? UInt64(digits) : nil
        if let colon = needle.lastIndex(of: ":"), let line = Int(needle[needle.index(after: colon)...]),
            colon != needle.startIndex
        {
            site = (String(needle[..<colon]), line)
        } else {
            site = nil
        }
    }

    /// Whether a task with these fields matches.
    public func matches(
        id: UInt64, name: String, spawnFile: String, spawnLine: Int, spawnFunction: String?, waitFile: String?,
        waitLine: Int?, trace: String? = nil
    ) -> Bool {
        if let wanted = self.id, wanted == id { return true }
        if let site {
            if spawnLine == site.line, spawnFile.lowercased().hasSuffix(site.file) { return true }
            if let waitFile, waitLine == site.line, waitFile.lowercased().hasSuffix(site.file) { return true }
        }
        return name.lowercased().contains(needle) || spawnFile.lowercased().contains(needle)
            || (spawnFunction?.lowercased().contains(needle) ?? false)
            || (waitFile?.lowercased().contains(needle) ?? false)
            || (trace?.lowercased().contains(needle) ?? false)
    }
}

import Foundation
import ScopeProtocol

/// How a process's tasks changed between two snapshots: group by group (wait
/// reason, wait site, spawn site), largest growth first, and which warnings
/// appeared or went away. The "two snapshots an hour apart" view of a slow leak.
///
/// Cost: one pass over each document's tasks, then a sort of the groups.
public struct SnapshotDiff: Codable, Sendable, Hashable {
    /// One side of the comparison.
    public struct Side: Codable, Sendable, Hashable {
        public var process: String
        public var pid: Int32
        public var capturedAt: Double
        public var liveTasks: Int
    }

    /// A group and its live tasks before and after.
    public struct Row: Codable, Sendable, Hashable {
        public var reason: String?
        public var waitSite: SourceSite?
        public var spawnSite: SourceSite
        public var before: Int
        public var after: Int
        /// `after - before`.
        public var change: Int
    }

    /// Waiting tasks that share an async stack (by its functions) and a wait reason, before
    /// and after: snapshots taken with `--stacks` only.
    public struct StackRow: Codable, Sendable, Hashable {
        public var reason: String?
        /// The stack's functions, short, innermost first.
        public var frames: [String]
        public var before: Int
        public var after: Int
        public var change: Int
    }

    public var old: Side
    public var new: Side
    /// The stack groups whose counts changed, largest growth first; nil unless both snapshots
    /// carry stacks.
    public var stackChanges: [StackRow]?
    /// Which snapshot lacked stacks when only one had them.
    public var stacksMissing: String?
    /// The groups whose counts changed, largest growth first (then largest drop last).
    public var changed: [Row]
    /// Groups present in both with the same count.
    public var unchanged: Int
    /// Warnings in the new snapshot that the old one did not have.
    public var newWarnings: [Warning]
    /// Warnings of the old snapshot that the new one no longer has.
    public var resolvedWarnings: [Warning]
    /// Whether the "new" snapshot was captured before the "old" one (the files given in
    /// reverse order): every change then runs backwards in time, and the text says so.
    public var isBackwards: Bool { new.capturedAt < old.capturedAt }

    /// Compares `old` with `new`.
    public init(old: SnapshotDocument, new: SnapshotDocument) {
        func counts(_ document: SnapshotDocument) -> [SiteGroup.Key: Int] {
            var counts: [SiteGroup.Key: Int] = [:]
            for task in document.tasks where task.state != .finished { counts[SiteGroup.Key(task), default: 0] += 1 }
            return counts
        }
        func side(_ document: SnapshotDocument) -> Side {
            Side(
                process: document.process.name, pid: document.process.pid, capturedAt: document.capturedAt,
                liveTasks: document.tasks.count { $0.state != .finished })
        }
        let before = counts(old)
        let after = counts(new)
        var rows: [Row] = []
        var unchanged = 0
        for key in Set(before.keys).union(after.keys) {
            let (was, now) = (before[key] ?? 0, after[key] ?? 0)
            guard was != now else {
                unchanged += 1
                continue
            }
            rows.append(
                Row(
                    reason: key.reason, waitSite: key.waitSite, spawnSite: key.spawnSite, before: was, after: now,
                    change: now - was))
        }
        rows.sort { lhs, rhs in
            if lhs.change != rhs.change { return lhs.change > rhs.change }
            if lhs.after != rhs.after { return lhs.after > rhs.after }
            return (lhs.reason ?? "", lhs.spawnSite.description) < (rhs.reason ?? "", rhs.spawnSite.description)
        }
        let oldWarnings = Set(old.warnings.map(WarningIdentity.init))
        let newWarnings = Set(new.warnings.map(WarningIdentity.init))
        self.old = side(old)
        self.new = side(new)
        self.changed = rows
        self.unchanged = unchanged
        self.newWarnings = new.warnings.filter { !oldWarnings.contains(WarningIdentity($0)) }
        self.resolvedWarnings = old.warnings.filter { !newWarnings.contains(WarningIdentity($0)) }
        switch (old.stacks, new.stacks) {
        case (let oldStacks?, let newStacks?):
            self.stackChanges = Self.stackRows(old: old, oldStacks, new: new, newStacks)
        case (nil, _?): self.stacksMissing = "the first snapshot has no stacks (take both with --stacks)"
        case (_?, nil): self.stacksMissing = "the second snapshot has no stacks (take both with --stacks)"
        case (nil, nil): break
        }
    }

    private struct StackKey: Hashable {
        var reason: String?
        var frames: [String]
    }

    /// Stack groups compared by their functions (addresses move between builds and restarts).
    private static func stackRows(
        old: SnapshotDocument, _ oldStacks: [StackInfo], new: SnapshotDocument, _ newStacks: [StackInfo]
    ) -> [StackRow] {
        func counts(_ document: SnapshotDocument, _ stacks: [StackInfo]) -> [StackKey: Int] {
            let names = Dictionary(stacks.map { ($0.id, $0.frames.map(\.shortName)) }, uniquingKeysWith: { a, _ in a })
            var counts: [StackKey: Int] = [:]
            for task in document.tasks {
                guard let stack = task.stack, let frames = names[stack] else { continue }
                counts[StackKey(reason: task.wait, frames: frames), default: 0] += 1
            }
            return counts
        }
        let before = counts(old, oldStacks)
        let after = counts(new, newStacks)
        var rows: [StackRow] = []
        for key in Set(before.keys).union(after.keys) {
            let (was, now) = (before[key] ?? 0, after[key] ?? 0)
            if was != now {
                rows.append(
                    StackRow(reason: key.reason, frames: key.frames, before: was, after: now, change: now - was))
            }
        }
        return rows.sorted { lhs, rhs in
            if lhs.change != rhs.change { return lhs.change > rhs.change }
            if lhs.after != rhs.after { return lhs.after > rhs.after }
            return lhs.frames.lexicographicallyPrecedes(rhs.frames)
        }
    }

    /// The diff as text: a header, a table of the changed groups, then the warnings.
    public func render() -> String {
        var lines: [String] = []
        let from = Date(timeIntervalSince1970: old.capturedAt).ISO8601Format()
        let to = Date(timeIntervalSince1970: new.capturedAt).ISO8601Format()
        let apart = DurationText.format(abs(new.capturedAt - old.capturedAt))
        lines.append("taskscope diff of \(new.process) (pid \(new.pid)): \(from) to \(to), \(apart) apart")
        if isBackwards {
            lines.append(
                "note: the second snapshot was captured \(apart) before the first, so every change below runs "
                    + "backwards in time; give the older file first")
        }
        if old.pid != new.pid || old.process != new.process {
            lines.append("note: the snapshots are of different processes (\(old.process) pid \(old.pid) before)")
        }
        lines.append("live tasks: \(old.liveTasks) to \(new.liveTasks) (\(Self.signed(new.liveTasks - old.liveTasks)))")
        lines.append("")
        if changed.isEmpty {
            lines.append("no group of live tasks changed (\(unchanged) the same)")
        } else {
            let table = changed.map { row in
                [
                    Self.signed(row.change), "\(row.before)", "\(row.after)", row.reason ?? "(active)",
                    row.waitSite?.description ?? "-",
                    // With its function, as the grouped report shows it: a request scope's is its route.
                    "\(row.spawnSite) \(row.spawnSite.function ?? "")".trimmingCharacters(in: .whitespaces),
                ]
            }
            lines += TextTable.render(
                header: ["CHANGE", "BEFORE", "AFTER", "REASON", "WAIT SITE", "SPAWN SITE"], rows: table,
                rightAligned: [0, 1, 2])
            if unchanged > 0 { lines.append("(\(unchanged) groups unchanged)") }
        }
        if let stackChanges {
            lines.append("")
            if stackChanges.isEmpty {
                lines.append("BY STACK: no stack's count of waiting tasks changed")
            } else {
                lines.append("BY STACK (innermost first)")
                let table = stackChanges.map { row in
                    [
                        Self.signed(row.change), "\(row.before)", "\(row.after)", row.reason ?? "-",
                        row.frames.joined(separator: " < "),
                    ]
                }
                lines += TextTable.render(
                    header: ["CHANGE", "BEFORE", "AFTER", "REASON", "STACK"], rows: table, rightAligned: [0, 1, 2])
            }
        } else if let stacksMissing {
            lines.append("")
            lines.append("by stack: not compared, \(stacksMissing)")
        }
        for (title, warnings) in [("NEW WARNINGS", newWarnings), ("RESOLVED WARNINGS", resolvedWarnings)]
        where !warnings.isEmpty {
            lines.append("")
            lines.append(title)
            for warning in warnings {
                lines.append("  \(warning.severity.rawValue) \(warning.rule.rawValue): \(warning.message)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func signed(_ value: Int) -> String { value > 0 ? "+\(value)" : "\(value)" }
}

/// What makes two warnings the same one in two snapshots: the rule and what it is
/// about, not the counts or the ids, which move.
private struct WarningIdentity: Hashable {
    var rule: LeakRule
    var name: String?
    var site: SourceSite?
    var reason: String?

    init(_ warning: Warning) {
        rule = warning.rule
        name = warning.name
        site = warning.site.map { SourceSite(file: $0.file, line: $0.line) }
        reason = warning.reason
    }
}

import Foundation
import ScopeProtocol

/// The async stacks report (`taskscope snapshot --by stack --format text`): like a goroutine
/// profile's `debug=1` view, one block per group of waiting tasks that share an async call stack
/// and a wait reason, largest first, with the wait and how long, then the stack's frames, the
/// innermost first. Frames the groups shown share with every other group are marked, so the
/// frames that tell the groups apart stand out.
public enum StackReport {
    /// The report as text.
    public static func render(_ list: StackList, process: String, pid: Int32, at date: Date = Date()) -> String {
        var lines = [
            "taskscope stacks of \(process) (pid \(pid)) at \(date.ISO8601Format())"
        ]
        if let reason = list.unavailable {
            lines.append("no async stacks: \(reason)")
            return lines.joined(separator: "\n") + "\n"
        }
        let tasks = list.groups.reduce(0) { $0 + $1.count }
        var counts = "\(tasks) waiting \(tasks == 1 ? "task" : "tasks") in \(list.total) "
        counts += list.total == 1 ? "group" : "groups"
        if list.groups.count < list.total { counts += " (the \(list.groups.count) largest shown)" }
        if list.unreadable > 0 { counts += "; \(list.unreadable) more resumed while read" }
        lines.append(counts)
        let shared = sharedFrames(list)
        for group in list.groups {
            lines.append("")
            let ids = group.sampleIDs.map(String.init).joined(separator: " ")
            lines.append(
                "\(group.count) \(group.count == 1 ? "task" : "tasks") waiting on \(group.reason ?? "-") "
                    + "for up to \(DurationText.format(group.longest))  (tasks \(ids)\(group.count > group.sampleIDs.count ? " …" : ""))"
            )
            guard let stack = list.stack(group.stack) else { continue }
            for frame in stack.frames {
                let mark = shared.contains(frame) ? "    " : "  > "
                lines.append(mark + (frame.function ?? frame.moduleOffset))
                lines.append("        " + frame.place)
            }
            if stack.truncated { lines.append("    … deeper frames not read") }
        }
        if list.groups.count > 1 {
            lines.append("")
            lines.append("> marks the frames that tell a stack from the others")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The frames every stack shown holds (none when one stack is shown: nothing to tell apart).
    static func sharedFrames(_ list: StackList) -> Set<StackFrame> {
        let shown = list.groups.compactMap { list.stack($0.stack) }
        guard shown.count > 1 else { return Set(shown.first?.frames ?? []) }
        return shown.dropFirst().reduce(Set(shown[0].frames)) { $0.intersection($1.frames) }
    }
}

import Foundation
import ScopeProtocol

/// The grouped, human report of a snapshot: a header with the process and its
/// counts, then one line per group of live tasks (count, reason, longest
/// time, wait site, spawn site), largest group first.
///
/// Built incrementally, so a million tasks can stream through it in constant memory
/// per group.
public struct GroupedReport: Sendable {
    private var groups: [SiteGroup.Key: SiteGroup] = [:]
    /// The snapshot's head, when known.
    public var head: SnapshotHead?
    /// Live tasks added.
    public private(set) var liveTasks = 0
    /// With a trace filter, the first tasks of the trace (finished ones too: a request's), listed
    /// one by one after the groups, and how many there were.
    private var traceTasks: [TaskInfo] = []
    private var traceTaskCount = 0

    /// How many tasks of a trace the report lists one by one; the rest are counted.
    public static let traceTaskLimit = 50

    public init(head: SnapshotHead? = nil) { self.head = head }

    /// Adds a task; finished tasks are counted in the header only (and listed under a trace filter).
    public mutating func add(_ task: TaskInfo) {
        if head?.trace != nil {
            traceTaskCount += 1
            if traceTasks.count < GroupedReport.traceTaskLimit { traceTasks.append(task) }
        }
        guard task.state != .finished else { return }
        liveTasks += 1
        let key = SiteGroup.Key(task)
        groups[key, default: SiteGroup(key: key)].add(task)
    }

    /// The groups, largest first; ties by longest time, then by site.
    public var sortedGroups: [SiteGroup] {
        groups.values.sorted(by: SiteGroup.byImportance)
    }

    /// The report as text.
    public func render() -> String {
        var lines: [String] = []
        if let head {
            let when = Date(timeIntervalSince1970: head.capturedAt).ISO8601Format()
            let summary = head.summary
            lines.append(
                "taskscope snapshot of \(head.process.name) (pid \(head.process.pid)) at \(when), "
                    + "up \(DurationText.format(summary.uptime))")
            lines.append(
                "tasks: \(summary.tasks.live) live (\(summary.tasks.active) active, \(summary.tasks.waiting) waiting), "
                    + "\(summary.tasks.finished) finished retained; totals: \(summary.totals.spawned) spawned, "
                    + "\(summary.totals.completed) completed, \(summary.totals.cancelled) cancelled, "
                    + "\(summary.totals.failed) failed")
            if let filter = head.filter { lines.append("filter: tasks waiting for \(filter)") }
            if let trace = head.trace { lines.append("filter: tasks started in trace \(trace)") }
            lines.append("")
        }
        if let head, !head.warnings.isEmpty {
            lines.append("WARNINGS")
            for warning in head.warnings {
                lines.append("  \(warning.severity.rawValue) \(warning.rule.rawValue): \(warning.message)")
                if !warning.taskIDs.isEmpty {
                    lines.append("    task ids: \(warning.taskIDs.map(String.init).joined(separator: ","))")
                }
                lines.append("    fix: \(warning.hint)")
            }
            lines.append("")
        }
        let rows = sortedGroups
        guard !rows.isEmpty else {
            if let head, let trace = head.trace {
                lines.append(
                    traceTaskCount == 0 ? GroupedReport.noTask(ofTrace: trace) : "no live task of trace \(trace)")
                lines.append(contentsOf: traceLines())
            } else if let head, let filter = head.filter {
                lines.append(ReasonsNow.noTask(waitingOn: filter, waits: head.summary.waits))
            } else {
                lines.append("no live tracked tasks")
            }
            return lines.joined(separator: "\n") + "\n"
        }
        let table = rows.map { group -> [String] in
            [
                "\(group.count)", group.key.reason ?? "(active)", DurationText.format(group.longest),
                group.key.waitSite?.description ?? "-",
                "\(group.key.spawnSite) \(group.key.spawnSite.function ?? "")".trimmingCharacters(in: .whitespaces),
                group.sampleIDs.map(String.init).joined(separator: ","),
            ]
        }
        lines += TextTable.render(
            header: ["TASKS", "REASON", "LONGEST", "WAIT SITE", "SPAWN SITE", "IDS"], rows: table,
            rightAligned: [0, 2])
        lines.append(contentsOf: traceLines())
        if let head, !head.resources.isEmpty {
            lines.append("")
            lines.append(contentsOf: resourceLines(head.resources))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What a trace filter that matched no task says.
    public static func noTask(ofTrace trace: String) -> String {
        "no task of trace \(trace): a tracked task or request scope records the trace of the span it starts in "
            + "(swift-distributed-tracing); none here did, or they have left the finished tasks' retention"
    }

    /// The trace's tasks one by one: a request's scope, its children, finished ones too.
    private func traceLines() -> [String] {
        guard let trace = head?.trace, !traceTasks.isEmpty else { return [] }
        let rows = traceTasks.map { task -> [String] in
            let what = task.state == .finished ? (task.outcome?.rawValue ?? "-") : (task.wait ?? "-")
            return [
                "\(task.id)", task.state.rawValue, task.name, what, DurationText.format(task.inState),
                "\(task.spawnSite) \(task.spawnSite.function ?? "")".trimmingCharacters(in: .whitespaces),
            ]
        }
        var lines = ["", "TASKS OF TRACE \(trace)"]
        lines += TextTable.render(
            header: ["ID", "STATE", "NAME", "WAIT/OUTCOME", "FOR", "SPAWN SITE"], rows: rows, rightAligned: [0, 4])
        if traceTaskCount > traceTasks.count {
            lines.append("… and \(traceTaskCount - traceTasks.count) more tasks of the trace")
        }
        return lines
    }

    /// How many resources the report lists; the rest are counted.
    public static let resourceLimit = 50

    private func resourceLines(_ resources: [ResourceInfo]) -> [String] {
        let ordered = resources.sorted { lhs, rhs in lhs.orphaned != rhs.orphaned ? lhs.orphaned : lhs.id < rhs.id }
        let rows = ordered.prefix(GroupedReport.resourceLimit).map { resource -> [String] in
            let blocked = (resource.blockedSending ?? 0) + (resource.blockedReceiving ?? 0) + (resource.waiting ?? 0)
            return [
                resource.orphaned ? "!" : "", "\(resource.id)", resource.kind.rawValue, resource.name, resource.state,
                "\(blocked)",
                resource.owner.map { "\($0)\(resource.ownerFinished == true ? " (finished)" : "")" } ?? "-",
                resource.site.description,
            ]
        }
        var lines = TextTable.render(
            header: ["", "RESOURCE", "KIND", "NAME", "STATE", "WAITING", "OWNER", "SITE"], rows: rows, separator: " ")
        if ordered.count > GroupedReport.resourceLimit {
            lines.append("… and \(ordered.count - GroupedReport.resourceLimit) more resources")
        }
        return lines
    }
}

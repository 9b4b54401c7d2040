import Foundation
import ScopeProtocol

/// A snapshot document, answering the UI's queries from memory.
public final class SnapshotSource: ScopeSource {
    public let path: String
    public let document: SnapshotDocument
    public var label: String { path }
    public var isOffline: Bool { true }

    /// Reads and checks the snapshot at `path`.
    ///
    /// - Throws: ``ScopeClientError/file(path:reason:)`` naming the problem.
    public init(path: String) throws(ScopeClientError) {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .file(path: path, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        do {
            document = try SnapshotDocument.decode(data)
        } catch {
            throw .file(path: path, reason: error.description)
        }
    }

    public func connect() async throws(ScopeClientError) -> Hello {
        Hello(
            agentVersion: document.process.agentVersion, pid: document.process.pid, process: document.process.name,
            started: document.process.started, interval: document.history.interval, maxLineBytes: 0)
    }

    public func summary() async throws(ScopeClientError) -> Summary { document.summary }

    public func history(limit: Int) async throws(ScopeClientError) -> [HistorySample] {
        Array(document.history.samples.suffix(limit))
    }

    public func warnings() async throws(ScopeClientError) -> [Warning] { document.warnings }

    public func resources() async throws(ScopeClientError) -> [ResourceInfo] {
        document.resources.sorted { lhs, rhs in lhs.orphaned != rhs.orphaned ? lhs.orphaned : lhs.id < rhs.id }
    }

    public func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup] {
        var report = GroupedReport()
        for task in document.tasks where query.wait == nil || task.wait == query.wait { report.add(task) }
        return Array(report.sortedGroups.prefix(query.limit))
    }

    public func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage {
        LocalQuery.page(document.tasks, query)
    }

    public func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail {
        guard let task = document.tasks.first(where: { $0.id == id }) else {
            throw .server(ProtocolError(.notFound, "no task \(id) in \(path)"))
        }
        return TaskDetail(
            task: task, parent: task.parent.flatMap { parent in document.tasks.first { $0.id == parent } },
            children: document.tasks.filter { $0.parent == id }.sorted { $0.id < $1.id })
    }

    public func export(to path: String) async throws(ScopeClientError) {
        let file = try AtomicFile(path: path)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try file.write(try encoder.encode(document))
            try file.commit()
        } catch {
            file.abandon()
            throw (error as? ScopeClientError) ?? .file(path: path, reason: "\(error)")
        }
    }
}

/// The agent's task filters and sorts, over tasks in memory.
enum LocalQuery {
    static func page(_ tasks: [TaskInfo], _ query: TaskQuery) -> TaskPage {
        let needle = query.text.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        var matches = tasks.filter { task in
            switch query.state {
            case nil: break
            case .live?: if task.state == .finished { return false }
            case .active?: if task.state != .active { return false }
            case .waiting?: if task.state != .waiting { return false }
            case .finished?: if task.state != .finished { return false }
            }
            if let wait = query.wait, task.wait != wait { return false }
            if let minWait = query.minWait, task.state != .waiting || task.inState < minWait { return false }
            if let site = query.waitSite, task.waitSite?.file != site.file || task.waitSite?.line != site.line {
                return false
            }
            if let site = query.spawnSite, task.spawnSite.file != site.file || task.spawnSite.line != site.line {
                return false
            }
            if let resource = query.resource, task.resource != resource { return false }
            if let needle {
                let haystack = [
                    task.name, task.spawnSite.file, task.spawnSite.function ?? "", task.waitSite?.file ?? "",
                ]
                if !haystack.contains(where: { $0.lowercased().contains(needle) }) { return false }
            }
            return true
        }
        let descending = query.isDescending
        matches.sort { lhs, rhs in
            switch query.sort {
            case .id: return (lhs.id < rhs.id) != descending
            case .name: return lhs.name != rhs.name ? (lhs.name < rhs.name) != descending : lhs.id < rhs.id
            case .state:
                let (left, right) = (TaskQuery.SortKey.rank(lhs.state), TaskQuery.SortKey.rank(rhs.state))
                return left != right ? (left < right) != descending : lhs.id < rhs.id
            case .reason:
                let (left, right) = (lhs.wait ?? "", rhs.wait ?? "")
                return left != right ? TaskQuery.SortKey.reasonOrder(left, right) != descending : lhs.id < rhs.id
            case .age: return lhs.created != rhs.created ? (lhs.created > rhs.created) != descending : lhs.id < rhs.id
            case .wait:
                return lhs.waitingFor != rhs.waitingFor
                    ? (lhs.waitingFor < rhs.waitingFor) != descending : lhs.id < rhs.id
            }
        }
        let start = min(query.offset, matches.count)
        let end = min(start + query.limit, matches.count)
        return TaskPage(total: matches.count, offset: query.offset, tasks: Array(matches[start..<end]))
    }
}

import Foundation
import ScopeProtocol

/// A snapshot document, answering the UI's queries from memory.
public final class SnapshotSource: ScopeSource {
    public let path: String
    public let document: SnapshotDocument
    public var label: String { path }
    public var isOffline: Bool { true }

    /// Reads and checks the snapshot at `path`, refusing one larger than `maxBytes`.
    ///
    /// Cost: the file is read whole into memory and decoded; a file (or a pipe, or a
    /// device that never ends) larger than `maxBytes` is refused without reading past it.
    ///
    /// - Throws: ``ScopeClientError/file(path:reason:)`` naming the problem.
    public init(path: String, maxBytes: Int = ScopeConnection.defaultMaxSnapshotBytes) throws(ScopeClientError) {
        self.path = path
        let data = try Self.contents(of: path, maxBytes: maxBytes)
        do {
            document = try SnapshotDocument.decode(data)
        } catch {
            throw .file(path: path, reason: error.description)
        }
    }

    /// The bytes at `path`, at most `maxBytes` of them.
    private static func contents(of path: String, maxBytes: Int) throws(ScopeClientError) -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .file(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw .file(path: path, reason: "is a directory") }
            if (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) > maxBytes { throw tooLarge(path, maxBytes) }
        }
        // Read in pieces whatever it is: a pipe or a device has no size to check first.
        var data = Data()
        let piece = 1 << 20
        var buffer = [UInt8](repeating: 0, count: piece)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, piece) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .file(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return data }
            guard data.count + count <= maxBytes else { throw tooLarge(path, maxBytes) }
            data.append(contentsOf: buffer[..<count])
        }
    }

    private static func tooLarge(_ path: String, _ maxBytes: Int) -> ScopeClientError {
        .file(path: path, reason: "larger than \(ByteText.format(maxBytes)); not read (--max-bytes raises the limit)")
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

    public func stacks(_ query: StackQuery) async throws(ScopeClientError) -> StackList {
        StackList(unavailable: "a snapshot file holds no async stacks; attach to the process to read them")
    }

    public func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup] {
        var report = GroupedReport()
        for task in document.tasks where query.wait == nil || task.wait == query.wait { report.add(task) }
        return Array(report.sortedGroups.prefix(query.limit))
    }

    public func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage {
        LocalQuery.page(document.tasks, query, in: LocalQuery.Context(document))
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
    /// What the filters need besides the tasks: the moment they were read, and what the `rule`
    /// filter draws its lines by (the warnings, the resources and the agent's thresholds).
    struct Context {
        var capturedAt: Double?
        var warnings: [Warning] = []
        var orphaned: Set<UInt64> = []
        var rules: RuleThresholds = .defaults
        /// Where each resource was made, for the `resourceSite` filter and folded warnings.
        var resourceSites: [UInt64: SourceSite] = [:]

        init(
            capturedAt: Double?, warnings: [Warning] = [], orphaned: Set<UInt64> = [], rules: RuleThresholds? = nil,
            resourceSites: [UInt64: SourceSite] = [:]
        ) {
            self.capturedAt = capturedAt
            self.warnings = warnings
            self.orphaned = orphaned
            self.rules = rules ?? .defaults
            self.resourceSites = resourceSites
        }

        init(_ document: SnapshotDocument) {
            self.init(
                capturedAt: document.capturedAt, warnings: document.warnings,
                orphaned: Set(document.resources.lazy.filter(\.orphaned).map(\.id)), rules: document.rules,
                resourceSites: Dictionary(
                    document.resources.map { ($0.id, $0.site) }, uniquingKeysWith: { first, _ in first }))
        }
    }

    static func page(_ tasks: [TaskInfo], _ query: TaskQuery, in context: Context) -> TaskPage {
        let text = TaskTextMatch(query.text)
        let rule = query.rule.map { RuleScope(rule: $0, warnings: context.warnings) }
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
            if let site = query.resourceSite {
                guard let made = task.resource.flatMap({ context.resourceSites[$0] }),
                    made.file == site.file && made.line == site.line
                else { return false }
            }
            if let ids = query.ids, !ids.contains(task.id) { return false }
            if let trace = query.trace, task.trace != trace { return false }
            if let text {
                let found = text.matches(
                    id: task.id, name: task.name, spawnFile: task.spawnSite.file, spawnLine: task.spawnSite.line,
                    spawnFunction: task.spawnSite.function, waitFile: task.waitSite?.file,
                    waitLine: task.waitSite?.line, trace: task.trace)
                if !found { return false }
            }
            if let rule, !holds(rule, for: task, in: context) { return false }
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
        return TaskPage(
            total: matches.count, offset: query.offset, tasks: Array(matches[start..<end]),
            capturedAt: context.capturedAt)
    }

    /// Whether the rule of `scope` held for `task` when it was read, as the agent decides it
    /// (see `RuleFilter` in the agent): the same warnings, the same thresholds.
    static func holds(_ scope: RuleScope, for task: TaskInfo, in context: Context) -> Bool {
        guard task.state != .finished, !context.rules.disabled.contains(scope.rule) else { return false }
        switch scope.rule {
        case .deadlock, .blockedForever, .blockedExecutor:
            return scope.names(task: task.id)
        case .orphanedChannel, .orphanedTimer, .leakedContinuation, .leakedWaitGroup, .leakedPermit, .abandonedChannel:
            guard let resource = task.resource, let reason = task.wait else { return false }
            return scope.names(resource: resource, madeAt: context.resourceSites[resource], reason: reason)
        case .stuckWait:
            guard task.state == .waiting else { return false }
            return task.inState >= context.rules.stuckWait
                && !(task.resource.map(context.orphaned.contains) ?? false)
        case .ignoredCancellation:
            guard task.cancelled, task.adopted != true, let cancelledAt = task.cancelledAt,
                let capturedAt = context.capturedAt
            else { return false }
            return capturedAt - cancelledAt >= context.rules.ignoredCancellation
        case .runawaySpawn:
            return scope.names(spawnFile: task.spawnSite.file, line: task.spawnSite.line)
        }
    }
}

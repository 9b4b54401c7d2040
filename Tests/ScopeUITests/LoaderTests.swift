import ScopeClient
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import ScopeUI

/// A source that answers from fixtures and records what it was asked.
final class RecordingSource: ScopeSource {
    let label: String
    let isOffline = false
    private let asked = Mutex<[String]>([])

    init(label: String) { self.label = label }

    /// What it was asked, in order (`connect`, `tasks offset N`, `groups wait W`…).
    var requests: [String] { asked.withLock { $0 } }

    private func record(_ request: String) { asked.withLock { $0.append(request) } }

    func connect() async throws(ScopeClientError) -> Hello {
        record("connect")
        return Fixtures.hello
    }
    func summary() async throws(ScopeClientError) -> Summary {
        record("summary")
        return Fixtures.summary
    }
    func history(limit: Int) async throws(ScopeClientError) -> [HistorySample] {
        record("history")
        return Fixtures.history
    }
    func warnings() async throws(ScopeClientError) -> [Warning] {
        record("warnings")
        return Fixtures.warnings
    }
    func resources() async throws(ScopeClientError) -> [ResourceInfo] {
        record("resources")
        return Fixtures.resources
    }
    func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup] {
        record("groups wait \(query.wait ?? "-")")
        return Fixtures.groups
    }

    func stacks(_ query: StackQuery) async throws(ScopeClientError) -> StackList {
        record("stacks ids \(query.ids)")
        return StackList(unavailable: "recorded")
    }
    func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage {
        record("tasks offset \(query.offset)")
        return Fixtures.page
    }
    func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail {
        record("task \(id)")
        return TaskDetail(task: Fixtures.task(id, "t"), parent: nil, children: [])
    }
    func export(to path: String) async throws(ScopeClientError) { record("export") }
}

@Suite struct LoaderTests {
    /// A plan with the refresh an hour away: whatever is loaded after the first load was woken by a change.
    @Test func aNewPlanOrSourceIsLoadedAtOnceWithoutWaitingForTheRefresh() async throws {
        let source = RecordingSource(label: "first")
        let actions = Mutex<[String]>([])
        var state = Fixtures.state()
        let loader = Loader(source: source, plan: LoadPlan(state), refresh: .seconds(3600)) { action in
            if case .connected(let hello) = action { actions.withLock { $0.append("connected \(hello.pid)") } }
        }
        let running = Task { await loader.run() }
        defer { running.cancel() }
        try await eventually("the first load") { source.requests.contains("groups wait -") }
        #expect(source.requests.first == "connect")

        state.apply(.key(.character("2")))
        state.apply(.tasks(TaskPage(total: 500, offset: 0, tasks: []), for: state.taskQuery))
        let effects = state.apply(.key(.character("G")))
        for case .load(let plan) in effects { loader.update(plan) }
        let offset = 500 - state.tableRows
        try await eventually("the last page, asked for at once") { source.requests.contains("tasks offset \(offset)") }

        state.waitFilter = "sleep"
        loader.update(LoadPlan(state))
        try await eventually("the groups of the filter") { source.requests.contains("groups wait sleep") }
        // The same plan again asks for nothing.
        let before = source.requests.count
        loader.update(LoadPlan(state))

        let second = RecordingSource(label: "second")
        loader.follow(second)
        try await eventually("the followed source, read whole") { second.requests.contains("groups wait sleep") }
        #expect(second.requests.first == "connect")
        #expect(source.requests.count == before)
    }

    @Test func theRefreshTimerWakesTheLoader() async throws {
        let source = RecordingSource(label: "ticks")
        let loader = Loader(source: source, plan: LoadPlan(Fixtures.state()), refresh: .milliseconds(50)) { _ in }
        let running = Task { await loader.run() }
        defer { running.cancel() }
        // Each refresh asks for the summary; a full refresh every fifth.
        try await eventually("several refreshes", timeout: .seconds(30)) {
            source.requests.filter { $0 == "summary" }.count >= 4
        }
    }
}

import Foundation
import ScopeProtocol
import TestSupport
import Testing

@testable import ScopeClient
@testable import TaskScope

/// Paging to the last row over the socket, against `LocalQuery` over a snapshot of the same
/// tasks: every page's total, rows and order, for every sort key and both orders, on both
/// sides of the agent's heap selection (a page ending before 1/8 of the matches is selected
/// with a heap, a later one sorted).
@Suite(.timeLimit(.minutes(2))) struct PagingAgreementTests {
    /// An agent holding `count` tasks whose every sort key has ties and spread: names from a
    /// few dozen, states mixed (a fifth waiting on one of three reasons since one of five
    /// moments 10 ms apart, some finished), two spawn sites; and a snapshot of it.
    /// Read by the tests of every order at once, after it is made; its parts are constants.
    private final class Fixture: @unchecked Sendable {
        let agent: ClientTestAgent
        let connection: ScopeConnection
        let snapshot: SnapshotSource

        init(count: Int) async throws {
            let time = ManualTime()
            agent = try ClientTestAgent(
                registry: Registry(retention: .init(count: 1_024, age: .seconds(3600)), clock: AgentClock(manual: time))
            )
            let registry = agent.registry
            var records: [TaskRecord] = []
            records.reserveCapacity(count)
            for index in 0..<count {
                records.append(
                    registry.spawn(
                        name: "worker-\(index * 7_919 % 37)", parentID: 0, file: "App/Work.swift",
                        line: 10 + index % 2, function: "work()"))
            }
            time.advance(by: 1_000_000)
            for record in records.enumerated().filter({ $0.offset % 5 == 1 }).prefix(500).map(\.element) {
                registry.finish(record, outcome: .completed)
            }
            // Waits that began at one of five moments 10 ms apart, all after every task was created:
            // waiting times then differ by whole milliseconds at any moment they are read.
            let base = time.now + 60_000_000
            let reasons = ["db.query", "sleep", "http.get"]
            for moment in 0..<5 {
                time.set(base - UInt64(moment) * 10_000_000)
                for (index, record) in records.enumerated() where index % 5 == 0 && index / 15 % 5 == moment {
                    _ = registry.beginWait(
                        record, reason: reasons[index / 5 % 3], file: "App/Work.swift", line: 50 + index % 4)
                }
            }
            time.set(base + 10_000_000)
            connection = try await ScopeConnection.connect(to: agent.path)
            let file = try AtomicFile(path: "\(agent.directory)/snap.json")
            try await SnapshotExporter.export(from: connection, format: .json, to: file)
            try file.commit()
            snapshot = try SnapshotSource(path: "\(agent.directory)/snap.json")
            #expect(snapshot.document.tasks.count == count)
        }

        func close() {
            connection.close()
            agent.stop()
        }

        /// Pages through `query` to its last row, comparing each page with LocalQuery's page
        /// (`perPage`), or with its slice of LocalQuery's whole order, read once (the same rows:
        /// LocalQuery's pages are slices of one sort; reading it once keeps 100,000 tasks quick).
        /// Returns how many pages were read with the heap selection and how many sorted.
        func pageThrough(_ query: TaskQuery, perPage: Bool) async throws -> (selected: Int, sorted: Int) {
            let context = LocalQuery.Context(snapshot.document)
            let tasks = snapshot.document.tasks
            var whole = query
            (whole.offset, whole.limit) = (0, tasks.count)
            // Sorting 100,000 rows takes seconds in a debug build: on a thread of its own, not on one of
            // the few every test's tasks share.
            let wholeQuery = whole
            let order = perPage ? nil : try await onOwnThread { LocalQuery.page(tasks, wholeQuery, in: context) }
            var query = query
            var seen = Set<UInt64>()
            var (selected, sorted) = (0, 0)
            while true {
                let live = try await connection.tasks(query)
                let offline: (total: Int, ids: [UInt64])
                if let order {
                    let end = min(query.offset + query.limit, order.tasks.count)
                    offline = (order.total, order.tasks[min(query.offset, end)..<end].map(\.id))
                } else {
                    let page = LocalQuery.page(tasks, query, in: context)
                    offline = (page.total, page.tasks.map(\.id))
                }
                #expect(live.total == offline.total, "total, \(query)")
                #expect(live.tasks.map(\.id) == offline.ids, "rows, \(query)")
                #expect(live.total == tasks.count, "\(query)")
                if query.offset + query.limit < live.total / Registry.selectionRatio {
                    selected += 1
                } else {
                    sorted += 1
                }
                seen.formUnion(live.tasks.map(\.id))
                guard !live.tasks.isEmpty, query.offset + live.tasks.count < live.total else { break }
                query.offset += live.tasks.count
            }
            #expect(seen.count == tasks.count, "every task once, \(query)")
            return (selected, sorted)
        }
    }

    /// One fixture of 100,000 tasks for every order, made by the first test that needs it.
    private actor Shared {
        static let hundredThousand = Shared()
        private var fixture: Task<Fixture, any Error>?

        func get() async throws -> Fixture {
            if fixture == nil { fixture = Task { try await Fixture(count: 100_000) } }
            return try await fixture!.value
        }
    }

    static let orders: [(TaskQuery.SortKey, Bool)] = TaskQuery.SortKey.allCases.flatMap { [($0, false), ($0, true)] }

    @Test func aThousandTasksPageAlikeToTheLastRow() async throws {
        let fixture = try await Fixture(count: 1_000)
        defer { fixture.close() }
        for (sort, descending) in Self.orders {
            let pages = try await fixture.pageThrough(
                TaskQuery(sort: sort, descending: descending, limit: 45), perPage: true)
            #expect(pages.selected > 0 && pages.sorted > 0, "both sides of the heap threshold")
        }
    }

    /// One order at a time: the agent answers on one thread, and each case reads 100,000 rows.
    @Test(.serialized, arguments: orders) func aHundredThousandTasksPageAlikeToTheLastRow(
        sort: TaskQuery.SortKey, descending: Bool
    ) async throws {
        let fixture = try await Shared.hundredThousand.get()
        let pages = try await fixture.pageThrough(
            TaskQuery(sort: sort, descending: descending, limit: TaskQuery.maxLimit), perPage: false)
        #expect(pages.selected > 0 && pages.sorted > 0, "both sides of the heap threshold")
    }
}

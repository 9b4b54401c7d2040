import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient
@testable import TaskScope

/// One clock: a page and a snapshot say when their rows were read, and no task has been in its
/// state longer than it has lived by that moment (`inState <= capturedAt - created`), so that
/// WAITING never exceeds AGE for the same task.
@Suite(.timeLimit(.minutes(2))) struct CapturedAtTests {
    @Test func noTaskIsInItsStateLongerThanItHasLived() async throws {
        let time = ManualTime()
        let agent = try ClientTestAgent(registry: Registry(clock: AgentClock(manual: time)))
        defer { agent.stop() }
        // Tasks spawned at several moments a fraction of a millisecond off the whole ones (where
        // rounding could make a wait outlast its task), half of them waiting since they were spawned.
        for round in 0..<20 {
            time.advance(by: 4_333_333)
            for index in 0..<500 {
                let record = agent.registry.spawn(
                    name: "t\(round)-\(index)", parentID: 0, file: "App/Work.swift", line: 10, function: "work()")
                if index % 2 == 0 {
                    _ = agent.registry.beginWait(record, reason: "db.query", file: "App/Work.swift", line: 50)
                    #expect(record.stateSince == record.created)
                }
            }
        }
        time.advance(by: 1_777_777)
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }

        for sort in [TaskQuery.SortKey.wait, .age] {
            let page = try await connection.tasks(TaskQuery(sort: sort, limit: TaskQuery.maxLimit))
            let capturedAt = try #require(page.capturedAt, "a page says when it was read")
            #expect(abs(capturedAt - Date().timeIntervalSince1970) < 60)
            #expect(page.tasks.count == 10_000)
            let older = page.tasks.filter { $0.inState > capturedAt - $0.created }.map(\.id)
            #expect(older.count == 0, "tasks \(older.prefix(3)) waited longer than they lived")
        }

        // A snapshot streams its tasks in chunks, read as of the moment it was taken.
        let file = try AtomicFile(path: "\(agent.directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(agent.directory)/snap.json")
        let document = snapshot.document
        #expect(document.tasks.count == 10_000)
        let older = document.tasks.filter { $0.inState > document.capturedAt - $0.created }.map(\.id)
        #expect(older.count == 0, "tasks \(older.prefix(3)) waited longer than they lived")
        // Over the snapshot, a page was read when the snapshot was taken.
        #expect(try await snapshot.tasks(TaskQuery()).capturedAt == document.capturedAt)
    }

    /// A summary read before a page was read no later than the page: both on the rows' clock
    /// (a summary on a finer clock could be ahead of the page read after it, by milliseconds).
    @Test func aSummaryAndAPageReadOneAfterTheOtherAreInOrder() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        agent.populate(10)
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        for _ in 0..<200 {
            let summary = try await connection.summary()
            let page = try await connection.tasks(TaskQuery(limit: 1))
            let capturedAt = try #require(page.capturedAt)
            #expect(summary.capturedAt <= capturedAt)
            if summary.capturedAt > capturedAt { break }
        }
    }
}

import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient
@testable import TaskScope

/// `taskscope view` answers the UI's queries from a snapshot with LocalQuery; the agent answers
/// them from its registry. The two must agree, or a saved snapshot shows other rows than the
/// live process did.
@Suite(.timeLimit(.minutes(2))) struct LocalQueryAgreementTests {
    @Test func aSnapshotAnswersEveryQueryAsTheAgentDid() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let records = agent.populate(40, prefix: "worker") + agent.populate(20, prefix: "Reader", reason: "sleep")
        for record in records.prefix(5) { agent.registry.finish(record, outcome: .completed) }
        agent.registry.finish(records[7], outcome: .failed, errorType: "App.Boom")
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }

        let file = try AtomicFile(path: "\(agent.directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(agent.directory)/snap.json")

        // Every filter and order that does not depend on the clock, at several pages.
        var queries: [TaskQuery] = []
        for state in [nil, TaskQuery.StateFilter.live, .active, .waiting, .finished] {
            for sort in [TaskQuery.SortKey.id, .name, .age] {
                for descending in [false, true] {
                    for (offset, limit) in [(0, 7), (5, 10), (55, 10)] {
                        var query = TaskQuery(state: state, sort: sort, offset: offset, limit: limit)
                        query.descending = descending
                        queries.append(query)
                    }
                }
            }
        }
        queries += [
            TaskQuery(wait: "db.query"), TaskQuery(wait: "sleep", sort: .name), TaskQuery(text: "reader"),
            TaskQuery(text: "WORK.swift"), TaskQuery(waitSite: SourceSite(file: "App/Work.swift", line: 50)),
            TaskQuery(sort: .name, spawnSite: SourceSite(file: "App/Work.swift", line: 11)),
        ]
        for query in queries {
            let live = try await connection.tasks(query)
            let offline = try await snapshot.tasks(query)
            #expect(offline.total == live.total, "\(query)")
            #expect(offline.tasks.map(\.id) == live.tasks.map(\.id), "\(query)")
        }
    }

    /// Search finds a site as warnings print it (`file:line`, with or without the module) and a
    /// task by id (`7` or `#7`), on the agent and over a snapshot alike.
    @Test func searchFindsSitesAsWarningsPrintThemAndTasksByID() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let records = agent.populate(30, prefix: "worker")
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let file = try AtomicFile(path: "\(agent.directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(agent.directory)/snap.json")

        let waiting = records.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.id)
        let atLine11 = records.enumerated().filter { $0.offset % 3 == 1 }.map(\.element.id)
        let expected: [(String, [UInt64])] = [
            // The wait site, as a warning prints it, with and without the module, in any case.
            ("Work.swift:50", waiting), ("App/Work.swift:50", waiting), ("work.SWIFT:50", waiting),
            // The spawn site.
            ("Work.swift:11", atLine11), ("App/Work.swift:11", atLine11),
            // No task at that line.
            ("Work.swift:99", []), ("Other.swift:50", []),
            // An id, exactly (and "#id"); "worker-7" also contains 7 in its name, "worker-17" too.
            ("#\(records[4].id)", [records[4].id]),
        ]
        for (text, ids) in expected {
            let live = try await connection.tasks(TaskQuery(text: text, limit: 100))
            let offline = try await snapshot.tasks(TaskQuery(text: text, limit: 100))
            #expect(live.tasks.map(\.id) == ids, "\(text)")
            #expect(offline.tasks.map(\.id) == ids, "\(text)")
        }
        // A bare number matches the task with that id and every name or site containing it.
        let bare = "\(records[7].id)"
        let byNumber = records.filter { $0.id == records[7].id || $0.name.contains(bare) }.map(\.id)
        #expect(try await connection.tasks(TaskQuery(text: bare, limit: 100)).tasks.map(\.id) == byNumber)
        #expect(try await snapshot.tasks(TaskQuery(text: bare, limit: 100)).tasks.map(\.id) == byNumber)
    }
}

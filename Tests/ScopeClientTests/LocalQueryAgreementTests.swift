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
}

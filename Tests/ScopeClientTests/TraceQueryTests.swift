import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient
@testable import TaskScope

/// A request's tasks found by its trace id: the `trace` filter of `tasks` and `snapshot`, `/`
/// search, and the text report, live and over a saved snapshot alike.
@Suite(.timeLimit(.minutes(2))) struct TraceQueryTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let other = "0af7651916cd43dd8448eb211c80319c"

    /// Ten untraced tasks, three of `trace` (one finished), two of `other`.
    static func populate(_ agent: ClientTestAgent) -> [TaskRecord] {
        _ = agent.populate(10, prefix: "worker")
        let spawn = { (name: String, trace: String) in
            agent.registry.spawn(
                name: name, parentID: 0, file: "App/Routes.swift", line: 20, function: "GET /orders/{id}",
                traceID: trace)
        }
        let scope = spawn("GET /orders/{id}", trace)
        let child = spawn("price lookup", trace)
        _ = agent.registry.beginWait(child, reason: "db.query", file: "App/DB.swift", line: 7)
        let done = spawn("audit", trace)
        agent.registry.finish(done, outcome: .completed)
        _ = spawn("GET /orders/{id}", other)
        _ = spawn("price lookup", other)
        return [scope, child, done]
    }

    @Test func theTraceFilterAndSearchFindARequestsTasksLiveAndInASnapshot() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let ofTrace = Set(Self.populate(agent).map(\.id))
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let file = try AtomicFile(path: "\(agent.directory)/snap.json")
        try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        let snapshot = try SnapshotSource(path: "\(agent.directory)/snap.json")

        var byTrace = TaskQuery(limit: 100)
        byTrace.trace = Self.trace.uppercased()
        var liveOnly = byTrace
        liveOnly.state = .live
        for query in [byTrace, liveOnly, TaskQuery(text: String(Self.trace.prefix(10)), limit: 100)] {
            let live = try await connection.tasks(query)
            let offline = try await snapshot.tasks(query)
            #expect(
                Set(live.tasks.map(\.id)) == (query.state == .live ? ofTrace.subtracting([ofTrace.max()!]) : ofTrace))
            #expect(live.tasks.allSatisfy { $0.trace == Self.trace })
            #expect(offline.total == live.total, "\(query)")
            #expect(offline.tasks.map(\.id) == live.tasks.map(\.id), "\(query)")
        }
    }

    @Test func aSnapshotOfATraceHoldsItsTasksAndTheReportListsThem() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let ofTrace = Set(Self.populate(agent).map(\.id))
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }

        let file = try AtomicFile(path: "\(agent.directory)/trace.json")
        let done = try await SnapshotExporter.export(
            from: connection, options: SnapshotOptions(trace: Self.trace), format: .json, to: file)
        try file.commit()
        #expect(done.tasks == 3)
        let document = try SnapshotDocument.decode(
            Data(contentsOf: URL(fileURLWithPath: "\(agent.directory)/trace.json")))
        #expect(document.trace == Self.trace)
        #expect(Set(document.tasks.map(\.id)) == ofTrace, "finished ones too: the request's whole")

        let text = MemorySink()
        _ = try await SnapshotExporter.export(
            from: connection, options: SnapshotOptions(trace: Self.trace), format: .text, to: text)
        let report = String(decoding: text.bytes, as: UTF8.self)
        #expect(report.contains("filter: tasks started in trace \(Self.trace)"))
        #expect(report.contains("TASKS OF TRACE \(Self.trace)"))
        for name in ["GET /orders/{id}", "price lookup", "audit"] { #expect(report.contains(name), "\(name)") }
        #expect(report.contains("completed"), "the finished task says how it ended")

        let none = MemorySink()
        _ = try await SnapshotExporter.export(
            from: connection, options: SnapshotOptions(trace: "ffffffffffffffffffffffffffffffff"), format: .text,
            to: none)
        #expect(
            String(decoding: none.bytes, as: UTF8.self).contains(
                GroupedReport.noTask(ofTrace: "ffffffffffffffffffffffffffffffff")))
    }
}

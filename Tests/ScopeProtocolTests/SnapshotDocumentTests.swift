import Foundation
import Testing

@testable import ScopeProtocol

@Suite struct SnapshotDocumentTests {
    static func sampleDocument() -> SnapshotDocument {
        let summary = Summary(
            pid: 1, process: "p", capturedAt: 10, uptime: 5, tasks: .init(active: 1, waiting: 0, finished: 0),
            totals: .init(spawned: 1, completed: 0, cancelled: 0, failed: 0), waits: [:], interval: 1)
        let head = SnapshotHead(
            process: ProcessDescription(pid: 1, name: "p", agentVersion: "0.1.0", started: 5), capturedAt: 10,
            filter: nil, summary: summary, history: History(interval: 1, capacity: 600, samples: []))
        let task = TaskInfo(
            id: 1, name: "t", state: .active, spawnSite: SourceSite(file: "f", line: 1), created: 5, inState: 5)
        return SnapshotDocument(head: head, tasks: [task])
    }

    @Test func readsWhatItWrites() throws {
        let document = Self.sampleDocument()
        let data = try JSONEncoder().encode(document)
        #expect(try SnapshotDocument.decode(data) == document)
        #expect(document.format == "taskscope.snapshot")
        #expect(document.version == 1)
    }

    @Test func refusesWhatIsNotASnapshotWithTheReason() throws {
        func reason(_ data: Data) -> SnapshotError? {
            do {
                _ = try SnapshotDocument.decode(data)
                return nil
            } catch {
                return error
            }
        }
        let valid = try JSONEncoder().encode(Self.sampleDocument())
        #expect(reason(Data()) == .empty)
        #expect(reason(valid.prefix(valid.count / 2)) == .notJSON)
        #expect(reason(Data(#"{"hello":1}"#.utf8)) == .notASnapshot)
        #expect(reason(Data(#"{"format":"taskscope.snapshot","version":99}"#.utf8)) == .futureVersion(99))
        guard case .malformed(let detail)? = reason(Data(#"{"format":"taskscope.snapshot","version":1}"#.utf8)) else {
            Issue.record("a document without fields was accepted")
            return
        }
        #expect(detail.contains("missing"))
        #expect(SnapshotError.futureVersion(99).description.contains("99"))
    }
}

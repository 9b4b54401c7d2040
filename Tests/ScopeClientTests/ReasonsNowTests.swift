import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient

/// A wait filter that matches nothing says which reasons there are.
@Suite struct ReasonsNowTests {
    static func head(filter: String?, waits: [String: Int]) -> SnapshotHead {
        let summary = Summary(
            pid: 7, process: "app", capturedAt: 10, uptime: 10, tasks: .init(active: 1, waiting: 6, finished: 0),
            totals: .init(spawned: 7, completed: 0, cancelled: 0, failed: 0), waits: waits, interval: 1)
        return SnapshotHead(
            process: ProcessDescription(pid: 7, name: "app", agentVersion: "1", started: 0), capturedAt: 10,
            filter: filter, summary: summary, history: History(interval: 1, capacity: 600, samples: []),
            warnings: [])
    }

    @Test func reasonsAreListedMostTasksFirst() {
        #expect(
            ReasonsNow.describe(["sleep": 2, "queue.pop": 3, "db.query": 2, "gone": 0])
                == "queue.pop (3), db.query (2), sleep (2)")
        #expect(ReasonsNow.describe([:]) == "none")
    }

    @Test func builtInOrPresentReasonsAreKnownAndOthersAreNot() {
        #expect(ReasonsNow.isKnown("task.join", waits: [:]))
        #expect(ReasonsNow.isKnown("db.query", waits: ["db.query": 1]))
        #expect(!ReasonsNow.isKnown("db.query", waits: ["db.query": 0]))
        #expect(!ReasonsNow.isKnown("nosuch", waits: ["sleep": 1]))
    }

    @Test func aFilteredReportWithNoTaskNamesTheReasonsOfTheMoment() {
        let report = GroupedReport(head: Self.head(filter: "nosuch", waits: ["queue.pop": 3, "sleep": 4]))
        let text = report.render()
        #expect(text.hasSuffix("no task is waiting on nosuch; reasons now: sleep (4), queue.pop (3)\n"))
        #expect(!text.contains("no live tracked tasks"))
        // Without a filter, nothing live is still said as before.
        #expect(GroupedReport(head: Self.head(filter: nil, waits: [:])).render().hasSuffix("no live tracked tasks\n"))
    }

    @Test func standardOutputTellsAClosedPipeFromOtherFailures() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[0])
        defer { close(ends[1]) }
        signal(SIGPIPE, SIG_IGN)
        #expect(throws: ScopeClientError.outputClosed("standard output")) {
            try StandardOutput(descriptor: ends[1]).write("text")
        }
        let full = open("/dev/full", O_WRONLY)
        defer { close(full) }
        #expect(throws: ScopeClientError.file(path: "standard output", reason: "cannot write: No space left on device"))
        {
            try StandardOutput(descriptor: full).write("text")
        }
    }
}

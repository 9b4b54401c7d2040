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
        #expect(throws: ScopeClientError.standardOutput(reason: "no space left on device")) {
            try StandardOutput(descriptor: full).write("text")
        }
        #expect(
            ScopeClientError.standardOutput(reason: "no space left on device").description
                == "cannot write to standard output: no space left on device")
    }

    /// The owner vocabulary the UI shares: an owner that has finished is `6 (finished)`.
    @Test func aFinishedOwnerIsWrittenFinished() {
        var head = Self.head(filter: nil, waits: [:])
        var ticker = ResourceInfo(
            id: 1, kind: .timer, name: "ticker", site: SourceSite(file: "App/T.swift", line: 3), created: 0,
            state: "armed")
        ticker.owner = 6
        ticker.ownerFinished = true
        var live = ticker
        live.id = 2
        live.owner = 7
        live.ownerFinished = false
        head.resources = [ticker, live]
        let lines = Self.linesWithOneTask(head)
        let rows = lines.filter { $0.contains(" timer ") }
        #expect(rows.count == 2, "\(lines)")
        #expect(rows.contains { $0.contains(" 6 (finished) ") }, "\(rows)")
        #expect(rows.contains { $0.contains(" 7 ") && !$0.contains("(finished)") }, "\(rows)")
        #expect(!lines.contains { $0.contains("gone") })
    }

    /// The lines of the report of `head` with one live task (task 7).
    static func linesWithOneTask(_ head: SnapshotHead) -> [Substring] {
        var report = GroupedReport(head: head)
        report.add(
            TaskInfo(
                id: 7, name: "t", state: .active, spawnSite: SourceSite(file: "App/T.swift", line: 1), created: 0,
                inState: 1))
        return report.render().split(separator: "\n")
    }

    /// The report lists `resourceLimit` resources, orphaned ones first, and counts the rest:
    /// at the limit nothing is left out; one over, the newest healthy one is counted instead.
    @Test func theResourceListStopsAtItsLimitWithOrphansFirst() {
        func resources(_ count: Int) -> [ResourceInfo] {
            (1...count).map { id in
                var resource = ResourceInfo(
                    id: UInt64(id), kind: .channel, name: "c\(id)", site: SourceSite(file: "App/C.swift", line: id),
                    created: 0, state: "open")
                resource.orphaned = id > count - 3  // the three newest: listed first all the same
                return resource
            }
        }
        for count in [GroupedReport.resourceLimit - 1, GroupedReport.resourceLimit, GroupedReport.resourceLimit + 1] {
            var head = Self.head(filter: nil, waits: [:])
            head.resources = resources(count)
            let lines = Self.linesWithOneTask(head)
            let rows = lines.filter { $0.contains(" channel ") }
            #expect(rows.count == min(count, GroupedReport.resourceLimit), "\(count)")
            #expect(rows.prefix(3).allSatisfy { $0.hasPrefix("!") }, "orphans first at \(count)")
            #expect(rows.dropFirst(3).allSatisfy { !$0.hasPrefix("!") }, "\(count)")
            #expect(rows.contains { $0.contains(" c\(count) ") }, "the newest orphan at \(count)")
            let more = lines.filter { $0.hasPrefix("… and ") }
            #expect(more == (count > GroupedReport.resourceLimit ? ["… and 1 more resources"] : []), "\(count)")
            #expect(rows.contains { $0.contains(" c\(count - 3) ") } == (count <= GroupedReport.resourceLimit))
        }
    }
}

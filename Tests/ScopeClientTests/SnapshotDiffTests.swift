import Foundation
import ScopeProtocol
import Testing

@testable import ScopeClient

@Suite struct SnapshotDiffTests {
    static let spawn = SourceSite(file: "App/Jobs.swift", line: 10, function: "run()")
    static let other = SourceSite(file: "App/Poller.swift", line: 4, function: "poll()")

    /// A document of `pid` at `time` with these (reason, wait line, spawn site, count) groups and warnings.
    static func document(
        pid: Int32 = 7, at time: Double, _ groups: [(String?, Int, SourceSite, Int)], warnings: [Warning] = []
    ) -> SnapshotDocument {
        var tasks: [TaskInfo] = []
        for (reason, line, site, count) in groups {
            for _ in 0..<count {
                tasks.append(
                    TaskInfo(
                        id: UInt64(tasks.count + 1), name: "t", state: reason == nil ? .active : .waiting,
                        wait: reason, waitSite: reason.map { _ in SourceSite(file: "App/Jobs.swift", line: line) },
                        spawnSite: site, created: 0, inState: 1))
            }
        }
        tasks.append(
            TaskInfo(
                id: 999, name: "done", state: .finished, outcome: .completed, spawnSite: spawn, created: 0, inState: 1))
        let summary = Summary(
            pid: pid, process: "app", capturedAt: time, uptime: time, tasks: .init(active: 0, waiting: 0, finished: 1),
            totals: .init(spawned: 0, completed: 0, cancelled: 0, failed: 0), waits: [:], interval: 1)
        let head = SnapshotHead(
            process: ProcessDescription(pid: pid, name: "app", agentVersion: "1", started: 0), capturedAt: time,
            filter: nil, summary: summary, history: History(interval: 1, capacity: 600, samples: []),
            warnings: warnings)
        return SnapshotDocument(head: head, tasks: tasks)
    }

    static func stuck(_ line: Int) -> Warning {
        Warning(
            rule: .stuckWait, site: SourceSite(file: "App/Jobs.swift", line: line), reason: "db.query", tasks: 1,
            taskIDs: [1], message: "stuck at \(line)", hint: "h")
    }

    @Test func groupsAreComparedLargestGrowthFirstAndFinishedTasksIgnored() {
        let old = Self.document(
            at: 1_000, [("db.query", 20, Self.spawn, 3), ("sleep", 30, Self.other, 5), (nil, 0, Self.spawn, 2)],
            warnings: [Self.stuck(20), Self.stuck(40)])
        let new = Self.document(
            at: 4_600,
            [
                ("db.query", 20, Self.spawn, 250), ("sleep", 30, Self.other, 1), (nil, 0, Self.spawn, 2),
                ("lock", 50, Self.other, 4),
            ],
            warnings: [Self.stuck(20), Self.stuck(50)])
        let diff = SnapshotDiff(old: old, new: new)
        #expect(diff.changed.map(\.change) == [247, 4, -4])
        #expect(diff.changed.map(\.reason) == ["db.query", "lock", "sleep"])
        #expect(diff.changed[0].before == 3 && diff.changed[0].after == 250)
        #expect(diff.unchanged == 1)
        #expect(diff.old.liveTasks == 10 && diff.new.liveTasks == 257)
        #expect(diff.newWarnings.map(\.message) == ["stuck at 50"])
        #expect(diff.resolvedWarnings.map(\.message) == ["stuck at 40"])

        let text = diff.render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("taskscope diff of app (pid 7): "))
        #expect(lines[0].hasSuffix(", 1h00m apart"))
        #expect(lines.contains("live tasks: 10 to 257 (+247)"))
        let header = lines.firstIndex { $0.hasPrefix("CHANGE") } ?? 0
        #expect(lines[header + 1].hasPrefix("  +247       3    250  db.query"))
        #expect(lines[header + 3].hasPrefix("    -4       5      1  sleep"))
        #expect(lines.contains("(1 groups unchanged)"))
        #expect(lines[header + 1].hasSuffix("\(Self.spawn) \(Self.spawn.function ?? "")"), "with its function")
        #expect(lines.contains("NEW WARNINGS") && lines.contains("RESOLVED WARNINGS"))
        #expect(!text.contains(" \n"), "trailing spaces")
    }

    @Test func identicalSnapshotsSaySoAndDifferentProcessesAreNoted() throws {
        let old = Self.document(at: 10, [("db.query", 20, Self.spawn, 3)])
        let same = SnapshotDiff(old: old, new: old)
        #expect(same.changed.isEmpty)
        #expect(same.render().contains("no group of live tasks changed (1 the same)"))
        let elsewhere = SnapshotDiff(old: old, new: Self.document(pid: 8, at: 20, [("db.query", 20, Self.spawn, 3)]))
        #expect(elsewhere.render().contains("note: the snapshots are of different processes (app pid 7 before)"))
        // The JSON form is the same value, for machines.
        let decoded = try JSONDecoder().decode(SnapshotDiff.self, from: try JSONEncoder().encode(elsewhere))
        #expect(decoded == elsewhere)
    }

    @Test func filesGivenNewestFirstAreNotedNotSilentlyReversed() throws {
        let earlier = Self.document(at: 1_000, [("db.query", 20, Self.spawn, 3)])
        let later = Self.document(at: 1_060, [("db.query", 20, Self.spawn, 9)])
        let forward = SnapshotDiff(old: earlier, new: later)
        #expect(!forward.isBackwards)
        #expect(!forward.render().contains("note:"))
        let backward = SnapshotDiff(old: later, new: earlier)
        #expect(backward.isBackwards)
        let lines = backward.render().split(separator: "\n").map(String.init)
        #expect(
            lines[1]
                == "note: the second snapshot was captured 1m00s before the first, so every change below runs "
                + "backwards in time; give the older file first")
    }

    /// With stacks in both snapshots, the diff compares waiting tasks by stack too: the same
    /// functions are the same stack whatever its id or addresses; one side without stacks says so.
    @Test func stacksAreComparedByTheirFunctionsWhenBothSnapshotsHaveThem() {
        func frame(_ name: String, offset: UInt64) -> StackFrame {
            StackFrame(function: "static App.Shop.\(name)(Int) async -> Int", module: "App", offset: offset)
        }
        func withStacks(_ document: SnapshotDocument, checkout: Int, refund: Int, base: UInt64) -> SnapshotDocument {
            var document = document
            let checkoutStack = StackInfo(
                id: 1, frames: [frame("query", offset: base), frame("checkout", offset: base + 8)])
            let refundStack = StackInfo(
                id: 2, frames: [frame("query", offset: base), frame("refund", offset: base + 16)])
            document.stacks = [refundStack, checkoutStack].map { stack in
                var stack = stack
                stack.id = stack.id == 1 ? 7 : 9  // ids differ between snapshots
                return stack
            }
            var waiting = document.tasks.indices.filter { document.tasks[$0].state == .waiting }[...]
            for _ in 0..<checkout { document.tasks[waiting.removeFirst()].stack = 7 }
            for _ in 0..<refund { document.tasks[waiting.removeFirst()].stack = 9 }
            return document
        }
        let old = withStacks(
            Self.document(at: 100, [("db.query", 5, Self.spawn, 6)]), checkout: 4, refund: 2, base: 0x100)
        let new = withStacks(
            Self.document(at: 200, [("db.query", 5, Self.spawn, 9)]), checkout: 4, refund: 5, base: 0x900)
        let diff = SnapshotDiff(old: old, new: new)
        #expect(diff.stackChanges?.count == 1, "checkout's stack unchanged: only refund's moved")
        let row = diff.stackChanges?.first
        #expect(
            row?.frames == ["Shop.query", "Shop.refund"] && row?.before == 2 && row?.after == 5 && row?.change == 3)
        #expect(diff.render().contains("BY STACK (innermost first)"))
        #expect(diff.render().contains("Shop.query < Shop.refund"))
        let without = SnapshotDiff(old: Self.document(at: 100, [("db.query", 5, Self.spawn, 6)]), new: new)
        #expect(without.stackChanges == nil)
        #expect(without.render().contains("by stack: not compared, the first snapshot has no stacks"))
    }
}

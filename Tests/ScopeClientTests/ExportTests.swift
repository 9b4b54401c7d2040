import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import ScopeClient
@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct ExportTests {
    @Test func aJSONExportIsAValidSnapshotDocumentWithEveryTask() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let records = agent.populate(2_345)
        agent.registry.finish(records[5], outcome: .failed, errorType: "App.Oops")
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let output = "\(agent.directory)/out.json"
        let file = try AtomicFile(path: output)
        let done = try await SnapshotExporter.export(from: connection, format: .json, to: file)
        try file.commit()
        #expect(done.tasks == 2_345)
        let document = try SnapshotDocument.decode(try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(document.tasks.count == 2_345)
        #expect(document.tasks.map(\.id) == records.map(\.id))
        #expect(document.tasks[5].outcome == .failed)
        #expect(document.tasks[5].error == "App.Oops")
        #expect(document.summary.tasks.live == 2_344)
        #expect(document.process.pid == getpid())
        #expect(!document.history.samples.isEmpty)
        #expect(document.filter == nil)
        // No temporary file is left beside it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: agent.directory).filter { $0.contains(".tmp-") }.isEmpty
        )
    }

    @Test func theSnapshotCarriesResourcesAndWarnings() async throws {
        let agent = try ClientTestAgent(registry: TaskScope.registry)  // where tracked primitives live
        defer { agent.stop() }
        let name = "export-orphan-\(UInt64.random(in: 0...UInt64.max))"
        func strand() -> Task<Int?, any Error> {
            let (_, receiver) = TrackedChannel<Int>.make(capacity: 0, name: name)
            return Task.tracked("stranded-\(name)") { try await receiver.receive() }
        }
        let stranded = strand()
        defer { stranded.cancel() }
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        try await eventually("the agent sees the leak") {
            try await connection.warnings().contains { $0.name == name }
        }
        let sink = MemorySink()
        try await SnapshotExporter.export(from: connection, format: .json, to: sink)
        let document = try SnapshotDocument.decode(Data(sink.bytes))
        let resource = try #require(document.resources.first { $0.name == name })
        #expect(resource.kind == .channel)
        #expect(resource.orphaned)
        let warning = try #require(document.warnings.first { $0.name == name })
        #expect(warning.rule == .orphanedChannel)
        #expect(warning.tasks == 1)

        let text = MemorySink()
        try await SnapshotExporter.export(from: connection, format: .text, to: text)
        let report = String(decoding: text.bytes, as: UTF8.self)
        #expect(report.contains("WARNINGS"))
        #expect(report.contains("definite orphaned-channel: channel \"\(name)\""))
        #expect(report.contains("fix: "))
        #expect(report.contains("RESOURCE"))
        // Other tests' leaks share this process's registry and the report lists only the first
        // `resourceLimit` resources (theResourceListStopsAtItsLimitWithOrphansFirst), so ours may be
        // counted rather than listed; an orphan is listed first, marked, all the same.
        let rows = report.split(separator: "\n").drop { !$0.contains("RESOURCE") }.dropFirst()
        let first = try #require(rows.first)
        #expect(first.hasPrefix("!"), "an orphan heads the list: \(first)")
        if let row = rows.first(where: { $0.contains(" \(name) ") }) {
            #expect(row.hasPrefix("!") && row.contains(" channel "), "\(row)")
        }
        #expect(
            try await connection.resources(ResourceQuery(orphanedOnly: true)).resources.contains { $0.name == name })
    }

    @Test func anExportOfNoTasksIsStillADocument() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let sink = MemorySink()
        try await SnapshotExporter.export(from: connection, format: .json, to: sink)
        let document = try SnapshotDocument.decode(Data(sink.bytes))
        #expect(document.tasks.isEmpty)
    }

    @Test func theWaitFilterKeepsOnlyTasksWaitingForTheReason() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        agent.populate(30, reason: "queue.pop")
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let sink = MemorySink()
        try await SnapshotExporter.export(from: connection, options: .init(wait: "queue.pop"), format: .json, to: sink)
        let document = try SnapshotDocument.decode(Data(sink.bytes))
        #expect(document.tasks.count == 10)
        #expect(document.tasks.allSatisfy { $0.wait == "queue.pop" })
        #expect(document.filter == "queue.pop")
    }

    @Test func theTextReportGroupsTasksLargestGroupFirst() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        agent.populate(9, reason: "db.query")
        let lone = agent.registry.spawn(name: "lone", parentID: 0, file: "App/Lone.swift", line: 7, function: "lone()")
        _ = agent.registry.beginWait(lone, reason: "lock.acquire", file: "App/Lone.swift", line: 8)
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let sink = MemorySink()
        try await SnapshotExporter.export(from: connection, format: .text, to: sink)
        let lines = String(decoding: sink.bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("taskscope snapshot of "))
        #expect(lines[1].hasPrefix("tasks: 10 live (6 active, 4 waiting)"))
        let header = try #require(lines.firstIndex { $0.hasPrefix("TASKS") })
        let rows = Array(lines[(header + 1)...])
        // Three groups of three (waiting on db.query from line 10, active from lines 11 and 12), then the lone one.
        #expect(rows.count == 4)
        let database = try #require(rows.first { $0.contains("db.query") })
        #expect(database.hasPrefix("    3  db.query"))
        #expect(database.contains("App/Work.swift:50"))
        #expect(database.contains("App/Work.swift:10 work()"))
        #expect(rows.filter { $0.contains("(active)") }.count == 2)
        #expect(rows.last?.hasPrefix("    1  lock.acquire") == true)
        #expect(rows.last?.contains("App/Lone.swift:8") == true)
    }
}

/// A sink that keeps everything in memory.
final class MemorySink: ByteSink, @unchecked Sendable {
    var bytes: [UInt8] = []
    func write(_ bytes: some Collection<UInt8>) throws(ScopeClientError) { self.bytes.append(contentsOf: bytes) }
}

@Suite(.timeLimit(.minutes(2))) struct AtomicFileTests {
    @Test func nothingAppearsUnderTheTargetNameUntilCommitted() throws {
        let directory = try makeTemporaryDirectory("atomic")
        defer { removeTree(directory) }
        let path = "\(directory)/snap.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let file = try AtomicFile(path: path)
        try file.write(Array(repeating: UInt8(ascii: "x"), count: 3 << 20))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        try file.commit()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == 3 << 20)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["snap.json"])
    }

    @Test func anAbandonedFileLeavesTheTargetAsItWas() throws {
        let directory = try makeTemporaryDirectory("abandon")
        defer { removeTree(directory) }
        let path = "\(directory)/snap.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let file = try AtomicFile(path: path)
        try file.write(Array("half".utf8))
        file.abandon()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["snap.json"])
    }

    @Test func aLinkStaysALinkAndAReplacedFileKeepsItsMode() throws {
        let directory = try makeTemporaryDirectory("link")
        defer { removeTree(directory) }
        let real = "\(directory)/real.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: real))
        #expect(chmod(real, 0o600) == 0)
        let link = "\(directory)/latest.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.json")
        let file = try AtomicFile(path: link)
        try file.write(Array("new".utf8))
        try file.commit()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.json")
        #expect(try String(contentsOfFile: real, encoding: .utf8) == "new")
        let attributes = try FileManager.default.attributesOfItem(atPath: real)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == ["real.json", "latest.json"])
    }

    @Test func aPipeIsWrittenIntoNotReplaced() throws {
        let directory = try makeTemporaryDirectory("fifo")
        defer { removeTree(directory) }
        let fifo = "\(directory)/out.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Someone reads the other end; opening for writing waits for them.
        let reader = Thread.detachNewThreadReturning { () -> [UInt8] in
            let descriptor = open(fifo, O_RDONLY)
            defer { close(descriptor) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { return bytes }
                bytes += chunk[..<count]
            }
        }
        let file = try AtomicFile(path: fifo)
        try file.write(Array("through the pipe".utf8))
        try file.commit()
        #expect(String(decoding: reader.wait() ?? [], as: UTF8.self) == "through the pipe")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test func anUnwritablePathFailsAtOnceWithTheReason() throws {
        let error = #expect(throws: ScopeClientError.self) { try AtomicFile(path: "/nonexistent-dir/snap.json") }
        #expect(error?.description == "/nonexistent-dir/snap.json: cannot write here: No such file or directory")
        let directory = try makeTemporaryDirectory("isdir")
        defer { removeTree(directory) }
        #expect(throws: ScopeClientError.file(path: directory, reason: "is a directory")) {
            try AtomicFile(path: directory)
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct ReportTests {
    @Test func durationsAreShortAndHuman() {
        #expect(DurationText.format(0) == "0ms")
        #expect(DurationText.format(-3) == "0ms")
        #expect(DurationText.format(.nan) == "0ms")
        #expect(DurationText.format(0.25) == "250ms")
        #expect(DurationText.format(12.34) == "12.3s")
        #expect(DurationText.format(312) == "5m12s")
        #expect(DurationText.format(7380) == "2h03m")
        #expect(DurationText.format(273_600) == "3d04h")
    }

    @Test func groupsKeepCountsLongestAndTheLowestIDs() {
        var report = GroupedReport()
        for id in (1...8).reversed() {
            report.add(
                TaskInfo(
                    id: UInt64(id), name: "t", state: .waiting, wait: "sleep", waitSite: SourceSite(file: "A", line: 1),
                    spawnSite: SourceSite(file: "B", line: 2), created: 0, inState: Double(id)))
        }
        report.add(
            TaskInfo(
                id: 99, name: "f", state: .finished, outcome: .completed, spawnSite: SourceSite(file: "B", line: 2),
                created: 0, inState: 0))
        let group = report.sortedGroups
        #expect(group.count == 1)
        #expect(group[0].count == 8)
        #expect(group[0].longest == 8)
        #expect(group[0].sampleIDs == [1, 2, 3, 4, 5])
        #expect(report.liveTasks == 8)
        #expect(report.render().contains("sleep"))
        #expect(GroupedReport().render() == "no live tracked tasks\n")
    }
}

extension Thread {
    /// Runs `body` on a new thread; `wait()` returns its result.
    static func detachNewThreadReturning<T: Sendable>(_ body: @escaping @Sendable () -> T) -> ThreadResult<T> {
        let result = ThreadResult<T>()
        Thread.detachNewThread { result.set(body()) }
        return result
    }
}

/// The result of a thread, waited for.
final class ThreadResult<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func set(_ newValue: T) {
        value.withLock { $0 = newValue }
        done.signal()
    }

    func wait() -> T? {
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return value.withLock { $0 }
    }
}

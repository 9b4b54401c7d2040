import Foundation
import ScopeProtocol
import TestSupport
import Testing

/// Numbers no agent can mean (a start a thousand years away, 1e300 seconds in a state, a
/// negative count), from a fake agent or in a snapshot file: the CLI says which field, in one
/// line, and never traps.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLIWireValueTests {
    /// A small snapshot `view` and `diff` accept as it is.
    private static func goodSnapshot() throws -> [String: Any] {
        let summary = Summary(
            pid: 1, process: "p", capturedAt: 1_700_000_010, uptime: 10,
            tasks: .init(active: 0, waiting: 1, finished: 0),
            totals: .init(spawned: 1, completed: 0, cancelled: 0, failed: 0), waits: ["sleep": 1], interval: 1)
        let head = SnapshotHead(
            process: ProcessDescription(pid: 1, name: "p", agentVersion: "1", started: 1_700_000_000),
            capturedAt: 1_700_000_010, filter: nil, summary: summary,
            history: History(interval: 1, capacity: 600, samples: []))
        let task = TaskInfo(
            id: 1, name: "t", state: .waiting, wait: "sleep", waitSite: SourceSite(file: "w", line: 2),
            spawnSite: SourceSite(file: "f", line: 1), created: 1_700_000_001, inState: 9)
        let data = try JSONEncoder().encode(SnapshotDocument(head: head, tasks: [task]))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Writes the good snapshot with `raw` (JSON text) at the key path `keys`, to `name` in `directory`.
    private static func snapshot(
        _ directory: String, _ name: String, setting keys: [String], to raw: String
    )
        throws -> String
    {
        let marker = "\"@@value@@\""
        func set(_ keys: ArraySlice<String>, in node: Any) -> Any {
            guard let key = keys.first else { return "@@value@@" }
            if var array = node as? [Any], let index = Int(key) {
                array[index] = set(keys.dropFirst(), in: array[index])
                return array
            }
            var dictionary = node as? [String: Any] ?? [:]
            dictionary[key] = set(keys.dropFirst(), in: dictionary[key] as Any)
            return dictionary
        }
        var text = String(decoding: try JSONSerialization.data(withJSONObject: try goodSnapshot()), as: UTF8.self)
        if !keys.isEmpty {
            let object = set(keys[...], in: try goodSnapshot())
            text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
                .replacingOccurrences(of: marker, with: raw)
        }
        let path = "\(directory)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `taskscope` and checks that it ended with status 1 and exactly `line` on stderr.
    private func expectOneLine(
        _ arguments: [String], _ line: String, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let result = try await CLI.run(arguments, environment: environment)
        #expect(result.status == 1, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)", sourceLocation: sourceLocation)
        #expect(result.stderr == "taskscope: \(line)\n", sourceLocation: sourceLocation)
    }

    @Test func diffAndViewRefuseSnapshotsWithNumbersOutOfRange() async throws {
        let directory = try makeTemporaryDirectory("range")
        defer { removeTree(directory) }
        let good = try Self.snapshot(directory, "good.json", setting: [], to: "")
        // The fixture itself is fine: whatever is refused below is refused for its one number.
        let baseline = try await CLI.run(["diff", good, good])
        #expect(baseline.status == 0, "\(baseline.stderr)")
        #expect(baseline.stderr.isEmpty)

        let cases: [(String, [String], String, String)] = [
            ("captured.json", ["capturedAt"], "1e300", "capturedAt is 1e300, not a time"),
            ("uptime.json", ["summary", "uptime"], "1e300", "summary.uptime is 1e300, not a duration"),
            ("instate.json", ["tasks", "0", "inState"], "1e300", "tasks[0].inState is 1e300, not a duration"),
            ("negative.json", ["tasks", "0", "inState"], "-7", "tasks[0].inState is -7.0, not a duration"),
            ("count.json", ["summary", "tasks", "waiting"], "-1", "summary.tasks.waiting is -1, not a count"),
            ("before.json", ["process", "started"], "-1e300", "process.started is -1e300, not a time"),
        ]
        for (name, keys, raw, reason) in cases {
            let bad = try Self.snapshot(directory, name, setting: keys, to: raw)
            try await expectOneLine(["diff", good, bad], "\(bad): not a valid snapshot: \(reason)")
            try await expectOneLine(["diff", bad, good], "\(bad): not a valid snapshot: \(reason)")
            try await expectOneLine(["view", bad], "\(bad): not a valid snapshot: \(reason)")
        }

        // A number JSON can write but a Double cannot hold is a damaged file, not a trap.
        let huge = try Self.snapshot(directory, "huge.json", setting: ["capturedAt"], to: "1e999")
        let result = try await CLI.run(["diff", good, huge])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("taskscope: \(huge): "), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test func listSkipsAFakeAgentWithAnImpossibleStartOrUptime() async throws {
        let directory = try makeTemporaryDirectory("fake")
        defer { removeTree(directory) }
        let environment = ["TASKSCOPE_DIR": directory]
        let far = "\(directory)/far.sock"
        let started = try FakeServer(
            path: far, greeting: FakeServer.agentHello(protocol: 1, started: "1e300"),
            answer: FakeServer.summaryReply(uptime: "1"))
        defer { started.stop() }
        var result = try await CLI.run(["list"], environment: environment)
        // One agent that is not one is skipped, as any unusable socket is: the listing goes on.
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr
                == "taskscope: skipped \(far): \(far) is not a taskscope agent: started is 1e300, not a time\n")
        #expect(result.stdout == "no attachable processes (looked in \(directory))\n")
        started.stop()  // (its deferred stop then does nothing)

        let long = "\(directory)/long.sock"
        let uptime = try FakeServer(
            path: long, greeting: FakeServer.agentHello(protocol: 1), answer: FakeServer.summaryReply(uptime: "1e300"))
        defer { uptime.stop() }
        result = try await CLI.run(["list"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stderr
                == "taskscope: skipped \(long): \(long) is not a taskscope agent: uptime is 1e300, not a duration\n")
        #expect(result.stdout == "no attachable processes (looked in \(directory))\n")
        #expect(!result.stderr.contains("Fatal error"))
    }

    /// The answer of a fake agent to a `snapshot` request (id 1): the good snapshot's head with
    /// `head` changes, one task chunk with `task` changes (raw JSON values), and the final reply.
    private static func snapshotStream(head: [String: String] = [:], task: [String: String] = [:]) throws -> String {
        var document = try goodSnapshot()
        var tasks = try #require(document.removeValue(forKey: "tasks") as? [[String: Any]])
        for key in head.keys { document[key] = "@@\(key)@@" }
        for key in task.keys { tasks[0][key] = "@@\(key)@@" }
        var headText = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        var tasksText = String(decoding: try JSONSerialization.data(withJSONObject: tasks), as: UTF8.self)
        for (key, raw) in head { headText = headText.replacingOccurrences(of: "\"@@\(key)@@\"", with: raw) }
        for (key, raw) in task { tasksText = tasksText.replacingOccurrences(of: "\"@@\(key)@@\"", with: raw) }
        return #"{"id":1,"chunk":"head","data":"# + headText + "}\n" + #"{"id":1,"chunk":"tasks","data":"# + tasksText
            + "}\n" + #"{"id":1,"result":{"chunks":2,"tasks":1}}"# + "\n"
    }

    @Test func snapshotOfAFakeAgentWithNumbersOutOfRangeWritesNothing() async throws {
        let directory = try makeTemporaryDirectory("snap")
        defer { removeTree(directory) }
        let path = "\(directory)/odd.sock"
        let output = "\(directory)/out.json"

        // The stream itself is fine as it is: the export writes a snapshot view reads.
        var server = try FakeServer(
            path: path, greeting: FakeServer.agentHello(protocol: 1), answer: try Self.snapshotStream())
        var result = try await CLI.run(["snapshot", path, "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await CLI.run(["diff", output, output]).status == 0)
        try FileManager.default.removeItem(atPath: output)
        server.stop()

        server = try FakeServer(
            path: path, greeting: FakeServer.agentHello(protocol: 1),
            answer: try Self.snapshotStream(head: ["capturedAt": "1e300"]))
        let far = "\(path) is not a taskscope agent: capturedAt is 1e300, not a time"
        try await expectOneLine(["snapshot", path, "-o", output], far)
        #expect(!FileManager.default.fileExists(atPath: output))
        try await expectOneLine(["snapshot", path, "--format", "text"], far)
        server.stop()

        server = try FakeServer(
            path: path, greeting: FakeServer.agentHello(protocol: 1),
            answer: try Self.snapshotStream(task: ["inState": "1e300"]))
        defer { server.stop() }
        try await expectOneLine(
            ["snapshot", path, "--format", "text"],
            "\(path) is not a taskscope agent: tasks[0].inState is 1e300, not a duration")
        // JSON copies tasks through unchecked; the file it writes is refused when read.
        result = try await CLI.run(["snapshot", path, "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        try await expectOneLine(
            ["diff", output, output], "\(output): not a valid snapshot: tasks[0].inState is 1e300, not a duration")
    }
}

import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// The real `taskscope` binary against the real demo process.
@Suite(.serialized, .timeLimit(.minutes(2))) struct EndToEndTests {
    @Test func listShowsTheDemoAsTableAndJSON() async throws {
        let demo = try await DemoProcess()
        let table = try await CLI.run(["list"], environment: demo.environment)
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("PID") == true)
        #expect(lines.contains { $0.hasPrefix("\(demo.pid)  taskscope") && $0.hasSuffix(demo.socket) })

        let json = try await CLI.run(["list", "--json"], environment: demo.environment)
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let processes = try #require(object["processes"] as? [[String: Any]])
        #expect(processes.count == 1)
        #expect(processes.first?["pid"] as? Int == Int(demo.pid))
        #expect((processes.first?["liveTasks"] as? Int ?? 0) > 0)
        #expect(try await demo.interrupt() == 0)
    }

    @Test func snapshotWritesAValidDocumentAtomically() async throws {
        let demo = try await DemoProcess()
        let output = "\(demo.directory)/out/snap.json"
        try FileManager.default.createDirectory(atPath: "\(demo.directory)/out", withIntermediateDirectories: true)
        let result = try await CLI.run(["snapshot", "\(demo.pid)", "-o", output], environment: demo.environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let document = try SnapshotDocument.decode(try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(document.process.pid == demo.pid)
        let names = Set(document.tasks.map(\.name))
        #expect(names.contains("demo-service"))
        #expect(names.contains("lock-waiter"))
        #expect(document.tasks.filter { $0.wait == "queue.pop" }.count == 3)
        #expect(document.tasks.contains { $0.parent != nil })
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(demo.directory)/out") == ["snap.json"])

        // The socket path is a target too, and --wait filters.
        let filtered = try await CLI.run(
            ["snapshot", demo.socket, "--wait", "queue.pop"], environment: demo.environment)
        #expect(filtered.status == 0)
        let filteredDocument = try SnapshotDocument.decode(Data(filtered.stdout.utf8))
        #expect(filteredDocument.tasks.count == 3)
        #expect(filteredDocument.tasks.allSatisfy { $0.wait == "queue.pop" })
        #expect(try await demo.interrupt() == 0)
    }

    @Test func theTextReportGroupsTheDemosTasks() async throws {
        let demo = try await DemoProcess()
        try await eventually("the demo's workers are waiting") {
            let result = try await CLI.run(
                ["snapshot", "\(demo.pid)", "--format", "text"], environment: demo.environment)
            return result.stdout.contains("queue.pop")
        }
        let result = try await CLI.run(["snapshot", "\(demo.pid)", "--format", "text"], environment: demo.environment)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("taskscope snapshot of taskscope (pid \(demo.pid))"))
        #expect(lines.contains { $0.hasPrefix("TASKS  REASON") })
        let queue = try #require(lines.first { $0.contains("queue.pop") })
        #expect(queue.hasPrefix("    3  queue.pop") || queue.hasPrefix("3  queue.pop"))
        #expect(queue.contains("DemoWorkload.swift"))
        #expect(lines.contains { $0.contains("lock.acquire") })

        let waitOnly = try await CLI.run(
            ["snapshot", "\(demo.pid)", "--format", "text", "--wait", "lock.acquire"], environment: demo.environment)
        // The group rows: from the header to the blank line before the resources.
        let rows = waitOnly.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { !$0.hasPrefix("TASKS") }.dropFirst().prefix { !$0.isEmpty }
        #expect(rows.count == 1)
        #expect(rows.first?.contains("lock.acquire") == true)
        #expect(waitOnly.stdout.contains("filter: tasks waiting for lock.acquire"))
        #expect(try await demo.interrupt() == 0)
    }

    @Test func theDemoFiresEveryLeakRule() async throws {
        // Thresholds short enough for a test; the demo's own settings fire everything within a minute.
        let demo = try await DemoProcess(extraEnvironment: [
            "TASKSCOPE_STUCK_WAIT": "1", "TASKSCOPE_IGNORED_CANCELLATION": "1", "TASKSCOPE_RUNAWAY_WINDOW": "3",
            "TASKSCOPE_RUNAWAY_GROWTH": "5",
        ])
        var document: SnapshotDocument?
        try await eventually("every rule fires", timeout: .seconds(30)) {
            let result = try await CLI.run(["snapshot", "\(demo.pid)"], environment: demo.environment)
            document = try? SnapshotDocument.decode(Data(result.stdout.utf8))
            return Set(document?.warnings.map(\.rule) ?? []) == Set(LeakRule.allCases)
        }
        let warnings = try #require(document?.warnings)
        // Definite leaks come first, and each names what leaked.
        #expect(
            warnings.prefix { $0.severity == .definite }.count == warnings.filter { $0.severity == .definite }.count)
        let named = Set(warnings.compactMap(\.name))
        for leak in [
            "unanswered-results", "log-lines", "lookup-result", "session-heartbeat", "legacy-lookup", "db-pool",
            "nightly-batch",
        ] {
            #expect(named.contains(leak), "no warning names \(leak)")
        }
        // The healthy twins stay clean.
        for healthy in [
            "answered-results", "buffered-result", "metrics-ticker", "careful-lookup", "cache-pool", "watcher",
            "hourly-batch",
        ] {
            #expect(!named.contains(healthy), "a warning names \(healthy)")
        }
        let orphans = (document?.resources ?? []).filter(\.orphaned)
        #expect(Set(orphans.map(\.name)).isSuperset(of: ["unanswered-results", "log-lines", "session-heartbeat"]))
        // blocked-executor names the resizes that block their threads, not the fixed ones that await.
        let stall = try #require(warnings.first { $0.rule == .blockedExecutor })
        #expect(!stall.taskIDs.isEmpty && stall.message.contains("\"image-resize-"), "\(stall.message)")
        #expect(!stall.message.contains("async-resize"), "\(stall.message)")
        // Sampled from the blocked threads themselves: the frame each one is blocked in.
        #expect(stall.message.contains("blocked in ") && stall.message.contains("resizeBlocking"), "\(stall.message)")
        #expect(try await demo.interrupt() == 0)
    }

    @Test func theProtocolCanBeSpokenByHand() async throws {
        let demo = try await DemoProcess()
        let client = try RawLineClient(path: demo.socket)
        let hello = try await client.readObject()
        #expect(hello["type"] as? String == "hello")
        #expect(hello["pid"] as? Int == Int(demo.pid))
        // The demo's tasks reach their waits a moment after its socket is up (later on a loaded
        // machine): asked until they have, each request a new id.
        var id = 0
        try await eventually("the demo's tasks wait") {
            id += 1
            let summary = try await client.request(#"{"id":\#(id),"op":"summary"}"#)
            let counts = try #require((summary["result"] as? [String: Any])?["tasks"] as? [String: Int])
            return counts["waiting", default: 0] >= 4
        }
        var names: [String?] = []
        try await eventually("the lock waiter is listed by its wait") {
            id += 1
            let page = try await client.request(#"{"id":\#(id),"op":"tasks","wait":"lock.acquire"}"#)
            let rows = try #require((page["result"] as? [String: Any])?["tasks"] as? [[String: Any]])
            names = rows.map { $0["name"] as? String }
            return !names.isEmpty
        }
        #expect(names == ["lock-waiter"])
        let error = try await client.request(#"{"id":\#(id + 1),"op":"tasks","sort":"sideways"}"#)
        #expect((error["error"] as? [String: Any])?["code"] as? String == "invalid-field")
        #expect(try await demo.interrupt() == 0)
    }

    @Test func stoppingRemovesTheSocketAndAKilledProcessLeavesAStaleOneThatListCleans() async throws {
        let demo = try await DemoProcess()
        #expect(try await demo.interrupt() == 0)
        #expect(!FileManager.default.fileExists(atPath: demo.socket))
        let empty = try await CLI.run(["list"], environment: demo.environment)
        #expect(empty.stdout == "no attachable processes (looked in \(demo.directory))\n")

        let killed = try await DemoProcess()
        try await killed.killHard()
        let snapshot = try await CLI.run(["snapshot", killed.socket], environment: killed.environment)
        #expect(snapshot.status == 1)
        #expect(
            snapshot.stderr
                == "taskscope: nobody is listening on \(killed.socket) (the process has exited); removed the stale socket\n"
        )
        #expect(!FileManager.default.fileExists(atPath: killed.socket))

        let killedAgain = try await DemoProcess()
        try await killedAgain.killHard()
        #expect(FileManager.default.fileExists(atPath: killedAgain.socket))
        let cleaned = try await CLI.run(["list"], environment: killedAgain.environment)
        #expect(cleaned.status == 0)
        #expect(cleaned.stdout.contains("removed stale socket \(killedAgain.socket)"))
        #expect(!FileManager.default.fileExists(atPath: killedAgain.socket))
    }

    @Test func badInputGetsOneClearLineAndAFailingExit() async throws {
        let directory = try makeTemporaryDirectory("err")
        defer { removeTree(directory) }
        let environment = ["TASKSCOPE_DIR": directory]
        func expectFailure(_ arguments: [String], _ message: String, env: [String: String] = environment) async throws {
            let result = try await CLI.run(arguments, environment: env)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr == "taskscope: \(message)\n", "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
        }
        try await expectFailure(["snapshot", "2000000000"], "no process with pid 2000000000")
        let own = getpid()
        try await expectFailure(
            ["snapshot", "\(own)"],
            "process \(own) has no taskscope agent (no socket at \(directory)/\(own).sock); does it call TaskScope.start()?"
        )
        try await expectFailure(["snapshot", "/etc/hostname"], "/etc/hostname is not a socket")
        try await expectFailure(
            ["snapshot", "\(directory)/none.sock"], "\(directory)/none.sock: no such file or directory")
        try await expectFailure(
            ["snapshot", "1", "-o", "/nonexistent-dir/x.json"],
            "/nonexistent-dir/x.json: cannot write here: No such file or directory")
        try await expectFailure(
            ["demo", "--serve"], "the agent is disabled by TASKSCOPE_DISABLE; unset it to run the demo",
            env: ["TASKSCOPE_DISABLE": "1"])

        let badFormat = try await CLI.run(["snapshot", "1", "--format", "yaml"])
        #expect(badFormat.status != 0)
        #expect(badFormat.stderr.contains("yaml"))
        #expect(!badFormat.stderr.contains("Fatal error"))
    }

    @Test func anUnwritableOutputFailsBeforeTouchingTheProcessAndLeavesNothing() async throws {
        let demo = try await DemoProcess()
        let target = "\(demo.directory)/exists.json"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        let missingDirectory = try await CLI.run(
            ["snapshot", "\(demo.pid)", "-o", "\(demo.directory)/no/such/dir.json"], environment: demo.environment)
        #expect(missingDirectory.status == 1)
        // A good export over an existing file replaces it whole.
        let replaced = try await CLI.run(["snapshot", "\(demo.pid)", "-o", target], environment: demo.environment)
        #expect(replaced.status == 0)
        #expect(try SnapshotDocument.decode(try Data(contentsOf: URL(fileURLWithPath: target))).tasks.count > 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: demo.directory).allSatisfy { !$0.contains(".tmp-") })
        #expect(try await demo.interrupt() == 0)
    }

    @Test func diffComparesTwoSnapshotsOfTheDemo() async throws {
        let demo = try await DemoProcess()
        let (before, after) = ("\(demo.directory)/before.json", "\(demo.directory)/after.json")
        #expect(
            try await CLI.run(["snapshot", "\(demo.pid)", "-o", before], environment: demo.environment).status == 0)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await CLI.run(["snapshot", "\(demo.pid)", "-o", after], environment: demo.environment).status == 0)
        #expect(try await demo.interrupt() == 0)

        let text = try await CLI.run(["diff", before, after])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("taskscope diff of taskscope (pid \(demo.pid)): "))
        #expect(text.stdout.contains("live tasks: "))
        let json = try await CLI.run(["diff", before, after, "--json"])
        let diff = try JSONDecoder().decode(SnapshotDiff.self, from: Data(json.stdout.utf8))
        #expect(diff.old.pid == demo.pid && diff.new.pid == demo.pid)
        #expect(diff.new.capturedAt > diff.old.capturedAt)
        #expect(diff.changed.allSatisfy { $0.change == $0.after - $0.before && $0.change != 0 })

        let missing = try await CLI.run(["diff", before, "\(demo.directory)/none.json"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("taskscope: \(demo.directory)/none.json: cannot read"))
    }
}

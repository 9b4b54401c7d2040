import Foundation
import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope

/// The agent's socket server, spoken to as `socat` would: raw lines on a unix socket.
@Suite(.timeLimit(.minutes(2))) struct AgentServerTests {
    /// An agent on its own registry and socket, stopped when the body ends.
    func withAgent(
        registry: Registry = Registry(),
        _ configure: (inout TaskScope.Configuration) -> Void = { _ in },
        _ body: (Agent, String) async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory("srv")
        defer { removeTree(directory) }
        var configuration = TaskScope.Configuration(
            socketPath: "\(directory)/sub/agent.sock", sampleInterval: .milliseconds(50))
        // Tests may take their time between connecting and asking when the machine is busy;
        // those of the first-request timeout set their own.
        configuration.firstRequestTimeout = .seconds(60)
        configure(&configuration)
        let agent = try Agent.start(registry: registry, configuration: configuration)
        defer { agent.stop() }
        try await body(agent, configuration.socketPath!)
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int) ?? -1
    }

    @Test func createsAPrivateDirectoryAndSocketAndRemovesItOnStop() async throws {
        let directory = try makeTemporaryDirectory("perm")
        defer { removeTree(directory) }
        let path = "\(directory)/nested/dir/agent.sock"
        let agent = try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
        #expect(try mode("\(directory)/nested/dir") == 0o700)
        #expect(try mode(path) == 0o600)
        agent.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func tightensItsOwnDirectoryButLeavesAChosenOneAlone() async throws {
        let directory = try makeTemporaryDirectory("open")
        defer { removeTree(directory) }
        chmod(directory, 0o777)
        // A socket path chosen explicitly ($TASKSCOPE_SOCKET) may sit in a shared directory: never chmod it.
        let chosen = try Agent.start(
            registry: Registry(), configuration: .init(),
            location: SocketLocation(environment: ["TASKSCOPE_SOCKET": "\(directory)/chosen.sock"]))
        #expect(chosen.socketPath == "\(directory)/chosen.sock")
        #expect(try mode(chosen.socketPath) == 0o600)
        chosen.stop()
        #expect(try mode(directory) == 0o777)
        // taskscope's own directory ($TASKSCOPE_DIR) is made private.
        let own = try Agent.start(
            registry: Registry(), configuration: .init(),
            location: SocketLocation(environment: ["TASKSCOPE_DIR": directory]))
        #expect(own.socketPath == "\(directory)/\(getpid()).sock")
        own.stop()
        #expect(try mode(directory) == 0o700)
    }

    @Test func replacesAStaleSocketButNeverAnotherFile() async throws {
        let directory = try makeTemporaryDirectory("stale")
        defer { removeTree(directory) }
        let path = "\(directory)/agent.sock"
        // A stale socket: bound once, its listener gone.
        let first = try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
        first.stop()
        try FakeServer.bindOnly(path)
        #expect(FileManager.default.fileExists(atPath: path))
        let second = try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
        second.stop()

        let regular = "\(directory)/regular.sock"
        #expect(FileManager.default.createFile(atPath: regular, contents: Data("precious".utf8)))
        let error = #expect(throws: TaskScopeError.self) {
            try Agent.start(registry: Registry(), configuration: .init(socketPath: regular))
        }
        #expect(error?.message.contains("\(regular) exists and is not a socket") == true)
        #expect(try String(contentsOfFile: regular, encoding: .utf8) == "precious")
    }

    @Test func refusesToStealALiveSocket() async throws {
        try await withAgent { _, path in
            let error = #expect(throws: TaskScopeError.self) {
                try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
            }
            #expect(error?.message.contains("already serving on \(path)") == true)
            // The first agent still answers.
            let client = try RawLineClient(path: path)
            #expect(try await client.readObject()["type"] as? String == "hello")
        }
    }

    @Test func reportsWhereItCannotStart() {
        let error = #expect(throws: TaskScopeError.self) {
            try Agent.start(registry: Registry(), configuration: .init(socketPath: "/proc/taskscope-test/agent.sock"))
        }
        #expect(error?.description.hasPrefix("taskscope: cannot create socket directory /proc/taskscope-test") == true)
        let long = "/tmp/" + String(repeating: "x", count: 120) + "/a.sock"
        let tooLong = #expect(throws: TaskScopeError.self) {
            try Agent.start(registry: Registry(), configuration: .init(socketPath: long))
        }
        #expect(tooLong?.message.contains("longer than a unix socket path may be") == true)
    }

    @Test func startIsIdempotentAndStopRemovesTheSocket() async throws {
        try await GlobalAgent.exclusively {
            let directory = try makeTemporaryDirectory("global")
            defer { removeTree(directory) }
            let path = "\(directory)/global.sock"
            let first = try TaskScope.start(.init(socketPath: path))
            let second = try TaskScope.start(.init(socketPath: "\(directory)/other.sock"))
            #expect(first == path)
            #expect(second == path)
            #expect(TaskScope.socketPath == path)
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/other.sock"))
            TaskScope.stop()
            #expect(TaskScope.socketPath == nil)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func saysHelloFirst() async throws {
        try await withAgent { agent, path in
            let hello = try await RawLineClient(path: path).readObject()
            #expect(hello["type"] as? String == "hello")
            #expect(hello["protocol"] as? Int == 1)
            #expect(hello["agent"] as? String == "taskscope")
            #expect(hello["pid"] as? Int == Int(getpid()))
            #expect(hello["maxLineBytes"] as? Int == 1 << 20)
            #expect(hello["agentVersion"] as? String == TaskScope.version)
        }
    }

    @Test func answersSummaryTasksTaskAndHistory() async throws {
        try await withAgent { agent, path in
            let registry = agent.registry
            let parent = registry.spawn(name: "parent", parentID: 0, file: "A.swift", line: 1, function: "f()")
            let child = registry.spawn(name: "child", parentID: parent.id, file: "A.swift", line: 2, function: "f()")
            _ = registry.beginWait(child, reason: "db.query", file: "A.swift", line: 3)
            let done = registry.spawn(name: "done", parentID: 0, file: "A.swift", line: 4, function: "f()")
            registry.finish(done, outcome: .failed, errorType: "E")

            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let summary = try await client.request(#"{"id":1,"op":"summary"}"#)
            #expect(summary["id"] as? Int == 1)
            let result = try #require(summary["result"] as? [String: Any])
            let tasks = try #require(result["tasks"] as? [String: Int])
            #expect(tasks == ["active": 1, "waiting": 1, "finished": 1])
            #expect(result["waits"] as? [String: Int] == ["db.query": 1])
            let totals = try #require(result["totals"] as? [String: Int])
            #expect(totals == ["spawned": 3, "completed": 0, "cancelled": 0, "failed": 1])

            let page = try await client.request(#"{"id":2,"op":"tasks","state":"waiting","limit":5}"#)
            let pageResult = try #require(page["result"] as? [String: Any])
            #expect(pageResult["total"] as? Int == 1)
            let rows = try #require(pageResult["tasks"] as? [[String: Any]])
            #expect(rows.first?["name"] as? String == "child")
            #expect(rows.first?["wait"] as? String == "db.query")

            let detail = try await client.request(#"{"id":3,"op":"task","task":\#(parent.id)}"#)
            let detailResult = try #require(detail["result"] as? [String: Any])
            let children = try #require(detailResult["children"] as? [[String: Any]])
            #expect(children.map { $0["id"] as? Int } == [Int(child.id)])

            let missing = try await client.request(#"{"id":4,"op":"task","task":999999}"#)
            #expect(missing["id"] as? Int == 4)
            #expect((missing["error"] as? [String: Any])?["code"] as? String == "not-found")

            try await eventually("two samples") {
                let history = try await client.request(#"{"id":5,"op":"history"}"#)
                let samples = (history["result"] as? [String: Any])?["samples"] as? [[String: Any]]
                return (samples?.count ?? 0) >= 2
            }
            let limited = try await client.request(#"{"id":6,"op":"history","limit":1}"#)
            let limitedResult = try #require(limited["result"] as? [String: Any])
            #expect((limitedResult["samples"] as? [Any])?.count == 1)
            #expect(limitedResult["capacity"] as? Int == 600)
            #expect(limitedResult["interval"] as? Double == 0.05)
        }
    }

    @Test func everyBadRequestGetsAnErrorAndTheConnectionStaysUsable() async throws {
        try await withAgent { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let cases: [(String, String, Int?)] = [
                ("not json", "invalid-json", nil),
                (#"{"id":7,"op":"launch"}"#, "unknown-op", 7),
                (#"{"id":8,"op":"tasks","limit":-5}"#, "invalid-field", 8),
                (#"{"id":9,"op":"summary","extra":1}"#, "unknown-field", 9),
                (#"{"op":"summary"}"#, "invalid-request", nil),
                ("[]", "invalid-request", nil),
            ]
            for (line, code, id) in cases {
                let reply = try await client.request(line)
                let error = try #require(reply["error"] as? [String: Any], "\(line)")
                #expect(error["code"] as? String == code, "\(line)")
                #expect(!(error["message"] as? String ?? "").isEmpty)
                #expect(reply["id"] as? Int == id, "\(line)")
                #expect(reply.keys.contains("id"), "every error reply carries an id key, even null")
            }
            // Blank and whitespace-only lines are ignored: the next line read answers the next request.
            try client.send("")
            try client.send("  \t ")
            let next = try await client.request(#"{"id":10,"op":"summary"}"#)
            #expect(next["id"] as? Int == 10)
            #expect(next["result"] != nil)
        }
    }

    @Test func aRequestNestedTooDeepGetsInvalidRequestAndTheConnectionStaysUsable() async throws {
        try await withAgent { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let justTooDeep =
                #"{"id":1,"op":"summary","x":"# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
                + "}"
            // The report's line: 500 deep, over 8 KB.
            let veryDeep =
                #"{"id":2,"op":"summary","x":"# + String(repeating: "[11,22,33,44,55,", count: 499) + "[1]"
                + String(repeating: "]", count: 499) + "}"
            for line in [justTooDeep, veryDeep] {
                let reply = try await client.request(line)
                let error = try #require(reply["error"] as? [String: Any])
                #expect(error["code"] as? String == "invalid-request")
                #expect((error["message"] as? String)?.contains("depth limit is 32") == true)
                #expect(reply.keys.contains("id") && reply["id"] is NSNull)
            }
            let atTheLimit =
                #"{"id":3,"op":"summary","x":"# + String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
                + "}"
            let reply = try await client.request(atTheLimit)
            #expect((reply["error"] as? [String: Any])?["code"] as? String == "unknown-field")
            #expect(reply["id"] as? Int == 3)
            #expect(try await client.request(#"{"id":4,"op":"summary"}"#)["result"] != nil)
        }
    }

    @Test func aLineOverTheLimitGetsAnErrorAndTheConnectionCloses() async throws {
        try await withAgent({ $0.maxLineBytes = 1024 }) { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            try client.send(#"{"id":1,"op":"summary","pad":""# + String(repeating: "x", count: 2000) + #""}"#)
            let reply = try await client.readObject()
            #expect((reply["error"] as? [String: Any])?["code"] as? String == "line-too-long")
            #expect(await client.isClosedByPeer())

            // A line that never ends is cut off the same way, without waiting for a newline.
            let endless = try RawLineClient(path: path)
            _ = try await endless.readObject()
            try endless.write(Array(repeating: UInt8(ascii: "a"), count: 4096))
            let cut = try await endless.readObject()
            #expect((cut["error"] as? [String: Any])?["code"] as? String == "line-too-long")
            #expect(await endless.isClosedByPeer())

            // The agent still serves others.
            let other = try RawLineClient(path: path)
            _ = try await other.readObject()
            #expect(try await other.request(#"{"id":2,"op":"summary"}"#)["result"] != nil)
        }
    }

    @Test func answersManyRequestsInOneWriteInOrder() async throws {
        try await withAgent { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let count = 2_000
            let batch = (1...count).map { #"{"id":\#($0),"op":"summary"}"# + "\n" }.joined()
            try client.write(Array(batch.utf8))
            for expected in 1...count {
                #expect(try await client.readObject()["id"] as? Int == expected)
            }
        }
    }

    @Test func servesSeveralClientsAtOnce() async throws {
        try await withAgent { _, path in
            let clients = try (0..<20).map { _ in try RawLineClient(path: path) }
            for client in clients { _ = try await client.readObject() }
            for (index, client) in clients.enumerated() {
                try client.send(#"{"id":\#(index),"op":"summary"}"#)
            }
            for (index, client) in clients.enumerated() {
                #expect(try await client.readObject()["id"] as? Int == index)
            }
        }
    }

    @Test func pushesSummariesToSubscribersUntilUnsubscribed() async throws {
        try await withAgent { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let reply = try await client.request(#"{"id":1,"op":"subscribe","interval":0.1}"#)
            #expect((reply["result"] as? [String: Any])?["active"] as? Bool == true)
            for _ in 0..<3 {
                let push = try await client.readObject()
                #expect(push["type"] as? String == "summary")
                #expect(push["id"] == nil)
                #expect((push["summary"] as? [String: Any])?["tasks"] != nil)
            }
            try client.send(#"{"id":2,"op":"unsubscribe"}"#)
            var sawReply = false
            while !sawReply {
                let line = try await client.readObject()
                sawReply = line["id"] as? Int == 2
            }
            // After the reply no more pushes: the next line is the answer to the next request.
            #expect(try await client.request(#"{"id":3,"op":"hello"}"#)["id"] as? Int == 3)
        }
    }

    @Test func aSecondSnapshotWhileOneStreamsIsRefusedAsBusy() async throws {
        try await withAgent({ $0.maxPendingOutputBytes = 16 * 1024 }) { agent, path in
            for index in 0..<3_000 {
                _ = agent.registry.spawn(name: "t\(index)", parentID: 0, file: "A.swift", line: 1, function: "f()")
            }
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            // Both requests arrive in one read; the first snapshot cannot finish before the
            // second is read, because its output stops at the 16 KiB mark until we read.
            try client.write(
                Array(#"{"id":1,"op":"snapshot","chunk":1}"#.utf8) + [10] + Array(#"{"id":2,"op":"snapshot"}"#.utf8) + [
                    10
                ])
            var busy: [String: Any]?
            var done: [String: Any]?
            while done == nil {
                let line = try #require(try await client.readLine())
                guard !line.hasPrefix(#"{"id":1,"chunk""#) else { continue }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                if object["id"] as? Int == 2 { busy = object }
                if object["id"] as? Int == 1 { done = object }
            }
            #expect((busy?["error"] as? [String: Any])?["code"] as? String == "busy")
            #expect((done?["result"] as? [String: Any])?["tasks"] as? Int == 3_000)
        }
    }

    @Test func listsResourcesAndWarningsAndCountsThemInTheSummary() async throws {
        let name = "orphan-\(UInt64.random(in: 0...UInt64.max))"
        // Tracked primitives live in the process-wide registry.
        try await withAgent(registry: TaskScope.registry) { agent, path in
            // A channel whose receiver is gone while a task is blocked sending: a definite leak.
            func strand() -> Task<Void, any Error> {
                let (sender, _) = TrackedChannel<Int>.make(capacity: 0, name: name)
                return Task.tracked("strander-\(name)") { try await sender.send(1) }
            }
            let stranded = strand()
            defer { stranded.cancel() }
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            try await eventually("the warning is listed") {
                let reply = try await client.request(#"{"id":1,"op":"warnings"}"#)
                let warnings = (reply["result"] as? [String: Any])?["warnings"] as? [[String: Any]] ?? []
                return warnings.contains {
                    $0["name"] as? String == name && $0["rule"] as? String == "orphaned-channel"
                }
            }
            // The whole list: other tests leave orphaned channels in the process-wide registry.
            let resources = try await client.request(
                #"{"id":2,"op":"resources","kind":"channel","orphaned":true,"limit":10000}"#)
            let list = try #require((resources["result"] as? [String: Any])?["resources"] as? [[String: Any]])
            let channel = try #require(list.first { $0["name"] as? String == name })
            #expect(channel["orphaned"] as? Bool == true)
            #expect(channel["blockedSending"] as? Int == 1)
            #expect(channel["receivers"] as? Int == 0)
            #expect(list.allSatisfy { $0["kind"] as? String == "channel" && $0["orphaned"] as? Bool == true })
            agent.refreshWarnings()
            let summary = try await client.request(#"{"id":3,"op":"summary"}"#)
            let counts = try #require((summary["result"] as? [String: Any])?["warnings"] as? [String: Int])
            #expect(counts["orphaned-channel", default: 0] >= 1)
            let kinds = try #require((summary["result"] as? [String: Any])?["resources"] as? [String: Int])
            #expect(kinds["channel", default: 0] >= 1)
        }
    }

    @Test func helloCanBeAskedForAgain() async throws {
        try await withAgent { _, path in
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            let reply = try await client.request(#"{"id":11,"op":"hello"}"#)
            #expect(reply["id"] as? Int == 11)
            #expect((reply["result"] as? [String: Any])?["agent"] as? String == "taskscope")
        }
    }

    @Test func streamsASnapshotInChunks() async throws {
        try await withAgent { agent, path in
            for index in 0..<25 {
                let record = agent.registry.spawn(
                    name: "t\(index)", parentID: 0, file: "A.swift", line: index, function: "f()")
                if index % 5 == 0 { _ = agent.registry.beginWait(record, reason: "sleep", file: "A.swift", line: 99) }
            }
            let client = try RawLineClient(path: path)
            _ = try await client.readObject()
            try client.send(#"{"id":4,"op":"snapshot","chunk":10}"#)
            let headLine = try #require(try await client.readLine())
            #expect(headLine.hasPrefix(#"{"id":4,"chunk":"head","data":{"#))
            let head = try client.decodeChunk(headLine)
            #expect(head["format"] as? String == "taskscope.snapshot")
            var tasks: [[String: Any]] = []
            var final: [String: Any] = [:]
            while true {
                let line = try #require(try await client.readLine())
                if line.hasPrefix(#"{"id":4,"chunk":"tasks","data":["#) {
                    tasks +=
                        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["data"]
                        as? [[String: Any]] ?? []
                } else {
                    final = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    break
                }
            }
            #expect(tasks.count == 25)
            #expect(tasks.map { $0["id"] as? Int } == (1...25).map { $0 })
            #expect(final["id"] as? Int == 4)
            #expect((final["result"] as? [String: Any])?["tasks"] as? Int == 25)
            #expect((final["result"] as? [String: Any])?["chunks"] as? Int == 4)

            try client.send(#"{"id":5,"op":"snapshot","wait":"sleep"}"#)
            _ = try await client.readLine()
            let filtered = try #require(try await client.readLine())
            let data = try #require(try JSONSerialization.jsonObject(with: Data(filtered.utf8)) as? [String: Any])
            #expect((data["data"] as? [[String: Any]])?.count == 5)
        }
    }
}

extension RawLineClient {
    /// The `data` of a chunk line, as an object.
    func decodeChunk(_ line: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return object?["data"] as? [String: Any] ?? [:]
    }
}

extension AgentServerTests {
    @Test func aClientThatStopsReadingIsDroppedWithoutHoldingUpOthers() async throws {
        let registry = Registry()
        for index in 0..<20_000 {
            _ = registry.spawn(name: "task-\(index)", parentID: 0, file: "Load.swift", line: index % 7, function: "f")
        }
        let logs = CapturedLogs()
        try await withAgent(registry: registry) { configuration in
            configuration.maxPendingOutputBytes = 64 << 10
            configuration.stalledClientTimeout = .milliseconds(300)
            configuration.logger = logs.logger
        } _: { _, path in
            let stalled = try RawLineClient(path: path)
            _ = try await stalled.readObject()  // the hello
            // Megabytes of snapshot asked for and never read.
            try stalled.send(#"{"id":1,"op":"snapshot","chunk":100}"#)
            let other = try RawLineClient(path: path)
            _ = try await other.readObject()
            for id in 2..<20 {
                let reply = try await other.request(#"{"id":\#(id),"op":"summary"}"#)
                #expect(reply["id"] as? Int == id)
            }
            try await eventually("the stalled client is dropped", timeout: .seconds(10)) {
                logs.contains("dropped a client that stopped reading", atLeast: .warning)
            }
            // What it can still read ends: the connection is closed.
            var lines = 0
            while try await stalled.readLine() != nil { lines += 1 }
            #expect(lines < 20_000 / 100 + 2)
            #expect(try await other.request(#"{"id":99,"op":"summary"}"#)["id"] as? Int == 99)
        }
    }
}

extension AgentServerTests {
    @Test func aSymbolicLinkAtTheSocketPathIsNeverFollowedNorRemoved() async throws {
        try await withAgent { _, livePath in
            let directory = try makeTemporaryDirectory("link")
            defer { removeTree(directory) }
            let file = "\(directory)/precious.txt"
            #expect(FileManager.default.createFile(atPath: file, contents: Data("precious".utf8)))
            for (link, target) in [("\(directory)/to-file.sock", file), ("\(directory)/to-socket.sock", livePath)] {
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
                let error = #expect(throws: TaskScopeError.self) {
                    try Agent.start(registry: Registry(), configuration: .init(socketPath: link))
                }
                #expect(error?.message.contains("\(link) exists and is not a socket") == true)
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
            }
            #expect(try String(contentsOfFile: file, encoding: .utf8) == "precious")
            // The live agent the second link points at is untouched and still answers.
            let client = try RawLineClient(path: livePath)
            #expect(try await client.readObject()["type"] as? String == "hello")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root, to give a socket to another user"))
    func anotherUsersSocketIsNeverRemoved() throws {
        let directory = try makeTemporaryDirectory("theirs")
        defer { removeTree(directory) }
        let path = "\(directory)/agent.sock"
        try FakeServer.bindOnly(path)  // stale: nobody listens
        #expect(chown(path, 65534, 65534) == 0)
        let error = #expect(throws: TaskScopeError.self) {
            try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
        }
        #expect(error?.message == "\(path) is a socket of uid 65534; not removing it")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func theDirectoryAndSocketArePrivateEvenUnderAPermissiveUmask() throws {
        let directory = try makeTemporaryDirectory("umask")
        defer { removeTree(directory) }
        let path = "\(directory)/own/agent.sock"
        // The umask is the process's: set it only around the start, in a test that creates nothing else.
        let previous = umask(0)
        let agent: Agent
        do {
            defer { umask(previous) }
            agent = try Agent.start(registry: Registry(), configuration: .init(socketPath: path))
        }
        defer { agent.stop() }
        #expect(try mode("\(directory)/own") == 0o700)
        #expect(try mode(path) == 0o600)
    }
}

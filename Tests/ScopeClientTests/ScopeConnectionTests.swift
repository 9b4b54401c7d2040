import Foundation
import NIOCore
import ScopeProtocol
import TestSupport
import Testing

@testable import ScopeClient
@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct ScopeConnectionTests {
    @Test func readsTheHelloAndAnswersEveryQuery() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let records = agent.populate(9)
        agent.registry.finish(records[1], outcome: .completed)
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        #expect(connection.hello.pid == getpid())
        #expect(connection.hello.protocol == 1)

        let summary = try await connection.summary()
        #expect(summary.tasks == .init(active: 5, waiting: 3, finished: 1))
        #expect(summary.waits == ["db.query": 3])

        let page = try await connection.tasks(TaskQuery(state: .waiting, limit: 2))
        #expect(page.total == 3)
        #expect(page.tasks.map(\.name) == ["task-0", "task-3"])

        let detail = try await connection.task(id: records[0].id)
        #expect(detail.task.name == "task-0")

        let history = try await connection.history(limit: 1)
        #expect(history.samples.count == 1)
    }

    @Test func concurrentRequestsGetTheirOwnReplies() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        agent.populate(30)
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for offset in 0..<20 {
                group.addTask {
                    let page = try await connection.tasks(TaskQuery(offset: offset, limit: 1))
                    return (offset, Int(page.tasks[0].id))
                }
            }
            for try await (offset, id) in group {
                #expect(id == offset + 1)
            }
        }
    }

    @Test func errorRepliesBecomeServerErrors() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let error = await #expect(throws: ScopeClientError.self) { try await connection.task(id: 424_242) }
        guard case .server(let protocolError)? = error else {
            Issue.record("expected a server error, got \(String(describing: error))")
            return
        }
        #expect(protocolError.code == .notFound)
        // The connection remains usable.
        #expect(try await connection.summary().pid == getpid())
    }

    @Test func subscriptionsDeliverPushedSummaries() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        let connection = try await ScopeConnection.connect(to: agent.path)
        defer { connection.close() }
        let stream = try await connection.subscribe(interval: .milliseconds(100))
        agent.populate(4)
        var seen: Summary?
        for await summary in stream where summary.tasks.live == 4 {
            seen = summary
            break
        }
        #expect(seen?.tasks.waiting == 2)
        try await connection.unsubscribe()
    }

    @Test func aVanishingAgentFailsPendingRequestsAsDisconnected() async throws {
        let agent = try ClientTestAgent()
        let connection = try await ScopeConnection.connect(to: agent.path)
        agent.stop()
        let error = await #expect(throws: ScopeClientError.self) { try await connection.summary() }
        #expect(error == .disconnected(agent.path))
    }
}

@Suite(.timeLimit(.minutes(2))) struct TargetTests {
    @Test func parsesPIDsAndPaths() {
        #expect(Target(parsing: "4242") == .pid(4242))
        #expect(Target(parsing: "/tmp/x.sock") == .socket("/tmp/x.sock"))
        #expect(Target(parsing: "12a") == .socket("12a"))
        #expect(Target(parsing: "99999999999") == .socket("99999999999"))
    }

    @Test func aPIDWithoutAProcessOrAnAgentIsExplained() throws {
        let directory = try makeTemporaryDirectory("tgt")
        defer { removeTree(directory) }
        let location = SocketLocation(environment: ["TASKSCOPE_DIR": directory])
        #expect(throws: ScopeClientError.noSuchProcess(2_000_000_000)) {
            try Target.pid(2_000_000_000).socketPath(location: location)
        }
        let ownPID = getpid()
        #expect(throws: ScopeClientError.noAgent(pid: ownPID, path: "\(directory)/\(ownPID).sock")) {
            try Target.pid(ownPID).socketPath(location: location)
        }
    }

    @Test func pathsThatAreNotTaskscopeSocketsAreExplained() async throws {
        let directory = try makeTemporaryDirectory("bad")
        defer { removeTree(directory) }
        await #expect(throws: ScopeClientError.noSuchFile("\(directory)/none.sock")) {
            _ = try await ScopeConnection.connect(to: "\(directory)/none.sock")
        }
        let file = "\(directory)/file.sock"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        await #expect(throws: ScopeClientError.notASocket(file)) {
            _ = try await ScopeConnection.connect(to: file)
        }
        let stale = "\(directory)/stale.sock"
        try FakeServer.bindOnly(stale)
        await #expect(throws: ScopeClientError.staleSocket(stale)) {
            _ = try await ScopeConnection.connect(to: stale)
        }
        let silent = "\(directory)/silent.sock"
        let server = try FakeServer(path: silent, greeting: nil)
        defer { server.stop() }
        await #expect(throws: ScopeClientError.noAnswer(path: silent, seconds: 0.3)) {
            _ = try await ScopeConnection.connect(to: silent, timeout: .milliseconds(300))
        }
        let chatty = "\(directory)/chatty.sock"
        let other = try FakeServer(path: chatty, greeting: "SSH-2.0-OpenSSH\n")
        defer { other.stop() }
        await #expect(throws: ScopeClientError.notTaskscope(chatty)) {
            _ = try await ScopeConnection.connect(to: chatty, timeout: .seconds(2))
        }
        let future = "\(directory)/future.sock"
        let newer = try FakeServer(path: future, greeting: FakeServer.agentHello(protocol: 2))
        defer { newer.stop() }
        await #expect(throws: ScopeClientError.unsupportedProtocol(path: future, version: 2)) {
            _ = try await ScopeConnection.connect(to: future, timeout: .seconds(2))
        }
    }
}

extension ScopeConnectionTests {
    @Test func anAgentThatFallsSilentFailsRequestsAndSnapshotsInsteadOfHanging() async throws {
        let directory = try makeTemporaryDirectory("mute")
        defer { removeTree(directory) }
        let path = "\(directory)/mute.sock"
        let server = try FakeServer(path: path, greeting: FakeServer.agentHello(protocol: 1))
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(
            to: path, timeout: .seconds(5), requestTimeout: .milliseconds(300))
        defer { connection.close() }
        await #expect(throws: ScopeClientError.timedOut("no reply to summary from \(path)")) {
            _ = try await connection.summary()
        }
        await #expect(throws: ScopeClientError.timedOut("snapshot from \(path) stalled for 0.3 seconds")) {
            _ = try await connection.snapshot { _, _ in }
        }
    }
}

extension ScopeConnectionTests {
    @Test func aHelloWithANumberNoAgentCanMeanIsNotAnAgent() async throws {
        let directory = try makeTemporaryDirectory("hello")
        defer { removeTree(directory) }
        let path = "\(directory)/far.sock"
        let server = try FakeServer(path: path, greeting: FakeServer.agentHello(protocol: 1, started: "1e300"))
        defer { server.stop() }
        await #expect(throws: ScopeClientError.notAnAgent(path: path, reason: "started is 1e300, not a time")) {
            _ = try await ScopeConnection.connect(to: path, timeout: .seconds(5))
        }
    }

    @Test func aReplyWithANumberOutOfRangeIsRefusedNamingTheField() async throws {
        let directory = try makeTemporaryDirectory("reply")
        defer { removeTree(directory) }
        let path = "\(directory)/odd.sock"
        let server = try FakeServer(
            path: path, greeting: FakeServer.agentHello(protocol: 1), answer: FakeServer.summaryReply(uptime: "-1e300"))
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(to: path, timeout: .seconds(5))
        defer { connection.close() }
        await #expect(throws: ScopeClientError.notAnAgent(path: path, reason: "uptime is -1e300, not a duration")) {
            _ = try await connection.summary()
        }
        #expect(
            ScopeClientError.notAnAgent(path: path, reason: "uptime is -1e300, not a duration").description
                == "\(path) is not a taskscope agent: uptime is -1e300, not a duration")
    }
}

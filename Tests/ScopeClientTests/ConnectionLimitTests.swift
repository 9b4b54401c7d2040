import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import ScopeClient

/// What a connection does with an agent that never stops, stops halfway, answers late, or
/// is abandoned by its caller: it ends with one named error, at a bound, and never hands
/// a consumer anything once its caller has been told the request ended.
@Suite(.timeLimit(.minutes(2))) struct ConnectionLimitTests {
    static let hello = FakeServer.agentHello(protocol: 1)

    /// A chunk of `size` bytes of a kind no client knows (so consumers skip it), for request `id`.
    static func fillerChunk(id: Int = 1, size: Int) -> [UInt8] {
        let opening = Array(#"{"id":\#(id),"chunk":"filler","data":""#.utf8)
        let closing = Array(#""}"#.utf8) + [UInt8(ascii: "\n")]
        return opening + [UInt8](repeating: UInt8(ascii: "x"), count: max(0, size - opening.count - closing.count))
            + closing
    }

    /// A fake agent answering its first request with `script`, after which the bytes it sent are in `sent`.
    private func fake(
        _ name: String, in directory: String, _ script: @escaping @Sendable (FakePeer) -> Void
    ) throws -> (path: String, server: FakeServer) {
        let path = "\(directory)/\(name).sock"
        let server = try FakeServer(path: path, greeting: Self.hello) { peer in
            guard peer.readLine() != nil else { return }
            script(peer)
        }
        return (path, server)
    }

    @Test func aReplyLineThatNeverEndsStopsAtTheLineCap() async throws {
        let directory = try makeTemporaryDirectory("endless")
        defer { removeTree(directory) }
        let sent = Atomic<Int>(0)
        let (path, server) = try fake("line", in: directory) { peer in
            peer.send(#"{"id":1,"result":""#)
            sent.store(peer.sendForever([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)), ordering: .relaxed)
        }
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(to: path, timeout: .seconds(5), maxLineBytes: 1 << 20)
        defer { connection.close() }
        await #expect(throws: ScopeClientError.lineTooLong(path: path, limit: 1 << 20)) {
            _ = try await connection.summary()
        }
        // The client closed the connection at the cap: the agent could send only the cap and
        // what the socket buffers hold, not the endless rest.
        try await eventually("the fake agent's sends fail") { sent.load(ordering: .relaxed) > 0 }
        #expect(sent.load(ordering: .relaxed) < 16 << 20)
        #expect(
            ScopeClientError.lineTooLong(path: path, limit: 64 << 20).description
                == "the process behind \(path) sent a line longer than 64 MiB; stopped")
    }

    @Test func aSnapshotThatNeverEndsStopsAtItsSizeCap() async throws {
        let directory = try makeTemporaryDirectory("endless")
        defer { removeTree(directory) }
        let sent = Atomic<Int>(0)
        let (path, server) = try fake("chunks", in: directory) { peer in
            sent.store(peer.sendForever(Self.fillerChunk(size: 1 << 16)), ordering: .relaxed)
        }
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(to: path, timeout: .seconds(5))
        defer { connection.close() }
        let chunks = Atomic<Int>(0)
        await #expect(throws: ScopeClientError.snapshotTooLarge(path: path, limit: 1 << 20)) {
            _ = try await connection.snapshot(maxBytes: 1 << 20) { _, _ in chunks.add(1, ordering: .relaxed) }
        }
        // 16 chunks of 64 KiB fill the cap; the 17th passes it and is not handed on.
        #expect(chunks.load(ordering: .relaxed) == 16)
        try await eventually("the fake agent's sends fail") { sent.load(ordering: .relaxed) > 0 }
        #expect(sent.load(ordering: .relaxed) < 16 << 20)
    }

    @Test func aLateChunkAfterATimeoutNeverReachesTheConsumer() async throws {
        let directory = try makeTemporaryDirectory("late")
        defer { removeTree(directory) }
        let (path, server) = try fake("late", in: directory) { peer in
            peer.send(Self.fillerChunk(size: 100))
            // Silent past the client's deadline; then, asked again, the rest of the old stream
            // arrives before the new reply.
            guard peer.readLine() != nil else { return }
            peer.send(Self.fillerChunk(size: 100))
            peer.send(Self.fillerChunk(size: 100))
            peer.send(FakeServer.summaryReply(uptime: "1").replacingOccurrences(of: #"{"id":1,"#, with: #"{"id":2,"#))
            _ = peer.readLine()
        }
        defer { server.stop() }
        // Long enough for the summary's reply on a loaded machine, short enough for a quick test.
        let connection = try await ScopeConnection.connect(
            to: path, timeout: .seconds(5), requestTimeout: .seconds(2))
        defer { connection.close() }
        let calls = Atomic<Int>(0)
        await #expect(throws: ScopeClientError.timedOut("snapshot from \(path) stalled for 2.0 seconds")) {
            _ = try await connection.snapshot { _, _ in calls.add(1, ordering: .relaxed) }
        }
        #expect(await connection.pendingRequests() == 0)
        // The reply to the next request comes after the late chunks on the same connection:
        // once it is here, they have been routed.
        #expect(try await connection.summary().uptime == 1)
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func cancellingTheAwaitingTaskEndsTheRequestAtOnce() async throws {
        let directory = try makeTemporaryDirectory("cancel")
        defer { removeTree(directory) }
        let path = "\(directory)/mute.sock"
        let server = try FakeServer(path: path, greeting: Self.hello)
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(
            to: path, timeout: .seconds(5), requestTimeout: .seconds(60))
        defer { connection.close() }
        let request = Task { try await connection.summary() }
        try await eventually("the request is pending") { await connection.pendingRequests() == 1 }
        let clock = ContinuousClock()
        let start = clock.now
        request.cancel()
        let result = await request.result
        #expect(clock.now - start < .seconds(5))
        #expect(result.isFailure(.cancelled))
        #expect(await connection.pendingRequests() == 0)
    }

    @Test func anAgentThatClosesMidLineIsNamedMidSnapshotOrMidReply() async throws {
        let directory = try makeTemporaryDirectory("midway")
        defer { removeTree(directory) }
        let (path, server) = try fake("midway", in: directory) { peer in
            peer.send(Self.fillerChunk(size: 100))
            peer.send(#"{"id":1,"chunk":"tasks","data":[{"id":7,"na"#)
        }
        defer { server.stop() }
        let connection = try await ScopeConnection.connect(to: path, timeout: .seconds(5))
        await #expect(throws: ScopeClientError.closedMidway(path: path, during: "snapshot")) {
            _ = try await connection.snapshot { _, _ in }
        }
        #expect(
            ScopeClientError.closedMidway(path: path, during: "snapshot").description
                == "the process behind \(path) closed the connection mid-snapshot")

        let (replyPath, replyServer) = try fake("reply", in: directory) { peer in
            peer.send(#"{"id":1,"result":{"pid":1,"#)
        }
        defer { replyServer.stop() }
        let other = try await ScopeConnection.connect(to: replyPath, timeout: .seconds(5))
        await #expect(throws: ScopeClientError.closedMidway(path: replyPath, during: "reply")) {
            _ = try await other.summary()
        }
    }

    @Test func aProcessThatAcceptsButNeverSpeaksIsNamedSilentNotAStranger() async throws {
        let directory = try makeTemporaryDirectory("silent")
        defer { removeTree(directory) }
        let path = "\(directory)/silent.sock"
        let server = try FakeServer(path: path, greeting: nil)
        defer { server.stop() }
        await #expect(throws: ScopeClientError.noAnswer(path: path, seconds: 0.3)) {
            _ = try await ScopeConnection.connect(to: path, timeout: .milliseconds(300))
        }
        #expect(
            ScopeClientError.noAnswer(path: path, seconds: 3).description
                == "the process behind \(path) accepted the connection but did not answer within 3 s (is it stopped?)")
    }
}

extension ConnectionLimitTests {
    @Test func aCancelledRequestLeavesTheLiveConnectionInUse() async throws {
        let directory = try makeTemporaryDirectory("live")
        defer { removeTree(directory) }
        let path = "\(directory)/live.sock"
        let connections = Atomic<Int>(0)
        let asked = Atomic<Int>(0)
        // Leaves the first request unanswered; answers the second.
        let server = try FakeServer(path: path, greeting: Self.hello) { peer in
            connections.add(1, ordering: .relaxed)
            guard peer.readLine() != nil else { return }
            asked.add(1, ordering: .relaxed)
            guard peer.readLine() != nil else { return }
            peer.send(FakeServer.summaryReply(uptime: "2").replacingOccurrences(of: #"{"id":1,"#, with: #"{"id":2,"#))
            _ = peer.readLine()
        }
        defer { server.stop() }
        let source = LiveSource(path: path)
        let ended = Atomic<Bool>(false)
        let first = Task {
            defer { ended.store(true, ordering: .relaxed) }
            return try await source.summary()
        }
        try await eventually("the first request reached the agent", timeout: .seconds(30)) {
            asked.load(ordering: .relaxed) == 1 || ended.load(ordering: .relaxed)
        }
        if asked.load(ordering: .relaxed) != 1 {
            Issue.record("the first request ended before reaching the agent: \(await first.result)")
            return
        }
        first.cancel()
        #expect((await first.result).isFailure(.cancelled))
        #expect(try await source.summary().uptime == 2)
        #expect(connections.load(ordering: .relaxed) == 1)
    }
}

extension Result where Failure == any Error {
    func isFailure(_ expected: ScopeClientError) -> Bool {
        guard case .failure(let error) = self else { return false }
        return error as? ScopeClientError == expected
    }
}

extension ConnectionLimitTests {
    @Test func aHelloThatNeverEndsStopsAtTheLineCapToo() async throws {
        let directory = try makeTemporaryDirectory("endless")
        defer { removeTree(directory) }
        let path = "\(directory)/hello.sock"
        let server = try FakeServer(path: path, greeting: nil) { peer in
            peer.send(#"{"type":"hello","process":""#)
            peer.sendForever([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16))
        }
        defer { server.stop() }
        await #expect(throws: ScopeClientError.lineTooLong(path: path, limit: 1 << 20)) {
            _ = try await ScopeConnection.connect(to: path, timeout: .seconds(5), maxLineBytes: 1 << 20)
        }
    }

    @Test func anAgentWithNoRoomIsNamedAsRefusingWithItsReasonNotAsAStranger() async throws {
        let agent = try ClientTestAgent(maxClients: 1)
        defer { agent.stop() }
        let first = try await ScopeConnection.connect(to: agent.path)
        _ = try await first.summary()
        do {
            let second = try await ScopeConnection.connect(to: agent.path)
            second.close()
            Issue.record("a second client was let in past a cap of one")
        } catch {
            guard case .refused(let path, let refusal) = error else {
                Issue.record("refused as \(error)")
                return
            }
            #expect(path == agent.path)
            #expect(refusal.code == .tooManyClients)
            #expect(
                error.description
                    == "the process behind \(agent.path) refused the connection: the agent serves 1 client at most; "
                    + "try again when one has gone")
        }
        // The first is served on, and once it has gone there is room again.
        _ = try await first.summary()
        first.close()
        try await eventually("a client is let in once the first has gone") {
            guard let next = try? await ScopeConnection.connect(to: agent.path) else { return false }
            next.close()
            return true
        }
    }

    @Test func aConnectionWhosePlaceANewClientTookSaysSoNotThatItWasCutOff() async throws {
        let agent = try ClientTestAgent(maxClients: 1)
        defer { agent.stop() }
        // Greeted, and asks nothing for more than half a second: its place may go to a newcomer.
        let first = try await ScopeConnection.connect(to: agent.path)
        defer { first.close() }
        try await Task.sleep(for: .milliseconds(700))
        let newcomer = try RawLineClient(path: agent.path)
        #expect(try await newcomer.request(#"{"id":1,"op":"summary"}"#)["type"] as? String == "hello")
        #expect(try await newcomer.readObject()["id"] as? Int == 1)
        do {
            _ = try await first.summary()
            Issue.record("a connection whose place was taken was still served")
        } catch {
            guard case .closedByAgent(let path, let reason) = error else {
                Issue.record("ended as \(error)")
                return
            }
            #expect(path == agent.path)
            #expect(reason.code == .tooManyClients)
            #expect(
                error.description
                    == "the process behind \(agent.path) closed the connection: the agent serves 1 client at most, "
                    + "and closed this one for a new client: it had asked nothing")
        }
    }
}

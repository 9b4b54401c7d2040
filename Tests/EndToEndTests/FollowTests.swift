import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// `taskscope attach` without a target follows a process that restarts under a new pid:
/// the source it watches through switches to the one new process, or offers the new ones to
/// pick from when there are several.
@Suite(.serialized, .timeLimit(.minutes(2))) struct FollowTests {
    @Test func aRestartedProcessIsFollowedAndSeveralAreOffered() async throws {
        let directory = try makeTemporaryDirectory("follow")
        defer { removeTree(directory) }
        let shared = ["TASKSCOPE_DIR": directory]
        let location = SocketLocation(environment: shared)
        let first = try await DemoProcess(extraEnvironment: shared)
        let discovery = await ProcessDiscovery.scan(location: location)
        let process = try #require(discovery.processes.first { $0.pid == first.pid })
        let source = FollowingSource(following: process, known: discovery.processes, location: location)
        #expect(try await source.connect().pid == first.pid)
        #expect(try await source.summary().pid == first.pid)

        // Gone, and nothing new yet: it says so and keeps waiting.
        #expect(try await first.interrupt() == 0)
        await #expect(throws: ScopeClientError.self) { _ = try await source.summary() }
        await #expect(
            throws: ScopeClientError.processGone(pid: first.pid, detail: "waiting for a new process to attach to")
        ) {
            _ = try await source.connect()
        }

        // The process comes back under a new pid: the next connection is to it.
        let second = try await DemoProcess(extraEnvironment: shared)
        var hello: Hello?
        try await eventually("the source follows pid \(second.pid)") {
            hello = try? await source.connect()
            return hello != nil
        }
        #expect(hello?.pid == second.pid)
        #expect(source.pid == second.pid)
        #expect(source.label == second.socket)
        #expect(try await source.summary().pid == second.pid)

        // It goes again and two new ones appear: no guess; both are offered to pick from.
        #expect(try await second.interrupt() == 0)
        let third = try await DemoProcess(extraEnvironment: shared)
        let fourth = try await DemoProcess(extraEnvironment: shared)
        // As the UI's loader does: a request fails, then it connects again.
        await #expect(throws: ScopeClientError.self) { _ = try await source.summary() }
        var failure: ScopeClientError?
        do {
            _ = try await source.connect()
        } catch {
            failure = error
        }
        let pids = [third.pid, fourth.pid].sorted()
        let names = pids.map { "\($0) taskscope" }.joined(separator: ", ")
        #expect(
            failure
                == .processGone(pid: second.pid, detail: "2 new processes are attachable (\(names)): pick one"))
        var offers = source.choices.makeAsyncIterator()
        let offered = await offers.next()
        #expect(offered?.map(\.pid) == pids)
        #expect(try await third.interrupt() == 0)
        #expect(try await fourth.interrupt() == 0)
    }

    @Test func aProcessThatWasAlreadyThereIsNotTakenForTheRestart() async throws {
        let directory = try makeTemporaryDirectory("follow-known")
        defer { removeTree(directory) }
        let shared = ["TASKSCOPE_DIR": directory]
        let location = SocketLocation(environment: shared)
        let picked = try await DemoProcess(extraEnvironment: shared)
        let bystander = try await DemoProcess(extraEnvironment: shared)
        let discovery = await ProcessDiscovery.scan(location: location)
        #expect(discovery.processes.count == 2)
        let process = try #require(discovery.processes.first { $0.pid == picked.pid })
        let source = FollowingSource(following: process, known: discovery.processes, location: location)
        #expect(try await source.connect().pid == picked.pid)

        #expect(try await picked.interrupt() == 0)
        await #expect(throws: ScopeClientError.self) { _ = try await source.summary() }
        // The bystander was there at the start: it is not the restart.
        await #expect(
            throws: ScopeClientError.processGone(pid: picked.pid, detail: "waiting for a new process to attach to")
        ) { _ = try await source.connect() }

        let restarted = try await DemoProcess(extraEnvironment: shared)
        var hello: Hello?
        try await eventually("the source follows pid \(restarted.pid)") {
            hello = try? await source.connect()
            return hello != nil
        }
        #expect(hello?.pid == restarted.pid)
        #expect(try await restarted.interrupt() == 0)
        #expect(try await bystander.interrupt() == 0)
    }
}

import Foundation
import ScopeProtocol
import TestSupport
import Testing

@testable import ScopeClient

@Suite(.timeLimit(.minutes(2))) struct DiscoveryTests {
    @Test func listsLiveAgentsAndRemovesStaleSockets() async throws {
        let agent = try ClientTestAgent()
        defer { agent.stop() }
        agent.populate(4)
        let stale = "\(agent.directory)/999999.sock"
        try FakeServer.bindOnly(stale)
        let notOurs = "\(agent.directory)/notes.txt"
        #expect(FileManager.default.createFile(atPath: notOurs, contents: Data("keep".utf8)))

        let discovery = await ProcessDiscovery.scan(
            location: SocketLocation(environment: ["TASKSCOPE_DIR": agent.directory]))
        #expect(discovery.directory == agent.directory)
        #expect(discovery.processes.count == 1)
        let process = try #require(discovery.processes.first)
        #expect(process.pid == getpid())
        #expect(process.liveTasks == 4)
        #expect(process.socket == agent.path)
        #expect(discovery.removedStale == [stale])
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: notOurs))
        #expect(discovery.problems.isEmpty)
    }

    @Test func anEmptyOrMissingDirectoryListsNothing() async throws {
        let discovery = await ProcessDiscovery.scan(
            location: SocketLocation(environment: [
                "TASKSCOPE_DIR": "/tmp/taskscope-missing-\(UInt32.random(in: 0...UInt32.max))"
            ]))
        #expect(discovery.processes.isEmpty)
        #expect(discovery.removedStale.isEmpty)
    }

    @Test func aSocketThatIsNotAnAgentIsReportedNotRemoved() async throws {
        let directory = try makeTemporaryDirectory("disc")
        defer { removeTree(directory) }
        let path = "\(directory)/1.sock"
        let server = try FakeServer(path: path, greeting: "nope\n")
        defer { server.stop() }
        let discovery = await ProcessDiscovery.scan(location: SocketLocation(environment: ["TASKSCOPE_DIR": directory]))
        #expect(discovery.processes.isEmpty)
        #expect(discovery.problems.map(\.path) == [path])
        #expect(FileManager.default.fileExists(atPath: path))
    }
}

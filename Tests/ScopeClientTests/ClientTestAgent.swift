import Foundation
import ScopeClient
import TestSupport

@testable import TaskScope

/// An in-process agent on its own registry and socket, for client tests.
final class ClientTestAgent {
    let directory: String
    let path: String
    let agent: Agent
    var registry: Registry { agent.registry }

    init(sampleInterval: Duration = .milliseconds(100), registry: Registry = Registry(), maxClients: Int = 64) throws {
        directory = try makeTemporaryDirectory("cli")
        path = "\(directory)/\(getpid()).sock"
        // A busy machine may hold a test's task for seconds between connecting and asking.
        var configuration = TaskScope.Configuration(socketPath: path, sampleInterval: sampleInterval)
        configuration.firstRequestTimeout = .seconds(60)
        configuration.maxClients = maxClients
        agent = try Agent.start(registry: registry, configuration: configuration)
    }

    func stop() {
        agent.stop()
        removeTree(directory)
    }

    /// Spawns `count` tasks named `prefix-N`; every third waits on `reason`.
    @discardableResult
    func populate(_ count: Int, prefix: String = "task", reason: String = "db.query") -> [TaskRecord] {
        (0..<count).map { index in
            let record = registry.spawn(
                name: "\(prefix)-\(index)", parentID: 0, file: "App/Work.swift", line: 10 + index % 3,
                function: "work()")
            if index % 3 == 0 { _ = registry.beginWait(record, reason: reason, file: "App/Work.swift", line: 50) }
            return record
        }
    }
}

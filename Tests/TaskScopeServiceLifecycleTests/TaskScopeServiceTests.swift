import Foundation
import Logging
import ScopeClient
import ServiceLifecycle
import TaskScope
import TaskScopeServiceLifecycle
import TestSupport
import Testing

/// `TaskScopeService` in a real `ServiceGroup`: it serves while the group runs, and its socket
/// is gone after a graceful shutdown; a start that fails ends the group with the error.
@Suite(.timeLimit(.minutes(1))) struct TaskScopeServiceTests {
    static let logger = Logger(label: "taskscope-service-test")

    @Test func servesWhileTheGroupRunsAndRemovesItsSocketOnGracefulShutdown() async throws {
        try await GlobalAgent.exclusively {
            let directory = try makeTemporaryDirectory("service")
            defer { removeTree(directory) }
            let path = "\(directory)/agent.sock"
            let service = TaskScopeService(configuration: .init(socketPath: path), logger: Self.logger)
            let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: Self.logger)
            let running = Task { try await group.run() }
            try await eventually("the agent serves") { TaskScope.socketPath == path }
            let connection = try await ScopeConnection.connect(to: path)
            #expect(try await connection.summary().pid == Int(getpid()))
            connection.close()

            await group.triggerGracefulShutdown()
            try await running.value
            #expect(TaskScope.socketPath == nil)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aStartThatFailsEndsTheGroupWithTheError() async throws {
        try await GlobalAgent.exclusively {
            let service = TaskScopeService(
                configuration: .init(socketPath: "/proc/taskscope-test/agent.sock"), logger: Self.logger)
            let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: Self.logger)
            await #expect(throws: TaskScopeError.self) { try await group.run() }
            #expect(TaskScope.socketPath == nil)
        }
    }
}

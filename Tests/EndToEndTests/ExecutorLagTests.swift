import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// The cooperative pool's lag in a real process: a host whose async code blocks every
/// cooperative thread for 800 ms (a synchronous sleep) shows it in `summary`, in the history's
/// samples, and no more once its threads are free.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ExecutorLagTests {
    @Test func aBlockedPoolShowsInTheSummaryAndTheHistoryThenFalls() async throws {
        let host = try await HostProcess(environment: ["TASKSCOPE_HOST_BLOCK_MS": "800"])
        let connection = try await ScopeConnection.connect(to: host.socket)
        defer { connection.close() }
        #expect(try await connection.summary().executorLag != nil, "the agent measures it by default")
        var worst = 0.0
        try await eventually("the summary shows the stall", timeout: .seconds(20)) {
            worst = max(worst, try await connection.summary().executorLag ?? 0)
            return worst >= 0.3
        }
        _ = try await host.process.line(startingWith: "blocked", timeout: .seconds(20))
        try await eventually("a sample of the history holds the stall") {
            try await connection.history().samples.contains { ($0.lag ?? 0) >= 0.3 }
        }
        try await eventually("the lag falls once the threads are free", timeout: .seconds(20)) {
            (try await connection.summary().executorLag ?? 1) < 0.2
        }
        // blocked-executor reports the stall for a minute after it, with how long it lasted.
        let warning = try #require(try await connection.warnings().first { $0.rule == .blockedExecutor })
        #expect(warning.severity == .suspect)
        #expect(warning.message.hasPrefix("the cooperative pool stalled for "), "\(warning.message)")
        #expect(warning.tasks == warning.taskIDs.count && warning.tasks <= ProcessInfo.processInfo.activeProcessorCount)
        // The tasks that ran through it without a wait, the oldest first: here, the blockers.
        #expect(warning.message.contains("\"blocker\" (spawned at"), "\(warning.message)")
        _ = try await host.process.stop(with: SIGTERM)
    }
}

import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// The cooperative pool's lag in a real process: a host whose async code blocks every
/// cooperative thread for 3 s (a synchronous sleep) shows it in `summary`, in the history's
/// samples, and no more once its threads are free.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ExecutorLagTests {
    @Test func aBlockedPoolShowsInTheSummaryAndTheHistoryThenFalls() async throws {
        // 3 s: a healthy pool is probed once a second, so the probe that sees a stall may be sent
        // up to a second into it, and the summary shows the lag only while that probe waits (the
        // history keeps it); a loaded machine's summaries must have time to catch it.
        let host = try await HostProcess(environment: ["TASKSCOPE_HOST_BLOCK_MS": "3000"])
        let connection = try await ScopeConnection.connect(to: host.socket)
        defer { connection.close() }
        #expect(try await connection.summary().executorLag != nil, "the agent measures it by default")
        // Summaries are asked for on a thread of the test's own, blocking on the socket: the
        // stall shows in them only while it lasts, and this test's task, waiting for one of the
        // cooperative threads the other tests keep busy, could sleep through all of it.
        let watcher = try RawLineClient(path: host.socket, timeout: 20)
        let worst = try await onOwnThread { () throws -> Double in
            _ = try watcher.readObject()
            let deadline = ContinuousClock.now + .seconds(20)
            var worst = 0.0
            var id = 0
            while worst < 0.3, ContinuousClock.now < deadline {
                id += 1
                let reply = try watcher.request(#"{"id":\#(id),"op":"summary"}"#)
                worst = max(worst, (reply["result"] as? [String: Any])?["executorLag"] as? Double ?? 0)
                usleep(10_000)
            }
            return worst
        }
        #expect(worst >= 0.3, "the summary shows the stall (worst lag seen \(worst) s)")
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

    /// How each way of blocking reads in the warning, by default (no signal sent to the host's
    /// threads): the blocking function, or, for a loop, that the thread was busy on a CPU.
    /// With signals (the host opted in), a loop's frames too.
    static let blockings: [(how: String, signals: Bool, reads: [String])] = [
        ("sleep", false, ["blocked in clock_nanosleep <- usleep <- Blocker.block"]),
        ("semaphore", false, ["blocked in dispatch_sema4_timedwait <- DispatchSemaphore.wait <- Blocker."]),
        ("spin", false, [" without a wait, busy on a CPU"]),
        ("spin", true, ["busy on a CPU in ", "Blocker.spin"]),
    ]

    @Test(arguments: blockings.indices)
    func theWarningNamesTheBlockingTasksAndWhereTheyBlockWithoutSignallingThem(_ index: Int) async throws {
        let (how, signals, reads) = Self.blockings[index]
        let host = try await HostProcess(
            environment: [
                "TASKSCOPE_HOST_BLOCK_MS": "1500", "TASKSCOPE_HOST_BLOCK_HOW": how,
                "TASKSCOPE_HOST_SIGNALS": signals ? "1" : "0",
            ])
        let connection = try await ScopeConnection.connect(to: host.socket)
        defer { connection.close() }
        var warning: Warning?
        try await eventually("blocked-executor names the tasks on the threads", timeout: .seconds(20)) {
            warning = try await connection.warnings().first { $0.rule == .blockedExecutor }
            return warning.map { warning in reads.allSatisfy { warning.message.contains($0) } } ?? false
        }
        let message = try #require(warning).message
        // Every pool thread (as many as cores, 16 at most) held a blocker: each is named as seen on
        // its thread, none guessed.
        let threads = min(ProcessInfo.processInfo.activeProcessorCount, 16)
        #expect(message.components(separatedBy: "\"blocker\"").count - 1 == threads, "\(message)")
        #expect(message.components(separatedBy: reads[reads.count - 1]).count - 1 == threads, "\(message)")
        // Unless the host opted in, no signal handler was taken: SIGPROF is still the host's.
        #expect(
            try Self.caughtSignals(host.pid) & (1 << UInt64(SIGPROF - 1)) == (signals ? 1 << UInt64(SIGPROF - 1) : 0))
        _ = try await host.process.stop(with: SIGTERM)
    }

    /// Untracked tasks that block the pool are not named, but where they block is said.
    @Test func untrackedCodeThatBlocksThePoolIsShownWhereItBlocks() async throws {
        let host = try await HostProcess(
            environment: [
                "TASKSCOPE_HOST_BLOCK_MS": "1500", "TASKSCOPE_HOST_BLOCK_HOW": "semaphore",
                "TASKSCOPE_HOST_BLOCK_UNTRACKED": "1",
            ])
        let connection = try await ScopeConnection.connect(to: host.socket)
        defer { connection.close() }
        let threads = min(ProcessInfo.processInfo.activeProcessorCount, 16)
        let place = "blocked in dispatch_sema4_timedwait <- DispatchSemaphore.wait <- Blocker."
        var warning: Warning?
        try await eventually("blocked-executor says where untracked code blocks", timeout: .seconds(20)) {
            warning = try await connection.warnings().first { $0.rule == .blockedExecutor }
            return warning?.message.contains(place) ?? false
        }
        let message = try #require(warning).message
        #expect(message.contains("untracked code held its threads: " + place), "\(message)")
        #expect(threads == 1 || message.contains("(\(threads) threads)"), "\(message)")
        #expect(try #require(warning).taskIDs.isEmpty, "no task of its own to name")
        _ = try await host.process.stop(with: SIGTERM)
    }

    /// The signals a process catches (SigCgt in /proc/PID/status).
    static func caughtSignals(_ pid: Int32) throws -> UInt64 {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigCgt:") })
        return try #require(UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16))
    }
}

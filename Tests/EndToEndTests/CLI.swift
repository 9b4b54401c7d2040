import Foundation
import Subprocess
import Synchronization
import SystemPackage
import TestSupport

/// The built `taskscope` executable, beside the test bundle.
enum CLI {
    static var executable: URL {
        let testBinary = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        return testBinary.deletingLastPathComponent().appendingPathComponent("taskscope")
    }

    typealias Result = Program.Result

    /// Runs `taskscope` with arguments and extra environment, and waits for it (killing it after `timeout`).
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> Result {
        try await Program.run(executable.path, arguments, environment: environment, timeout: timeout)
    }
}

/// A program running beside the tests, its output collected, killed when dropped.
final class BackgroundProcess: Sendable {
    let pid: Int32
    /// What it has printed on stdout so far.
    let output = SharedText()
    /// What it has printed on stderr so far.
    let errors = SharedText()
    private let running: Task<Int32, any Error>
    private let exited = Flag()

    /// Starts `path` with `arguments` and extra `environment`, and waits until it has a pid.
    init(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws {
        let launched = Mutex<Int32?>(nil)
        let (output, errors, exited) = (self.output, self.errors, self.exited)
        let updates = environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) }
        running = Task {
            defer { exited.raise() }
            let result = try await Subprocess.run(
                .path(FilePath(path)), arguments: Arguments(arguments),
                environment: .inherit.updating(Dictionary(uniqueKeysWithValues: updates)), input: .none,
                output: .sequence, error: .sequence
            ) { execution in
                launched.withLock { $0 = execution.processIdentifier.value }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await buffer in execution.standardOutput {
                            let text = buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                            output.text.withLock { $0 += text }
                        }
                    }
                    group.addTask {
                        for try await buffer in execution.standardError {
                            let text = buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                            errors.text.withLock { $0 += text }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            return result.terminationStatus.shellStatus
        }
        var pid: Int32?
        try await eventually("\(path) starts") {
            pid = launched.withLock { $0 }
            return pid != nil || exited.isRaised
        }
        guard let pid else { throw ConditionTimedOut(description: "\(path) exited at once") }
        self.pid = pid
    }

    var isRunning: Bool { !exited.isRaised }

    /// Waits until its output has a line starting with `prefix`, and returns that line.
    func line(startingWith prefix: String, timeout: Duration = .seconds(10)) async throws -> String {
        var found: String?
        try await eventually("a line starting with \(prefix)", timeout: timeout) {
            found = output.text.withLock { text in
                text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
            }
            return found != nil || exited.isRaised
        }
        guard let found else { throw ConditionTimedOut(description: "it exited without printing \(prefix)") }
        return found
    }

    /// Sends `signal` and waits (at most `timeout`) for the exit; returns its status.
    func stop(with signal: Int32 = SIGINT, timeout: Duration = .seconds(10)) async throws -> Int32 {
        kill(pid, signal)
        return try await exitStatus(within: timeout)
    }

    func exitStatus(within timeout: Duration) async throws -> Int32 {
        let running = self.running
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await running.value }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let status = first else {
                // The wait for its exit cannot be cancelled, and the group waits for it: end the
                // process, so the test fails now instead of hanging past its time limit.
                kill(pid, SIGKILL)
                throw ConditionTimedOut(description: "pid \(pid) did not exit within \(timeout)")
            }
            return status
        }
    }

    deinit {
        // A test that failed before stopping it must not leave it running.
        if !exited.isRaised { kill(pid, SIGKILL) }
    }
}

/// `taskscope demo --serve` running as a separate process, in its own socket directory.
final class DemoProcess: Sendable {
    let directory: String
    let process: BackgroundProcess
    let pid: Int32
    let socket: String

    var environment: [String: String] { ["TASKSCOPE_DIR": directory] }

    init(extraEnvironment: [String: String] = [:]) async throws {
        let directory = try makeTemporaryDirectory("e2e")
        self.directory = directory
        do {
            process = try await BackgroundProcess(
                CLI.executable.path, ["demo", "--serve"],
                environment: ["TASKSCOPE_DIR": directory].merging(extraEnvironment) { $1 })
            // `taskscope demo: pid N, socket PATH`
            let line = try await process.line(startingWith: "taskscope demo: pid ")
            let parts = line.dropFirst("taskscope demo: pid ".count).split(separator: ", socket ")
            guard parts.count == 2, let pid = Int32(parts[0]) else {
                throw ConditionTimedOut(description: "the demo announced itself as: \(line)")
            }
            (self.pid, socket) = (pid, String(parts[1]))
        } catch {
            removeTree(directory)
            throw error
        }
    }

    /// Sends SIGINT and waits for the process to exit; returns its exit status.
    func interrupt(timeout: Duration = .seconds(10)) async throws -> Int32 {
        try await process.stop(with: SIGINT, timeout: timeout)
    }

    /// Kills the process without letting it clean up.
    func killHard() async throws {
        _ = try await process.stop(with: SIGKILL)
    }

    deinit { removeTree(directory) }
}

/// `taskscope-agent-host`: the agent beside a self-checking workload, in its own directory.
final class HostProcess: Sendable {
    let directory: String
    let socket: String
    let process: BackgroundProcess

    static var executable: String {
        CLI.executable.deletingLastPathComponent().appendingPathComponent("taskscope-agent-host").path
    }

    /// The host built for release, as the agent is shipped, when `scripts/test` built it (it
    /// sets `TASKSCOPE_RELEASE_HOST`); `nil` when the tests run without it.
    static var releaseExecutable: String? {
        ProcessInfo.processInfo.environment["TASKSCOPE_RELEASE_HOST"].flatMap {
            FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil
        }
    }

    /// Starts the host (`executable`, this build's by default); `environment` sets its
    /// load-test switches (see `Tests/AgentHost/main.swift`).
    init(
        mode: String = "serve", environment: [String: String] = [:], executable: String = HostProcess.executable
    ) async throws {
        directory = try makeTemporaryDirectory("host")
        socket = "\(directory)/agent.sock"
        process = try await BackgroundProcess(executable, [mode, socket], environment: environment)
        _ = try await process.line(startingWith: "ready ")
    }

    var pid: Int32 { process.pid }

    deinit { removeTree(directory) }
}

/// Text appended from one task and read from another.
final class SharedText: Sendable {
    let text = Mutex("")
}

/// A one-way signal between tasks.
final class Flag: Sendable {
    private let raised = Atomic(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

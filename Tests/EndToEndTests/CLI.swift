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

/// `taskscope demo --serve` running as a separate process, in its own socket directory.
final class DemoProcess: Sendable {
    let directory: String
    let pid: Int32
    let socket: String
    private let running: Task<Int32, any Error>
    private let exited: Flag

    var environment: [String: String] { ["TASKSCOPE_DIR": directory] }

    init(extraEnvironment: [String: String] = [:]) async throws {
        let directory = try makeTemporaryDirectory("e2e")
        self.directory = directory
        let output = SharedText()
        let launched = Mutex<Int32?>(nil)
        let exited = Flag()
        self.exited = exited
        let updates = ["TASKSCOPE_DIR": directory].merging(extraEnvironment) { $1 }
            .map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) }
        running = Task {
            let result = try await Subprocess.run(
                .path(FilePath(CLI.executable.path)), arguments: ["demo", "--serve"],
                environment: .inherit.updating(Dictionary(uniqueKeysWithValues: updates)), input: .none,
                output: .sequence, error: .discarded
            ) { execution in
                launched.withLock { $0 = execution.processIdentifier.value }
                for try await buffer in execution.standardOutput {
                    let text = buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
                    output.text.withLock { $0 += text }
                }
            }
            exited.raise()
            return result.terminationStatus.shellStatus
        }
        var announced: (Int32, String)?
        do {
            try await eventually("the demo prints its socket") {
                announced = output.text.withLock { DemoProcess.parseAnnouncement($0) }
                return announced != nil
            }
        } catch {
            if let pid = launched.withLock({ $0 }) { kill(pid, SIGKILL) }
            running.cancel()
            removeTree(directory)
            throw error
        }
        (pid, socket) = announced!
    }

    /// Reads `taskscope demo: pid N, socket PATH`.
    private static func parseAnnouncement(_ text: String) -> (Int32, String)? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("taskscope demo: pid ") }) else {
            return nil
        }
        let parts = line.dropFirst("taskscope demo: pid ".count).split(separator: ", socket ")
        guard parts.count == 2, let pid = Int32(parts[0]) else { return nil }
        return (pid, String(parts[1]))
    }

    /// Sends SIGINT and waits (at most `timeout`) for the process to exit; returns its exit status.
    func interrupt(timeout: Duration = .seconds(10)) async throws -> Int32 {
        kill(pid, SIGINT)
        return try await exitStatus(within: timeout)
    }

    /// Kills the process without letting it clean up.
    func killHard() async throws {
        kill(pid, SIGKILL)
        _ = try await exitStatus(within: .seconds(10))
    }

    private func exitStatus(within timeout: Duration) async throws -> Int32 {
        let running = self.running
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await running.value }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let status = first else {
                throw ConditionTimedOut(description: "the demo (pid \(pid)) did not exit within \(timeout)")
            }
            return status
        }
    }

    deinit {
        // A test that failed before stopping the demo must not leave it running.
        if !exited.isRaised { kill(pid, SIGKILL) }
        removeTree(directory)
    }
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

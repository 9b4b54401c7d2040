import Foundation
import Synchronization
import TestSupport

/// The built `taskscope` executable, beside the test bundle.
enum CLI {
    static var executable: URL {
        let testBinary = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        return testBinary.deletingLastPathComponent().appendingPathComponent("taskscope")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `taskscope` with arguments and extra environment, and waits for it.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// `taskscope demo --serve` running as a separate process, in its own socket directory.
final class DemoProcess: @unchecked Sendable {
    let directory: String
    let process = Process()
    private let output = SharedText()
    private(set) var pid: Int32 = 0
    private(set) var socket = ""

    var environment: [String: String] { ["TASKSCOPE_DIR": directory] }

    init(extraEnvironment: [String: String] = [:]) async throws {
        directory = try makeTemporaryDirectory("e2e")
        process.executableURL = CLI.executable
        process.arguments = ["demo", "--serve"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .merging(extraEnvironment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        var announced: (Int32, String)?
        try await eventually("the demo prints its socket") {
            announced = output.text.withLock { DemoProcess.parseAnnouncement($0) }
            return announced != nil
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

    /// Sends SIGINT and waits for the process to exit; returns its exit status.
    func interrupt() async throws -> Int32 {
        kill(process.processIdentifier, SIGINT)
        try await eventually("the demo exits") { !process.isRunning }
        return process.terminationStatus
    }

    /// Kills the process without letting it clean up.
    func killHard() async throws {
        kill(process.processIdentifier, SIGKILL)
        try await eventually("the demo dies") { !process.isRunning }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        removeTree(directory)
    }
}

/// Text appended from one thread and read from another.
final class SharedText: Sendable {
    let text = Mutex("")
}

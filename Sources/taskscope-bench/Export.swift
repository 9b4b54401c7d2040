import Foundation

/// A full snapshot exported by the CLI in its own process, as a client takes one: its wall time
/// and the CLI's peak resident memory.
enum CLIExport {
    struct Result {
        /// From starting the CLI to its exit.
        var seconds: Double
        /// The CLI's peak resident memory, in bytes.
        var peak: Double
        var succeeded: Bool
    }

    /// Runs `cli snapshot socket -o output` (with `--stacks` when `stacks`) and waits for it to
    /// exit. A process spawned from this one reports this one's resident memory as its peak (the
    /// old memory map is counted at exec), so a small python3 starts the CLI and reports the CLI's
    /// own peak.
    static func run(_ cli: String, socket: String, output: String, stacks: Bool = false) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", "-c",
                "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
                    + "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)",
                cli, "snapshot", socket, "-o", output,
            ] + (stacks ? ["--stacks"] : [])
        let pipe = Pipe()
        process.standardOutput = pipe
        let seconds = try await Measure.time {
            try process.run()
            process.waitUntilExit()
        }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let peak = (Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan) * 1024
        return Result(seconds: seconds, peak: peak, succeeded: process.terminationStatus == 0)
    }

    /// How many times `needle` occurs in the file at `path`, read a MiB at a time; and whether
    /// each of `inHead` occurs in its first MiB (where a snapshot's head is).
    static func count(_ needle: String, in path: String, inHead: [String] = []) throws -> (count: Int, head: Bool) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileNoSuchFile) }
        defer { try? handle.close() }
        let pattern = Array(needle.utf8)
        var found = 0
        var head: Bool?
        var carry: [UInt8] = []
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            let bytes = carry + data
            if head == nil {
                head = inHead.allSatisfy { occurrences(of: Array($0.utf8), in: bytes) > 0 }
            }
            found += occurrences(of: pattern, in: bytes)
            // A match across the boundary starts in the last `pattern.count - 1` bytes.
            carry = Array(bytes.suffix(pattern.count - 1))
        }
        return (found, head ?? inHead.isEmpty)
    }

    /// The occurrences of `pattern` (not empty) in `bytes`.
    private static func occurrences(of pattern: [UInt8], in bytes: [UInt8]) -> Int {
        guard let first = pattern.first, bytes.count >= pattern.count else { return 0 }
        var found = 0
        var index = 0
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
                found += 1
                index += pattern.count
            } else {
                index += 1
            }
        }
        return found
    }
}

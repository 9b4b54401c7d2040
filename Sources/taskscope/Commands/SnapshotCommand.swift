import ArgumentParser
import Foundation
import ScopeClient
import ScopeProtocol
import ScopeUI

#if canImport(Glibc)
import Glibc
#endif

extension SnapshotFormat: ExpressibleByArgument {}

/// What a snapshot groups by.
enum SnapshotGrouping: String, ExpressibleByArgument, CaseIterable {
    /// Wait reason, wait site and spawn site: the snapshot document, or the grouped report.
    case site
    /// The waiting tasks' async call stacks (read by the agent now): the stacks report, or the
    /// agent's `stacks` reply as JSON.
    case stack
}

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Export a snapshot of a process's tasks.",
        discussion: """
            JSON writes the snapshot document (every task, the counts and their history); text writes \
            the grouped report: one line per group of live tasks sharing wait reason, wait site and \
            spawn site, largest first. A file given with -o is written atomically: under a \
            temporary name, removed if taskscope is interrupted, renamed into place when complete.
            """)

    @Argument(help: "The process: a pid, or the path of its taskscope socket.")
    var target: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "The format: json or text.")
    var format: SnapshotFormat = .json

    @Option(
        help: ArgumentHelp(
            "Stop with an error once the agent has sent this much (bytes, or with K, M, G: 512M, 4G).",
            valueName: "size"))
    var maxBytes = ByteSize(bytes: ScopeConnection.defaultMaxSnapshotBytes)

    @OptionGroup var wait: WaitOption

    @Option(
        help: ArgumentHelp(
            "Group by site (the snapshot, or its grouped report) or by stack: the waiting tasks' async call "
                + "stacks, each once, largest group first.",
            valueName: "site|stack"))
    var by: SnapshotGrouping = .site

    @Flag(
        help: ArgumentHelp(
            "Read the waiting tasks' async call stacks into the JSON snapshot: each stack once, under \"stacks\", "
                + "referred to by id from each task's \"stack\"."))
    var stacks = false

    @Option(
        help: ArgumentHelp(
            "Keep only the tasks started in a span of this trace (its id, as the tracer propagates it: the "
                + "32 hex digits of a W3C traceparent).",
            valueName: "id"))
    var trace: String?

    func validate() throws {
        if by == .stack, trace != nil {
            throw ValidationError("--by stack groups the waiting tasks; it takes --wait but not --trace")
        }
        if let trace {
            let bytes = trace.utf8
            guard !bytes.isEmpty, bytes.count <= 64, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ValidationError(
                    "--trace must be a trace id: 1 to 64 printable characters without spaces, such as "
                        + "4bf92f3577b34da6a3ce929d0e0e4736")
            }
        }
    }

    func run() async throws {
        try await reportingFailures {
            // Open the output first, so an unwritable path fails before any work is done.
            let file = try output.map { path throws(ScopeClientError) in try AtomicFile(path: path) }
            // Interrupted, the half-written temporary file goes, and the signal then ends the
            // process as it would have.
            let signals = file.map { file in
                SignalWatcher(signals: [SIGINT, SIGTERM, SIGHUP]) { number in
                    file.abandon()
                    signal(number, SIG_DFL)
                    kill(getpid(), number)
                }
            }
            defer { signals?.cancel() }
            do {
                let connection = try await Target(parsing: target).connect()
                defer { connection.close() }
                if by == .stack {
                    try await writeStacks(from: connection, to: file)
                    try file?.commit()
                    return
                }
                let options = SnapshotOptions(wait: wait.reason, trace: trace?.lowercased(), stacks: stacks)
                let done: SnapshotDone
                if let file {
                    done = try await SnapshotExporter.export(
                        from: connection, options: options, format: format, maxBytes: maxBytes.bytes, to: file)
                    try file.commit()
                } else {
                    done = try await SnapshotExporter.export(
                        from: connection, options: options, format: format, maxBytes: maxBytes.bytes,
                        to: StandardOutput())
                }
                if let trace, done.tasks == 0, format == .json {
                    printError(GroupedReport.noTask(ofTrace: trace.lowercased()))
                } else if let reason = wait.reason, done.tasks == 0, format == .json {
                    // The document is right (no task), but a script's reader deserves the reason why.
                    printError(ReasonsNow.noTask(waitingOn: reason, waits: try await connection.summary().waits))
                }
            } catch {
                file?.abandon()
                throw error
            }
        }
    }

    /// The `--by stack` output: the stacks report, or the `stacks` reply as JSON.
    private func writeStacks(from connection: ScopeConnection, to file: AtomicFile?) async throws {
        let list = try await connection.stacks(StackQuery(wait: wait.reason, limit: TaskQuery.maxLimit))
        let text: String
        switch format {
        case .text:
            text = StackReport.render(list, process: connection.hello.process, pid: connection.hello.pid)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            text = String(decoding: try encoder.encode(list), as: UTF8.self) + "\n"
        }
        if let file {
            try file.write(Array(text.utf8))
        } else {
            try StandardOutput().write(text)
        }
        if let reason = list.unavailable, format == .json { printError("taskscope: no async stacks: \(reason)") }
    }
}

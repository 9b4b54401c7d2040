import ArgumentParser
import ScopeClient
import ScopeProtocol

extension SnapshotFormat: ExpressibleByArgument {}

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Export a snapshot of a process's tasks.",
        discussion: """
            JSON writes the snapshot document (every task, the counts and their history); text writes \
            the grouped report: one line per group of live tasks sharing wait reason, wait site and \
            spawn site, largest first. A file given with -o is written atomically.
            """)

    @Argument(help: "The process: a pid, or the path of its taskscope socket.")
    var target: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "The format: json or text.")
    var format: SnapshotFormat = .json

    @OptionGroup var wait: WaitOption

    func run() async throws {
        try await reportingFailures {
            // Open the output first, so an unwritable path fails before any work is done.
            let file = try output.map { path throws(ScopeClientError) in try AtomicFile(path: path) }
            do {
                let connection = try await Target(parsing: target).connect()
                defer { connection.close() }
                let options = SnapshotOptions(wait: wait.reason)
                let done: SnapshotDone
                if let file {
                    done = try await SnapshotExporter.export(
                        from: connection, options: options, format: format, to: file)
                    try file.commit()
                } else {
                    done = try await SnapshotExporter.export(
                        from: connection, options: options, format: format, to: StandardOutput())
                }
                if let reason = wait.reason, done.tasks == 0, format == .json {
                    // The document is right (no task), but a script's reader deserves the reason why.
                    printError(ReasonsNow.noTask(waitingOn: reason, waits: try await connection.summary().waits))
                }
            } catch {
                file?.abandon()
                throw error
            }
        }
    }
}

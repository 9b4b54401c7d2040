import ArgumentParser
import ScopeClient
import ScopeUI

struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view", abstract: "Open a snapshot file in the UI, offline.")

    @Argument(help: "A snapshot written by taskscope snapshot or by e in the UI.")
    var file: String

    @Option(
        help: ArgumentHelp(
            "Refuse a snapshot file larger than this (bytes, or with K, M, G: 512M, 4G).", valueName: "size"))
    var maxBytes = ByteSize(bytes: ScopeConnection.defaultMaxSnapshotBytes)

    @OptionGroup var wait: WaitOption

    func run() async throws {
        try await reportingFailures {
            let source = try SnapshotSource(path: file, maxBytes: maxBytes.bytes)
            // The reasons of the file's own tasks: a snapshot taken with --wait holds only some.
            var waits: [String: Int] = [:]
            for task in source.document.tasks where task.state == .waiting {
                if let reason = task.wait { waits[reason, default: 0] += 1 }
            }
            try wait.check(waits: waits)
            try TerminalRequirement.check("view", instead: "open it where TERM names a full terminal (xterm, tmux)")
            try await ScopeApp.run(source: source, options: ScopeApp.Options(waitFilter: wait.reason))
        }
    }
}

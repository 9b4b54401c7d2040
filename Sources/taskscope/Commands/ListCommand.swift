import ArgumentParser
import Foundation
import ScopeClient
import ScopeProtocol

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the processes taskscope can attach to.",
        discussion: """
            Looks for agent sockets in $TASKSCOPE_DIR, else $XDG_RUNTIME_DIR/taskscope, else \
            /tmp/taskscope-<uid> (and at $TASKSCOPE_SOCKET), asks each agent for its counts, and \
            removes stale sockets left by processes that have exited.
            """)

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let discovery = await ProcessDiscovery.scan()
            for (path, error) in discovery.problems {
                printError("skipped \(path): \(error)")
            }
            if json {
                try Output.writeJSON(
                    Listing(
                        directory: discovery.directory, processes: discovery.processes,
                        removedStale: discovery.removedStale))
            } else {
                try Output.write(table(discovery))
            }
        }
    }

    private func table(_ discovery: Discovery) -> String {
        var text = ""
        for path in discovery.removedStale {
            text += "removed stale socket \(path)\n"
        }
        guard !discovery.processes.isEmpty else {
            return text + "no attachable processes (looked in \(discovery.directory))\n"
        }
        let rows = discovery.processes.map { process in
            [
                "\(process.pid)", process.process, DurationText.format(process.uptime), "\(process.liveTasks)",
                process.socket,
            ]
        }
        let header = ["PID", "PROCESS", "UPTIME", "TASKS", "SOCKET"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            text +=
                row.indices.map { column in
                    column == row.count - 1
                        ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ") + "\n"
        }
        return text
    }

    /// What `list --json` prints.
    private struct Listing: Encodable {
        var directory: String
        var processes: [AttachableProcess]
        var removedStale: [String]
    }
}

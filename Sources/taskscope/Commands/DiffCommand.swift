import ArgumentParser
import Foundation
import ScopeClient
import ScopeProtocol

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show how a process's tasks changed between two snapshots.",
        discussion: """
            Groups of live tasks (by wait reason, wait site and spawn site) whose counts changed, \
            largest growth first, then the warnings that appeared and those that went away. Take two \
            snapshots some time apart to find a slow leak: the group that keeps growing is it.
            """)

    @Argument(help: "The earlier snapshot file.")
    var old: String

    @Argument(help: "The later snapshot file.")
    var new: String

    @Flag(help: "Print the diff as JSON.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Refuse a snapshot file larger than this (bytes, or with K, M, G: 512M, 4G).", valueName: "size"))
    var maxBytes = ByteSize(bytes: ScopeConnection.defaultMaxSnapshotBytes)

    func run() async throws {
        try await reportingFailures {
            let diff = SnapshotDiff(
                old: try SnapshotSource(path: old, maxBytes: maxBytes.bytes).document,
                new: try SnapshotSource(path: new, maxBytes: maxBytes.bytes).document)
            if json {
                try Output.writeJSON(diff)
            } else {
                try Output.write(diff.render())
            }
        }
    }
}

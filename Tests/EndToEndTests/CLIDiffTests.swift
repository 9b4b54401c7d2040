import Foundation
import ScopeClient
import TestSupport
import Testing

/// `diff` says when its files are the wrong way round, and prints JSON as `list --json` does.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLIDiffTests {
    @Test func reversedFilesAreNotedAndJSONKeepsSlashes() async throws {
        let demo = try await DemoProcess()
        let (before, after) = ("\(demo.directory)/before.json", "\(demo.directory)/after.json")
        #expect(
            try await CLI.run(["snapshot", "\(demo.pid)", "-o", before], environment: demo.environment).status == 0)
        // Taken after, of only three tasks: every other group of `before` changed (to none).
        let taken = try await CLI.run(
            ["snapshot", "\(demo.pid)", "--wait", "queue.pop", "-o", after], environment: demo.environment)
        #expect(taken.status == 0)
        let list = try await CLI.run(["list", "--json"], environment: demo.environment)
        #expect(try await demo.interrupt() == 0)

        let forward = try await CLI.run(["diff", before, after])
        #expect(forward.status == 0)
        #expect(!forward.stdout.contains("backwards"))
        let backward = try await CLI.run(["diff", after, before])
        #expect(backward.status == 0)
        let lines = backward.stdout.split(separator: "\n")
        #expect(lines.count > 1 && lines[1].hasPrefix("note: the second snapshot was captured "), "\(backward.stdout)")
        #expect(lines[1].hasSuffix("backwards in time; give the older file first"))

        // One JSON style for the CLI: `/` is never escaped (sites and paths read as written).
        let json = try await CLI.run(["diff", before, after, "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains(#""file" : "taskscope/Demo"#), "\(json.stdout.prefix(400))")
        #expect(!json.stdout.contains(#"\/"#), "\(json.stdout.prefix(400))")
        #expect(list.stdout.contains(demo.socket) && !list.stdout.contains(#"\/"#))
        let decoded = try JSONDecoder().decode(SnapshotDiff.self, from: Data(json.stdout.utf8))
        #expect(decoded.new.capturedAt > decoded.old.capturedAt)
    }
}

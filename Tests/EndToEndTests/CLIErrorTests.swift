import Foundation
import ScopeProtocol
import TestSupport
import Testing

/// Every way the CLI can be handed something wrong: one line on stderr naming what and
/// why, nothing on stdout, a failing exit, and nothing else touched.
@Suite(.serialized, .timeLimit(.minutes(2))) struct CLIErrorTests {
    /// Runs `taskscope` and checks the one-line failure.
    private func expectFailure(
        _ arguments: [String], environment: [String: String] = [:], startsWith prefix: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let result = try await CLI.run(arguments, environment: environment)
        #expect(result.status == 1, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(arguments)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("taskscope: \(prefix)"), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    @Test func snapshotFilesThatAreNotWholeSnapshotsAreNamedAndExplained() async throws {
        let directory = try makeTemporaryDirectory("files")
        defer { removeTree(directory) }
        let demo = try await DemoProcess()
        let good = "\(directory)/good.json"
        #expect(try await CLI.run(["snapshot", "\(demo.pid)", "-o", good], environment: demo.environment).status == 0)
        #expect(try await demo.interrupt() == 0)
        let whole = try Data(contentsOf: URL(fileURLWithPath: good))

        func file(_ name: String, _ contents: Data) throws -> String {
            let path = "\(directory)/\(name)"
            try contents.write(to: URL(fileURLWithPath: path))
            return path
        }
        let truncated = try file("truncated.json", whole.prefix(whole.count / 2))
        try await expectFailure(
            ["view", truncated], startsWith: "\(truncated): it is not valid JSON (truncated or corrupt?)")

        var bytes = [UInt8](whole)
        for index in stride(from: bytes.count / 3, to: bytes.count / 3 + 40, by: 1) { bytes[index] = 0xFF }
        let corrupt = try file("corrupt.json", Data(bytes))
        try await expectFailure(["view", corrupt], startsWith: "\(corrupt): it is not valid JSON")

        var object = try #require(try JSONSerialization.jsonObject(with: whole) as? [String: Any])
        object["version"] = 99
        let future = try file("future.json", try JSONSerialization.data(withJSONObject: object))
        try await expectFailure(
            ["view", future],
            startsWith: "\(future): it is snapshot version 99; this taskscope reads up to version "
                + "\(SnapshotDocument.currentVersion)")

        object["version"] = SnapshotDocument.currentVersion
        object["tasks"] = "all of them"
        let damaged = try file("damaged.json", try JSONSerialization.data(withJSONObject: object))
        try await expectFailure(["view", damaged], startsWith: "\(damaged): it is a damaged snapshot: field \"tasks\"")

        let other = try file("other.json", Data(#"{"name":"not a snapshot","version":1}"#.utf8))
        try await expectFailure(["view", other], startsWith: "\(other): it is not a taskscope snapshot")
        let empty = try file("empty.json", Data())
        try await expectFailure(["view", empty], startsWith: "\(empty): the file is empty")
        try await expectFailure(["view", directory], startsWith: "\(directory): is a directory")
    }

    @Test func socketsThatCannotBeUsedAreNamedAndExplained() async throws {
        let directory = try makeTemporaryDirectory("socks")
        defer { removeTree(directory) }
        let environment = ["TASKSCOPE_DIR": directory]

        // Something that listens but is not taskscope.
        let impostor = "\(directory)/impostor.sock"
        let server = try FakeServer(path: impostor, greeting: "SSH-2.0-OpenSSH_9.2\n")
        defer { server.stop() }
        try await expectFailure(
            ["snapshot", impostor], environment: environment,
            startsWith: "\(impostor) is not a taskscope socket (it did not say hello)")

        // A socket left by a process that died: reported, and cleaned.
        let stale = "\(directory)/stale.sock"
        try FakeServer.bindOnly(stale)
        try await expectFailure(
            ["snapshot", stale], environment: environment, startsWith: "nobody is listening on \(stale)")
        #expect(!FileManager.default.fileExists(atPath: stale))

        // No such process; a process without an agent.
        try await expectFailure(
            ["snapshot", "2000000000"], environment: environment, startsWith: "no process with pid")
        try await expectFailure(
            ["attach", "\(getpid())"], environment: environment,
            startsWith: "process \(getpid()) has no taskscope agent")
    }

    @Test(
        .enabled(if: geteuid() == 0, "needs root, to run the CLI as another user"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs setpriv"))
    func anotherUsersAgentIsPermissionDenied() async throws {
        let demo = try await DemoProcess()
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.executable.path]
        // setpriv keeps the environment, so the CLI looks where the demo serves.
        let result = try await Program.run(
            "/usr/bin/setpriv", asNobody + ["snapshot", demo.socket], environment: demo.environment)
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr
                == "taskscope: \(demo.socket): permission denied (the agent only accepts its own user and root)\n")
        #expect(try await demo.interrupt() == 0)
    }

    /// A `--trace` that cannot be a trace id is refused before anything connects, as ArgumentParser
    /// refuses any bad option: the error, the usage, exit 64.
    @Test func aTraceThatIsNoTraceIDIsRefusedBeforeConnecting() async throws {
        for bad in ["a b", "", String(repeating: "f", count: 65), "tab\there"] {
            let result = try await CLI.run(["snapshot", "/nonexistent/agent.sock", "--trace", bad])
            #expect(result.status == 64, "\(bad): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("Error: --trace must be a trace id"), "\(result.stderr)")
        }
    }

    @Test func anUnwritableOutputIsNamedAndNothingIsLeftBehind() async throws {
        let demo = try await DemoProcess()
        let readOnly = "\(demo.directory)/read-only"
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        // A device is written into, never replaced; /dev/full takes nothing, as a full disk.
        try await expectFailure(
            ["snapshot", "\(demo.pid)", "-o", "/dev/full"], environment: demo.environment,
            startsWith: "/dev/full: cannot write: No space left on device")
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR, "/dev/full was replaced")
        try await expectFailure(
            ["snapshot", "\(demo.pid)", "-o", "\(readOnly)/missing/x.json"], environment: demo.environment,
            startsWith: "\(readOnly)/missing/x.json: cannot write here")
        #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly).isEmpty)
        #expect(try await demo.interrupt() == 0)
    }

    /// Whether this machine lets the tests mount a small tmpfs (root, and a container that allows it).
    static let canMountSmallDisks: Bool = {
        guard geteuid() == 0, let directory = try? makeTemporaryDirectory("probe") else { return false }
        defer { removeTree(directory) }
        guard mount("tmpfs", directory, "tmpfs", 0, "size=12k") == 0 else { return false }
        umount2(directory, 0)
        return true
    }()

    @Test(.enabled(if: canMountSmallDisks, "needs to mount a small tmpfs (root, in a container that allows it)"))
    func aFullDiskLeavesTheFileThatWasThereAndNoTemporaryFile() async throws {
        let directory = try makeTemporaryDirectory("full")
        defer { removeTree(directory) }
        #expect(mount("tmpfs", directory, "tmpfs", 0, "size=12k") == 0)
        defer { _ = umount2(directory, 0) }
        let target = "\(directory)/snap.json"
        try Data("the old snapshot".utf8).write(to: URL(fileURLWithPath: target))
        let demo = try await DemoProcess()
        // A snapshot of the demo is several times 12 KiB.
        try await expectFailure(
            ["snapshot", "\(demo.pid)", "-o", target], environment: demo.environment,
            startsWith: "\(target): cannot write: No space left on device")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "the old snapshot")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["snap.json"])
        #expect(try await demo.interrupt() == 0)
    }
}

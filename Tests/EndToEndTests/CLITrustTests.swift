import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

/// The CLI against agents that misbehave and places it should not trust: each ends in one
/// line a person can act on, at a bound, and leaves nothing behind.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CLITrustTests {
    static let hello = FakeServer.agentHello(protocol: 1)

    /// A fake agent that plays `script` once it has read the first request.
    private func fake(
        at path: String, _ script: @escaping @Sendable (FakePeer) -> Void
    ) throws -> FakeServer {
        try FakeServer(path: path, greeting: Self.hello) { peer in
            guard peer.readLine() != nil else { return }
            script(peer)
        }
    }

    /// Expects exit status 1, nothing on stdout, and exactly `line` on stderr.
    private func expectOneLine(
        _ result: CLI.Result, _ line: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(result.stderr == "taskscope: \(line)\n", sourceLocation: sourceLocation)
    }

    @Test func viewAndDiffStopReadingAFileAtMaxBytes() async throws {
        let reason = "larger than 1 MiB; not read (--max-bytes raises the limit)"
        // /dev/zero never ends: without the cap, the CLI would read until memory runs out.
        let diff = try await CLI.run(["diff", "/dev/zero", "/dev/zero", "--max-bytes", "1M"])
        expectOneLine(diff, "/dev/zero: \(reason)")
        let view = try await CLI.run(["view", "/dev/zero", "--max-bytes", "1M"])
        expectOneLine(view, "/dev/zero: \(reason)")
        for command in ["view", "diff"] {
            let help = try await CLI.run([command, "--help"])
            #expect(help.stdout.contains("--max-bytes <size>"), "\(command)")
        }
    }

    @Test func aReplyLineThatNeverEndsStopsAtSixtyFourMiB() async throws {
        let directory = try makeTemporaryDirectory("cap")
        defer { removeTree(directory) }
        let socket = "\(directory)/endless.sock"
        let sent = Atomic<Int>(0)
        let server = try fake(at: socket) { peer in
            peer.send(#"{"id":1,"result":""#)
            sent.store(peer.sendForever([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)), ordering: .relaxed)
        }
        defer { server.stop() }
        let result = try await CLI.run(["snapshot", socket])
        expectOneLine(result, "the process behind \(socket) sent a line longer than 64 MiB; stopped")
        try await eventually("the fake agent's sends fail") { sent.load(ordering: .relaxed) > 0 }
        #expect(sent.load(ordering: .relaxed) < 80 << 20, "the CLI read on past its cap")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "needs /usr/bin/time"))
    func theCLIsMemoryStaysNearTheLineCap() async throws {
        let directory = try makeTemporaryDirectory("rss")
        defer { removeTree(directory) }
        let socket = "\(directory)/endless.sock"
        let server = try fake(at: socket) { peer in
            peer.send(#"{"id":1,"result":""#)
            peer.sendForever([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16))
        }
        defer { server.stop() }
        // GNU time prints the peak resident size, in KiB, as the last line of stderr.
        let result = try await Program.run("/usr/bin/time", ["-f", "%M", CLI.executable.path, "snapshot", socket])
        #expect(result.stderr.hasPrefix("taskscope: the process behind \(socket) sent a line longer than 64 MiB"))
        let peak = try #require(result.stderr.split(separator: "\n").last.flatMap { Int($0) })
        // The line's buffer grows by doubling to at most 128 MiB; unbounded, it reached 1.1 GB.
        #expect(peak < 200 << 10, "peak RSS \(peak >> 10) MiB")
    }

    @Test func aSnapshotThatNeverEndsStopsAtMaxBytes() async throws {
        let directory = try makeTemporaryDirectory("cap")
        defer { removeTree(directory) }
        let socket = "\(directory)/chunks.sock"
        let opening = Array(#"{"id":1,"chunk":"filler","data":""#.utf8)
        let chunk =
            opening + [UInt8](repeating: UInt8(ascii: "x"), count: (1 << 16) - opening.count - 3) + Array("\"}\n".utf8)
        let server = try fake(at: socket) { peer in peer.sendForever(chunk) }
        defer { server.stop() }
        let target = "\(directory)/out.json"
        let result = try await CLI.run(["snapshot", socket, "--max-bytes", "1M", "-o", target])
        expectOneLine(
            result, "the snapshot from \(socket) passed 1 MiB; stopped (--max-bytes raises the limit)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["chunks.sock"])
        let help = try await CLI.run(["snapshot", "--help"])
        #expect(help.stdout.contains("--max-bytes <size>"))
        #expect(help.stdout.contains("(default: 2GiB)"))
        let nonsense = try await CLI.run(["snapshot", socket, "--max-bytes", "lots"])
        #expect(nonsense.status != 0 && nonsense.stderr.contains("--max-bytes"))
    }

    @Test func aStoppedAgentIsNamedAsNotAnswering() async throws {
        let demo = try await DemoProcess()
        #expect(kill(demo.pid, SIGSTOP) == 0)
        let result = try await CLI.run(["snapshot", "\(demo.pid)"], environment: demo.environment)
        #expect(kill(demo.pid, SIGCONT) == 0)
        expectOneLine(
            result,
            "the process behind \(demo.socket) accepted the connection but did not answer within 3 s (is it stopped?)")
        #expect(try await demo.interrupt() == 0)
    }

    @Test func anAgentThatDiesMidSnapshotIsNamedSo() async throws {
        let directory = try makeTemporaryDirectory("midway")
        defer { removeTree(directory) }
        let socket = "\(directory)/dies.sock"
        let server = try fake(at: socket) { peer in
            peer.send(#"{"id":1,"chunk":"tasks","data":[{"id":7,"name":"hal"#)
        }
        defer { server.stop() }
        let result = try await CLI.run(["snapshot", socket])
        expectOneLine(result, "the process behind \(socket) closed the connection mid-snapshot")
    }

    @Test func aFIFONobodyReadsIsRefusedInsteadOfWaitedOn() async throws {
        let demo = try await DemoProcess()
        let fifo = "\(demo.directory)/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let result = try await CLI.run(
            ["snapshot", "\(demo.pid)", "-o", fifo], environment: demo.environment, timeout: .seconds(20))
        expectOneLine(result, "\(fifo): no process is reading this FIFO")
        // `-o /dev/stdout` is standard output, a pipe here: written into, not replaced.
        let piped = try await CLI.run(["snapshot", "\(demo.pid)", "-o", "/dev/stdout"], environment: demo.environment)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.hasPrefix("{") && piped.stdout.hasSuffix("]}\n"))
        #expect(try await demo.interrupt() == 0)
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func anExportInterruptedLeavesNoTemporaryFile(signal: Int32) async throws {
        let directory = try makeTemporaryDirectory("killed")
        defer { removeTree(directory) }
        let socket = "\(directory)/slow.sock"
        let asked = Atomic<Bool>(false)
        // The request comes after the CLI has set up its signal handling: then it is mid-export.
        let server = try fake(at: socket) { peer in
            asked.store(true, ordering: .relaxed)
            peer.send(#"{"id":1,"chunk":"filler","data":"x"}"# + "\n")
            _ = peer.readLine()
        }
        defer { server.stop() }
        let export = try await BackgroundProcess(
            CLI.executable.path, ["snapshot", socket, "-o", "\(directory)/out.json"])
        try await eventually("the CLI is mid-export") { asked.load(ordering: .relaxed) }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).contains {
                $0.hasPrefix(".out.json.taskscope-tmp-")
            })
        #expect(try await export.stop(with: signal) == 128 + signal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["slow.sock"])
    }

    @Test(.enabled(if: geteuid() == 0, "needs root, to give a directory to another user"))
    func listSkipsADirectoryAnotherUserOwns() async throws {
        let directory = try makeTemporaryDirectory("theirs")
        defer { removeTree(directory) }
        let socket = "\(directory)/4242.sock"
        let server = try FakeServer(path: socket, greeting: Self.hello, answer: FakeServer.summaryReply(uptime: "1"))
        defer { server.stop() }
        #expect(chown(directory, 65534, 65534) == 0)
        let result = try await CLI.run(["list"], environment: ["TASKSCOPE_DIR": directory])
        #expect(result.status == 0)
        #expect(result.stdout == "no attachable processes (looked in \(directory))\n")
        #expect(
            result.stderr
                == "taskscope: skipped \(directory): \(directory) belongs to uid 65534, not to this user (uid 0); "
                + "only sockets in a directory of one's own are trusted\n")
    }

    @Test(
        .enabled(if: geteuid() == 0, "needs root, to run the CLI as another user"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs setpriv"))
    func aSocketThisUserMayNotReachIsPermissionDeniedNotNoAgent() async throws {
        let demo = try await DemoProcess()
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.executable.path]
        let snapshot = try await Program.run(
            "/usr/bin/setpriv", asNobody + ["snapshot", "\(demo.pid)"], environment: demo.environment)
        expectOneLine(
            snapshot,
            "\(demo.directory)/\(demo.pid).sock: permission denied (the agent only accepts its own user and root)")
        let list = try await Program.run("/usr/bin/setpriv", asNobody + ["list"], environment: demo.environment)
        #expect(list.stdout == "no attachable processes (looked in \(demo.directory))\n")
        #expect(list.stderr.hasPrefix("taskscope: skipped \(demo.directory): \(demo.directory) belongs to uid 0"))
        #expect(try await demo.interrupt() == 0)
    }
}

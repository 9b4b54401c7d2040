import Foundation
import Logging
import TestSupport
import Testing

@testable import TaskScope

/// Who may attach: the agent's own user (and root), nobody else.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SecurityTests {
    /// A client run as `nobody` that connects to `path` and prints what it reads first.
    private static let probe = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sys.argv[1])
        except OSError as error:
            print("refused by the file system:", error.strerror); sys.exit(0)
        s.settimeout(5)
        data = s.recv(4096)
        print("hello" if b'"hello"' in data else "closed" if not data else "other")
        """

    @Test(
        .enabled(if: geteuid() == 0, "needs root, to connect as another user"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs /usr/bin/python3"),
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs setpriv"))
    func anotherUserIsRefusedEvenWhenTheSocketIsLeftOpen() async throws {
        let directory = try makeTemporaryDirectory("peer")
        defer { removeTree(directory) }
        let path = "\(directory)/agent.sock"
        let logs = CapturedLogs()
        // An agent of its own: the process-wide one belongs to the tests of TaskScope.start.
        let agent = try Agent.start(
            registry: Registry(), configuration: TaskScope.Configuration(socketPath: path, logger: logs.logger))
        defer { agent.stop() }
        // By default the file system alone keeps others out.
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Self.probe, path]
        let blocked = try await Program.run("/usr/bin/setpriv", asNobody)
        #expect(blocked.stdout.hasPrefix("refused by the file system"), "\(blocked.stdout)\(blocked.stderr)")

        // With the socket opened up by mistake, the agent's own check refuses them, and says so.
        #expect(chmod(path, 0o666) == 0)
        let refused = try await Program.run("/usr/bin/setpriv", asNobody)
        #expect(refused.stdout == "closed\n", "\(refused.stdout)\(refused.stderr)")
        #expect(logs.contains("refused a connection from another user", atLeast: .warning))
        #expect(logs.all.contains { $0.metadata["peer_uid"] == "65534" })

        // Its own user still gets in.
        let own = try await Program.run("/usr/bin/python3", ["-c", Self.probe, path])
        #expect(own.stdout == "hello\n")
    }
}

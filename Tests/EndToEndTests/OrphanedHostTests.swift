import Foundation
import TestSupport
import Testing

/// A test host outlives no test run: when the process that started `taskscope-agent-host` dies
/// (a test run that failed or was killed before stopping it), the host exits by itself.
@Suite(.timeLimit(.minutes(1))) struct OrphanedHostTests {
    /// Whether `pid` has exited: no such process, or a zombie its new parent has not reaped.
    static func hasExited(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "Z" || state == "X"
    }

    static func isAgentHost(_ pid: Int32) -> Bool {
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return command.contains("taskscope-agent-host")
    }

    @Test func aHostWhoseParentDiesExitsByItself() async throws {
        let directory = try makeTemporaryDirectory("orphan")
        defer { removeTree(directory) }
        // A parent that starts the host, waits until it serves, and dies leaving it behind.
        let script = """
            "$0" serve "$1/agent.sock" > "$1/host.out" 2>&1 &
            echo "host $!"
            tries=0
            until grep -q '^ready ' "$1/host.out"; do
                tries=$((tries + 1))
                [ "$tries" -gt 1200 ] && exit 1
                sleep 0.05
            done
            """
        let parent = try await BackgroundProcess("/bin/sh", ["-c", script, HostProcess.executable, directory])
        let line = try await parent.line(startingWith: "host ")
        let pid = try #require(Int32(line.dropFirst("host ".count)))
        // Should the host outlive the test after all, it is not left running.
        defer { if !Self.hasExited(pid), Self.isAgentHost(pid) { kill(pid, SIGKILL) } }
        #expect(try await parent.exitStatus(within: .seconds(60)) == 0, "the host served before its parent died")
        let output = try String(contentsOfFile: "\(directory)/host.out", encoding: .utf8)
        #expect(output.contains("ready \(pid)"), "\(output)")
        try await eventually("the orphaned host \(pid) exits", timeout: .seconds(10)) { Self.hasExited(pid) }
    }
}

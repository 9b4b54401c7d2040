import Foundation
import TestSupport
import Testing

/// Many clients at once, and clients coming and going, against an agent whose host keeps working.
@Suite(.serialized, .timeLimit(.minutes(3))) struct LoadTests {
    static let subscribers = 100
    static let storm = 2_000

    @Test func aHundredSubscribersAndAConnectionStormLoseNothingAndLeakNothing() async throws {
        // More clients than the default cap of 64: this test is about many served at once.
        let host = try await HostProcess(environment: ["TASKSCOPE_HOST_MAX_CLIENTS": "200"])
        // A first round of connections, so that what is allocated once is in the baseline.
        // The clients block on their sockets, so they run on threads of their own.
        try await onOwnThread { for _ in 0..<20 { try Self.connectAndLeave(host.socket, after: 2) } }
        try await Task.sleep(for: .milliseconds(300))
        let baselineFDs = try Self.openFiles(host.pid)
        let baselineMemory = try Self.residentBytes(host.pid)

        let subscribed = try await onOwnThread { () throws -> Clients in
            let clients = Clients()
            for _ in 0..<Self.subscribers {
                let client = try RawLineClient(path: host.socket)
                _ = try client.readObject()
                let reply = try client.request(#"{"id":1,"op":"subscribe","interval":0.2}"#)
                guard (reply["result"] as? [String: Any])?["active"] as? Bool == true else {
                    throw ConditionTimedOut(description: "a subscription was refused: \(reply)")
                }
                clients.all.append(client)
            }
            return clients
        }
        // Connections that come and go in every way, from four threads at once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    try await onOwnThread {
                        for index in 0..<(Self.storm / 4) {
                            try Self.connectAndLeave(host.socket, after: (index + lane) % 5)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(host.process.isRunning)
        #expect(try Self.openFiles(host.pid) >= baselineFDs + Self.subscribers)
        // Every subscriber is still served.
        let pushes = try await onOwnThread { () throws -> Int in
            var pushes = 0
            for client in subscribed.all {
                for _ in 0..<2 where try client.readObject()["type"] as? String == "summary" { pushes += 1 }
            }
            return pushes
        }
        #expect(pushes == 2 * Self.subscribers)
        subscribed.all.removeAll()

        // Everything the clients cost is given back.
        try await eventually("the connections' files are closed", timeout: .seconds(10)) {
            try Self.openFiles(host.pid) <= baselineFDs
        }
        let memory = try Self.residentBytes(host.pid)
        #expect(memory < baselineMemory + 8 << 20, "resident memory grew from \(baselineMemory) to \(memory) bytes")

        // Nothing was lost from the registry's totals while it served them.
        kill(host.pid, SIGUSR1)
        let stopped = try await host.process.line(startingWith: "stopped ")
        #expect(stopped.hasSuffix(" wrong=0"), "\(stopped)")
        let spawned = try #require(Int(stopped.split(separator: " ")[1].dropFirst("spawned=".count)))
        let client = try RawLineClient(path: host.socket)
        _ = try await client.readObject()
        let summary = try #require(try await client.request(#"{"id":1,"op":"summary"}"#)["result"] as? [String: Any])
        let totals = try #require(summary["totals"] as? [String: Int])
        #expect(totals["spawned"] == spawned)
        #expect((totals["completed"] ?? 0) + (totals["cancelled"] ?? 0) + (totals["failed"] ?? 0) == spawned)
        #expect(try await host.process.stop(with: SIGTERM) == 0)
    }

    /// Connects and leaves at one of five moments: at once, after the hello, after a
    /// request, halfway through a request line, or after asking for a snapshot unread.
    private static func connectAndLeave(_ path: String, after step: Int) throws {
        let client = try RawLineClient(path: path)
        guard step > 0 else { return }
        _ = try client.readObject()
        switch step {
        case 2: _ = try client.request(#"{"id":1,"op":"summary"}"#)
        case 3: try client.write(Array(#"{"id":2,"op":"tas"#.utf8))
        case 4: try client.send(#"{"id":3,"op":"snapshot"}"#)
        default: break
        }
    }

    static func openFiles(_ pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    static func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw ConditionTimedOut(description: "no VmRSS for \(pid)") }
        return kilobytes * 1024
    }
}

/// Clients kept across threads; each is used by one thread at a time.
final class Clients: @unchecked Sendable {
    var all: [RawLineClient] = []
}

/// The agent leaves nothing behind when its process ends normally without stopping it.
@Suite(.timeLimit(.minutes(1))) struct ExitTests {
    @Test func theSocketGoesWhenTheHostReturnsFromMain() async throws {
        let host = try await HostProcess(mode: "exit")
        #expect(try await host.process.exitStatus(within: .seconds(10)) == 0)
        #expect(!FileManager.default.fileExists(atPath: host.socket))
    }
}

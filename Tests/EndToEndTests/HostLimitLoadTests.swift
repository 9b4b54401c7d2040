import Foundation
import TestSupport
import Testing

// Nested in LoadTests, which is serialized: two floods of hundreds of connections at once
// starve each other's hosts on a small machine, and neither then measures the agent.
extension LoadTests {
    /// Hostile and careless clients by the hundred against an agent whose process may open 256
    /// descriptors: the host keeps working, the agent keeps answering, and both recover.
    @Suite(.serialized, .timeLimit(.minutes(3))) struct HostLimitLoadTests {
        static let connections = 500
        /// The agent's memory may grow by this much at most: its 64 clients times (1 MiB of queued
        /// output, the limit, plus one reply, at most 200 KiB with the host's few hundred tasks),
        /// and room for the allocator.
        static let memoryBound = 96 << 20

        @Test func fiveHundredConnectionsAgainstAHostWithTwoHundredFiftySixDescriptors() async throws {
            // The agent as it ships, built for release, when scripts/test has built it.
            let release = HostProcess.releaseExecutable
            let executable = release ?? HostProcess.executable
            let host = try await HostProcess(
                environment: ["TASKSCOPE_HOST_NOFILE": "256", "TASKSCOPE_HOST_PROGRESS": "1"], executable: executable)
            try await onOwnThread { for _ in 0..<10 { try Self.ask(host.socket) } }
            try await Task.sleep(for: .milliseconds(300))
            let baselineFDs = try LoadTests.openFiles(host.pid)
            let baselineMemory = try LoadTests.residentBytes(host.pid)
            // Held where it can be dropped at the end (a client closes when it goes).
            let monitor = Clients()
            monitor.all.append(try RawLineClient(path: host.socket))
            // The same host, with no clients but its monitor: how long a summary takes on this machine
            // now, whatever else runs on it.
            let control = try await HostProcess(environment: ["TASKSCOPE_HOST_NOFILE": "256"], executable: executable)
            monitor.all.append(try RawLineClient(path: control.socket))
            for client in monitor.all {
                #expect(try await client.request(#"{"id":0,"op":"summary"}"#)["type"] as? String == "hello")
                _ = try await client.readObject()
            }

            // Every tenth a subscriber at 0.1 s and every tenth one asking for a snapshot, neither
            // reading; every tenth pipelining 200 heavy requests unread; the rest idle.
            let clients = Clients()
            let connecting = Task {
                try await onOwnThread {
                    for index in 0..<Self.connections {
                        let client = try RawLineClient(path: host.socket)
                        clients.all.append(client)
                        // A refused client's socket is closed: what it sends may fail.
                        switch index % 10 {
                        case 0: try? client.send(#"{"id":1,"op":"subscribe","interval":0.1}"#)
                        case 1: try? client.send(#"{"id":1,"op":"snapshot","chunk":10}"#)
                        case 2:
                            let heavy = (1...200).map { #"{"id":\#($0),"op":"tasks","limit":10000}"# + "\n" }
                            try? client.write(Array(heavy.joined().utf8))
                        default: break
                        }
                    }
                }
            }
            // Throughout (eight seconds, and until every client has connected): the monitor's
            // summaries, the host's own count rising every half second, the agent's memory and
            // descriptors. (On a thread of its own, so that what is timed is the agent, not the
            // scheduling of the test's tasks.)
            let connected = Flag()
            let watch = Task {
                try await onOwnThread { () throws -> Watch in
                    var watch = Watch(memory: baselineMemory, descriptors: baselineFDs)
                    var progress = try Self.progress(host)
                    var lastProgressCheck = ContinuousClock.now
                    let watchStart = ContinuousClock.now
                    let end = watchStart + .seconds(8)
                    var id = 0
                    while ContinuousClock.now < end || !connected.isRaised {
                        id += 1
                        let (loaded, idle) = (
                            try Self.naming("the monitor's summary") { try Self.summaryTime(monitor.all[0], id: id) },
                            try Self.naming("the idle host's summary") { try Self.summaryTime(monitor.all[1], id: id) }
                        )
                        watch.latencies.append(loaded)
                        watch.excess.append(loaded - idle)
                        // A fresh client: a new connection, its hello and a summary.
                        do {
                            let fresh = try Self.freshClientTime(host.socket)
                            let idleFresh = try Self.naming("the idle host's fresh client") {
                                try Self.freshClientTime(control.socket)
                            }
                            watch.freshExcess.append(fresh - idleFresh)
                        } catch {
                            watch.freshFailures.append("\(ContinuousClock.now - watchStart): \(error)")
                        }
                        watch.memory = max(watch.memory, try LoadTests.residentBytes(host.pid))
                        watch.descriptors = max(watch.descriptors, try LoadTests.openFiles(host.pid))
                        if ContinuousClock.now - lastProgressCheck >= .milliseconds(500) {
                            let now = try Self.progress(host)
                            if now <= progress { watch.stalls.append(now) }
                            (progress, lastProgressCheck) = (now, ContinuousClock.now)
                        }
                        Thread.sleep(forTimeInterval: 0.1)
                    }
                    return watch
                }
            }
            try await connecting.value
            connected.raise()
            let seen = try await watch.value
            #expect(clients.all.count == Self.connections)
            #expect(seen.stalls.isEmpty, "the host's work stopped at \(seen.stalls) spawned")
            // Alone on the machine every summary takes a few milliseconds (14 ms at worst in 80), and
            // every one is answered (a read waits 5 s at most). A machine busy with other work (the
            // rest of the suite on two cores) can hold any thread for longer, so what is bounded is
            // how much longer the typical summary takes than the idle host's asked just after.
            let excess = seen.excess.sorted()
            let (median, ninetieth) = (excess[excess.count / 2], excess[excess.count * 9 / 10])
            #expect(
                median < .milliseconds(100),
                "summaries took \(median) longer than the idle host's (9 in 10 within \(ninetieth))")
            // A fresh client, every tenth of a second throughout, is served: when every place is
            // taken it has the place of one of the flood's connections that does nothing with it.
            // Built for release, as the agent ships, every one within 100 ms more than the idle
            // host's (40 ms at worst, 9 in 10 within 1 ms, alone on two cores). A debug build's
            // event loop, several times slower, lets the one or two that come while the flood
            // arrives wait a few hundred milliseconds in the listen backlog behind it; the rest
            // are as prompt.
            #expect(seen.freshFailures.isEmpty, "fresh clients not served: \(seen.freshFailures)")
            let freshExcess = seen.freshExcess.sorted()
            let freshNinetieth = freshExcess[freshExcess.count * 9 / 10]
            let freshWorst = freshExcess[freshExcess.count - 1]
            print(
                "HostLimitLoadTests (\(release == nil ? "debug" : "release") host): fresh clients took up to "
                    + "\(freshWorst) longer than the idle host's, 9 in 10 within \(freshNinetieth), of \(freshExcess.count)"
            )
            #expect(
                freshNinetieth < .milliseconds(100), "9 in 10 fresh clients took up to \(freshNinetieth) more")
            #expect(
                freshWorst < (release == nil ? .seconds(1) : .milliseconds(100)),
                "a fresh client took \(freshWorst) longer than the idle host's")
            #expect(
                seen.memory - baselineMemory < Self.memoryBound, "memory grew from \(baselineMemory) to \(seen.memory)")
            // 64 clients at most (the monitor among them), and refused ones on their way out.
            #expect(seen.descriptors <= baselineFDs + 64 + 16, "\(seen.descriptors) descriptors, \(baselineFDs) before")
            #expect(host.process.isRunning)

            // When the clients go, everything they cost is given back.
            clients.all.removeAll()
            monitor.all.removeAll()
            try await eventually("the connections' descriptors are closed", timeout: .seconds(10)) {
                try LoadTests.openFiles(host.pid) <= baselineFDs + 2
            }
            try await onOwnThread { try Self.ask(host.socket) }
            let before = try Self.progress(host)
            try await eventually("the host works on") { try Self.progress(host) > before }
            kill(host.pid, SIGUSR1)
            let stopped = try await host.process.line(startingWith: "stopped ")
            #expect(stopped.hasSuffix(" wrong=0"), "\(stopped)")
            #expect(try await host.process.stop(with: SIGTERM) == 0)
            #expect(try await control.process.stop(with: SIGTERM) == 0)
        }

        @Test func whenTheHostHasNoDescriptorsLeftTheAgentBacksOffAndServesOnceTheyReturn() async throws {
            let host = try await HostProcess(environment: ["TASKSCOPE_HOST_NOFILE": "256"])
            let monitor = try RawLineClient(path: host.socket)
            #expect(try await monitor.request(#"{"id":0,"op":"summary"}"#)["type"] as? String == "hello")
            _ = try await monitor.readObject()
            // A host whose Swift tasks run out of descriptors may die in libdispatch (SIGILL), agent
            // or none; here the host's workload is stopped first, so only the agent meets EMFILE.
            kill(host.pid, SIGUSR1)
            _ = try await host.process.line(startingWith: "stopped ")
            kill(host.pid, SIGUSR2)
            _ = try await host.process.line(startingWith: "hogging ")
            let loop = try #require(try Self.thread(namedLike: "NIO-ELT-", of: host.pid))
            let cpuBefore = try Self.cpuTicks(host.pid, thread: loop)
            // Connections wait in the listen queue; every accept fails with EMFILE.
            let waiting = try (0..<5).map { _ in try RawLineClient(path: host.socket) }
            try await Task.sleep(for: .seconds(2))
            // The agent pauses accepting (250 ms between tries), so its loop stays idle; retrying at
            // once (NIO's default here) took 16,000 accepts a second and half its core.
            let ticks = try Self.cpuTicks(host.pid, thread: loop) - cpuBefore
            #expect(ticks < 20, "the agent's event loop used \(ticks) ticks while accepts failed")
            #expect(host.process.isRunning)
            // A client already in is served all along.
            #expect(try await monitor.request(#"{"id":1,"op":"summary"}"#)["id"] as? Int == 1)

            kill(host.pid, SIGUSR2)
            _ = try await host.process.line(startingWith: "released")
            for client in waiting {
                #expect(try await client.request(#"{"id":1,"op":"summary"}"#)["type"] as? String == "hello")
                #expect(try await client.readObject()["id"] as? Int == 1)
            }
            #expect(try await host.process.stop(with: SIGTERM) == 0)
        }

        @Test func theAgentLeavesTheHostItsLastDescriptorsWhateverTheCap() async throws {
            let host = try await HostProcess(environment: [
                "TASKSCOPE_HOST_NOFILE": "256", "TASKSCOPE_HOST_PROGRESS": "1", "TASKSCOPE_HOST_HOG_LEAVE": "24",
            ])
            // The host takes all but 24 of its descriptors, after the agent counted its cap (64).
            kill(host.pid, SIGUSR2)
            _ = try await host.process.line(startingWith: "hogging ")
            let answers = try await onOwnThread { () throws -> (Clients, [String]) in
                let clients = Clients()
                var answers: [String] = []
                for _ in 0..<40 {
                    let client = try RawLineClient(path: host.socket)
                    clients.all.append(client)
                    let first = try client.readObject()
                    answers.append(
                        first["type"] as? String ?? (first["error"] as? [String: Any])?["message"] as? String ?? "")
                }
                return (clients, answers)
            }
            // Some got in; the rest were told why, while the host kept its reserve of 16.
            #expect(answers.1.contains("hello"))
            #expect(answers.1.filter { $0.contains("short of descriptors") }.count >= 20, "\(answers.1)")
            #expect(try LoadTests.openFiles(host.pid) <= 256 - 16 + 1)
            let before = try Self.progress(host)
            try await eventually("the host works on") { try Self.progress(host) > before }
            #expect(host.process.isRunning)
            answers.0.all.removeAll()
            kill(host.pid, SIGUSR2)
            _ = try await host.process.line(startingWith: "released")
            try await onOwnThread { try Self.ask(host.socket) }
            kill(host.pid, SIGUSR1)
            #expect(try await host.process.line(startingWith: "stopped ").hasSuffix(" wrong=0"))
            #expect(try await host.process.stop(with: SIGTERM) == 0)
        }

        /// What the watch over the agent saw while the clients came.
        struct Watch {
            var latencies: [Duration] = []
            /// Each summary's time less the idle host's summary asked just after.
            var excess: [Duration] = []
            var memory: Int
            var descriptors: Int
            var stalls: [Int] = []
            /// Each fresh client's time less the idle host's fresh client's.
            var freshExcess: [Duration] = []
            /// When a fresh client was not served, after the watch began, and why.
            var freshFailures: [String] = []
        }

        /// How long `client` takes to answer a summary.
        private static func summaryTime(_ client: RawLineClient, id: Int) throws -> Duration {
            let asked = ContinuousClock.now
            guard try client.request(#"{"id":\#(id),"op":"summary"}"#)["id"] as? Int == id else {
                throw ConditionTimedOut(description: "summary \(id) was not answered")
            }
            return ContinuousClock.now - asked
        }

        /// Runs `body`, naming `what` failed if it throws (a read that timed out says only that).
        private static func naming<T>(_ what: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch {
                throw ConditionTimedOut(description: "\(what): \(error)")
            }
        }

        /// How long a fresh client takes to connect, be greeted and have its summary.
        private static func freshClientTime(_ path: String) throws -> Duration {
            let start = ContinuousClock.now
            let client = try RawLineClient(path: path)
            try client.send(#"{"id":1,"op":"summary"}"#)
            let hello = try client.readObject()
            let reply = try client.readObject()
            guard hello["type"] as? String == "hello", reply["id"] as? Int == 1 else {
                throw ConditionTimedOut(description: "a fresh client was not served: \(hello) then \(reply)")
            }
            return ContinuousClock.now - start
        }

        /// Connects, asks for a summary, checks the answer, and leaves.
        private static func ask(_ path: String) throws {
            let client = try RawLineClient(path: path)
            let hello = try client.request(#"{"id":1,"op":"summary"}"#)
            guard hello["type"] as? String == "hello", try client.readObject()["id"] as? Int == 1 else {
                throw ConditionTimedOut(description: "a fresh client was not served: \(hello)")
            }
        }

        /// The host's own count of spawned tasks, as it last printed it.
        private static func progress(_ host: HostProcess) throws -> Int {
            let line = host.process.output.text.withLock { text in
                text.split(separator: "\n").last { $0.hasPrefix("progress spawned=") }
            }
            guard let line, let count = Int(line.dropFirst("progress spawned=".count)) else {
                throw ConditionTimedOut(description: "the host printed no progress")
            }
            return count
        }

        /// The id of the thread of `pid` whose name starts with `prefix`.
        private static func thread(namedLike prefix: String, of pid: Int32) throws -> String? {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").first { tid in
                (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8))?
                    .hasPrefix(prefix) == true
            }
        }

        /// The CPU time a thread has used, user and system, in clock ticks.
        private static func cpuTicks(_ pid: Int32, thread: String) throws -> Int {
            let stat = try String(contentsOfFile: "/proc/\(pid)/task/\(thread)/stat", encoding: .utf8)
            // The fields after the name (which may hold spaces): state is the first, utime the 12th.
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        }
    }
}

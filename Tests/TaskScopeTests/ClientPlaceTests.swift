import Foundation
import TestSupport
import Testing

@testable import TaskScope

/// When every place is taken, a newcomer has the place of the connection doing least with
/// it, and never that of one being served.
extension AgentServerTests {
    @Test func newcomersTakeThePlacesOfSilentUnprovenStuckAndIdleConnectionsInThatOrder() async throws {
        try await withAgent({
            $0.maxClients = 4
            $0.placeThresholds = .init(
                unproven: .milliseconds(300), stuck: .milliseconds(300), quiet: .milliseconds(600))
        }) { agent, path in
            // Asked once and read the answer, then idle.
            let idle = try RawLineClient(path: path)
            #expect(try await idle.request(#"{"id":1,"op":"summary"}"#)["type"] as? String == "hello")
            #expect(try await idle.readObject()["id"] as? Int == 1)
            // Asked, and reads nothing: its hello and answer wait in the kernel, a few hundred bytes.
            let stuck = try RawLineClient(path: path)
            try stuck.send(#"{"id":1,"op":"summary"}"#)
            // Read its hello and asked nothing.
            let unproven = try RawLineClient(path: path)
            #expect(try await unproven.readObject()["type"] as? String == "hello")
            // Neither read nor asked.
            let silent = try RawLineClient(path: path)
            try await eventually("every place is taken") { agent.clients.current == 4 }
            // Past every threshold.
            try await Task.sleep(for: .milliseconds(700))

            var newcomers: [RawLineClient] = []
            for (evicted, reason) in [
                (silent, "it had asked nothing"), (unproven, "it had asked nothing"),
                (stuck, "it had left its output unread"), (idle, "it had been idle"),
            ] {
                let newcomer = try RawLineClient(path: path)
                #expect(try await newcomer.request(#"{"id":1,"op":"summary"}"#)["type"] as? String == "hello")
                #expect(try await newcomer.readObject()["id"] as? Int == 1)
                newcomers.append(newcomer)
                // The stuck one never read its first lines: its error comes after them.
                var line = try await evicted.readObject()
                while line["error"] == nil { line = try await evicted.readObject() }
                let error = try #require(line["error"] as? [String: Any])
                #expect(error["code"] as? String == "too-many-clients")
                let message = try #require(error["message"] as? String)
                #expect(
                    message == "the agent serves 4 clients at most, and closed this one for a new client: \(reason)")
                #expect(await evicted.isClosedByPeer())
            }
            try await eventually("the evicted are uncounted") { agent.clients.current == 4 }
            for (index, newcomer) in newcomers.enumerated() {
                #expect(try await newcomer.request(#"{"id":\#(index + 2),"op":"summary"}"#)["id"] as? Int == index + 2)
            }
        }
    }

    @Test func aNewcomerIsRefusedWhileEveryPlaceIsBeingServedEvenByASlowReader() async throws {
        let registry = try await Self.registry(tasks: 20_000)
        try await withAgent(
            registry: registry,
            {
                $0.maxClients = 3
                $0.placeThresholds = .init(
                    unproven: .milliseconds(50), stuck: .milliseconds(1_500), quiet: .seconds(60))
            }
        ) { agent, path in
            // A subscriber reading every push, and a snapshot of 20,000 tasks (six megabytes) read a
            // chunk every 20 ms: its output never all read for four seconds, but read all along.
            let subscriber = try RawLineClient(path: path)
            _ = try await subscriber.readObject()
            let subscribed = try await subscriber.request(#"{"id":1,"op":"subscribe","interval":0.1}"#)
            #expect((subscribed["result"] as? [String: Any])?["active"] as? Bool == true)
            let streamed = Flag()
            let reading = Task {
                // Pushes read until the stream is done; -1 on any other line (its eviction's).
                try await onOwnThread { () throws -> Int in
                    var pushes = 0
                    while !streamed.isRaised {
                        guard try subscriber.readObject()["summary"] != nil else { return -1 }
                        pushes += 1
                    }
                    return pushes
                }
            }
            let streamer = try RawLineClient(path: path)
            _ = try await streamer.readObject()
            try streamer.send(#"{"id":1,"op":"snapshot","chunk":100}"#)
            let streamStarted = ContinuousClock.now
            let streaming = Task {
                try await onOwnThread { () throws -> Int in
                    var tasks = 0
                    while true {
                        let line = try streamer.readObject()
                        if line["id"] as? Int == 1, let result = line["result"] as? [String: Any] {
                            return result["tasks"] as? Int == tasks ? tasks : -1
                        }
                        tasks += (line["data"] as? [Any])?.count ?? 0
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                }
            }
            // Neither read nor asked: the first newcomer takes its place.
            let silent = try RawLineClient(path: path)
            try await eventually("every place is taken") { agent.clients.current == 3 }
            let first = try RawLineClient(path: path)
            #expect(try await first.request(#"{"id":1,"op":"summary"}"#)["type"] as? String == "hello")
            #expect(try await first.readObject()["id"] as? Int == 1)
            #expect(await silent.isClosedByPeer())
            // Every later one, while the snapshot streams, is refused: nobody else loses a place.
            var lastRefusal = ContinuousClock.now
            while agent.snapshotsStreaming.load(ordering: .relaxed) > 0 {
                let newcomer = try RawLineClient(path: path)
                let error = try #require(try await newcomer.readObject()["error"] as? [String: Any])
                #expect((error["message"] as? String)?.hasSuffix("try again when one has gone") == true)
                lastRefusal = .now
                try await Task.sleep(for: .milliseconds(100))
            }
            // Newcomers kept coming after the streamer had left output unread past the stuck
            // threshold (it never reads everything until its last chunk): it kept its place
            // because it read all along.
            #expect(
                lastRefusal - streamStarted > .milliseconds(1_500),
                "the snapshot streamed in \(lastRefusal - streamStarted)")
            #expect(try await streaming.value == 20_000)
            streamed.raise()
            #expect(try await reading.value > 0)
            #expect(try await first.request(#"{"id":2,"op":"summary"}"#)["id"] as? Int == 2)
        }
    }
}

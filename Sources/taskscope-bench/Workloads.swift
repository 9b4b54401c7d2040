import AsyncAlgorithms
import Foundation
import Synchronization
import TaskScope

/// The workloads measured, each a baseline and its tracked counterpart.
enum Workloads {
    /// Plain awaits against labelled ones, `count` of each per round.
    static func compareWaits(_ count: Int, rounds: Int) async -> Measure.Comparison {
        await Measure.compare(rounds: rounds) {
            _ = await awaitPlain(count)
        } candidate: {
            _ = await awaitLabelled(count)
        }
    }

    @inline(never)
    static func cheap() async -> Int { 1 }

    // MARK: Spawning

    static func spawnPlain(_ count: Int) async {
        for _ in 0..<count { await Task {}.value }
    }

    static func spawnTracked(_ count: Int) async {
        for _ in 0..<count { await Task.tracked("bench") {}.value }
    }

    static func groupPlain(_ count: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<count { group.addTask {} }
        }
    }

    static func groupTracked(_ count: Int) async {
        await withTrackedTaskGroup(of: Void.self) { group in
            for _ in 0..<count { group.addTask("bench-child") {} }
        }
    }

    // MARK: Waits

    static func awaitPlain(_ count: Int) async -> Int {
        var sum = 0
        for _ in 0..<count { sum &+= await cheap() }
        return sum
    }

    static func awaitLabelled(_ count: Int) async -> Int {
        var sum = 0
        for _ in 0..<count { sum &+= await TaskScope.waiting(on: "bench.wait") { await cheap() } }
        return sum
    }

    // MARK: Channels

    /// Unbuffered (`capacity` 0) is AsyncChannel's rendezvous; buffered is what an AsyncStream pair does.
    static func pingPongTracked(_ count: Int, capacity: Int) async throws {
        let (ping, pings) = TrackedChannel<Int>.make(capacity: capacity, name: "ping")
        let (pong, pongs) = TrackedChannel<Int>.make(capacity: capacity, name: "pong")
        let echo = Task {
            while let value = try await pings.receive() { try await pong.send(value) }
        }
        for value in 0..<count {
            try await ping.send(value)
            _ = try await pongs.receive()
        }
        ping.finish()
        try await echo.value
    }

    static func pingPongAsyncChannel(_ count: Int) async {
        let ping = AsyncChannel<Int>()
        let pong = AsyncChannel<Int>()
        let echo = Task {
            for await value in ping { await pong.send(value) }
        }
        var pongs = pong.makeAsyncIterator()
        for value in 0..<count {
            await ping.send(value)
            _ = await pongs.next()
        }
        ping.finish()
        await echo.value
    }

    static func pingPongStreams(_ count: Int) async {
        let (pings, ping) = AsyncStream.makeStream(of: Int.self)
        let (pongs, pong) = AsyncStream.makeStream(of: Int.self)
        let echo = Task {
            for await value in pings { pong.yield(value) }
        }
        var replies = pongs.makeAsyncIterator()
        for value in 0..<count {
            ping.yield(value)
            _ = await replies.next()
        }
        ping.finish()
        await echo.value
    }

    static let producers = 4

    static func fanInTracked(_ count: Int, capacity: Int) async throws {
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: capacity, name: "fan-in")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<producers {
                group.addTask { for value in 0..<(count / producers) { try await sender.send(value) } }
            }
            group.addTask {
                var received = 0
                while received < count / producers * producers, try await receiver.receive() != nil { received += 1 }
            }
            try await group.waitForAll()
        }
    }

    static func fanInAsyncChannel(_ count: Int) async {
        let channel = AsyncChannel<Int>()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<producers {
                group.addTask { for value in 0..<(count / producers) { await channel.send(value) } }
            }
            group.addTask {
                var received = 0
                for await _ in channel {
                    received += 1
                    if received == count / producers * producers { break }
                }
            }
            await group.waitForAll()
        }
    }

    static func fanInStream(_ count: Int) async {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<producers {
                group.addTask { for value in 0..<(count / producers) { continuation.yield(value) } }
            }
            group.addTask {
                var received = 0
                for await _ in stream {
                    received += 1
                    if received == count / producers * producers { break }
                }
            }
            await group.waitForAll()
        }
    }
}

/// Parks tasks until released, for the scale and memory cases; holding a
/// continuation costs the parked task nothing more than its suspension.
final class Parking: Sendable {
    private let parked = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let released = Atomic<Bool>(false)

    func park() async {
        await withCheckedContinuation { continuation in
            let resumeNow = parked.withLock { parked -> Bool in
                if released.load(ordering: .relaxed) { return true }
                parked.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    var count: Int { parked.withLock { $0.count } }

    func releaseAll() {
        released.store(true, ordering: .relaxed)
        let all = parked.withLock { parked in
            defer { parked.removeAll() }
            return parked
        }
        for continuation in all { continuation.resume() }
    }
}

/// `count` live tracked tasks, waiting on eight reasons at four sites.
enum Population {
    static let reasons = [
        "db.query", "http.get", "queue.pop", "lock.acquire", "cache.get", "rpc.call", "disk.read", "sleep",
    ]

    static func spawnTracked(_ count: Int, parking: Parking) {
        for index in 0..<count {
            let reason = reasons[index % reasons.count]
            switch index % 4 {
            case 0: Task.tracked("worker-a") { await TaskScope.waiting(on: reason) { await parking.park() } }
            case 1: Task.tracked("worker-b") { await TaskScope.waiting(on: reason) { await parking.park() } }
            case 2: Task.tracked("worker-c") { await TaskScope.waiting(on: reason) { await parking.park() } }
            default: Task.tracked("worker-d") { await TaskScope.waiting(on: reason) { await parking.park() } }
            }
        }
    }

    static func spawnPlain(_ count: Int, parking: Parking) {
        for _ in 0..<count { Task { await parking.park() } }
    }

    static func waitUntilParked(_ count: Int, parking: Parking) async {
        while parking.count < count { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

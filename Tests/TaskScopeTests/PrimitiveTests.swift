import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct PrimitiveTests {
    private func report(_ name: String) -> ResourceInfo? {
        TaskScope.registry.resources.reports(TaskScope.registry.reportContext()).first { $0.name == name }
    }

    private func waitReason(of taskName: String) -> String? {
        TaskScope.registry.records { $0.name == taskName }.first.flatMap { TaskScope.registry.info($0).wait }
    }

    @Test func aSemaphoreBoundsConcurrencyAndRecordsItsWaits() async throws {
        let name = "pool-\(UInt64.random(in: 0...UInt64.max))"
        let pool = TrackedSemaphore(permits: 3, name: name)
        let counters = Counters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<30 {
                group.addTask {
                    try await Task.tracked("pool-user-\(index)") {
                        try await pool.withPermit {
                            let now = counters.running.wrappingAdd(1, ordering: .relaxed).newValue
                            _ = counters.peak.max(now, ordering: .relaxed)
                            try await Task.sleep(for: .milliseconds(2))
                            counters.running.wrappingSubtract(1, ordering: .relaxed)
                        }
                    }.value
                }
            }
            try await group.waitForAll()
        }
        let highest = counters.peak.load(ordering: .relaxed)
        #expect(highest <= 3)
        #expect(highest >= 1)
        #expect(pool.availablePermits == 3)
        #expect(report(name)?.holders == [])

        // A waiter shows as `semaphore` and is released on cancellation without taking a permit.
        try await pool.acquire()
        try await pool.acquire()
        try await pool.acquire()
        let blocked = Task.tracked("pool-blocked") { try await pool.acquire() }
        try await eventually("the waiter blocks") { waitReason(of: "pool-blocked") == WaitReason.semaphore }
        #expect(report(name)?.waiting == 1)
        #expect(report(name)?.state == "exhausted")
        blocked.cancel()
        await #expect(throws: CancellationError.self) { try await blocked.value }
        pool.release()
        #expect(pool.availablePermits == 1)
        pool.release()
        pool.release()
        #expect(pool.availablePermits == 3)
        #expect(report(name)?.signals == 0)
        pool.release()  // one too many: counted, as DispatchSemaphore and Go count it, as a signal
        #expect(pool.availablePermits == 4)
        #expect(report(name)?.signals == 1)
    }

    @Test func aTickerTicksUntilStoppedAndRecordsTimerWaits() async throws {
        let name = "ticker-\(UInt64.random(in: 0...UInt64.max))"
        let ticker = TrackedTicker(every: .milliseconds(5), name: name)
        var ticks = 0
        for try await count in ticker.ticks() {
            ticks = count
            if count == 3 { break }
        }
        #expect(ticks == 3)
        #expect(report(name)?.state == "armed")
        let slow = TrackedTicker(every: .seconds(60), name: "\(name)-slow")
        let waiter = Task.tracked("ticker-waiter-\(name)") { try await slow.tick() }
        try await eventually("the waiter waits on the ticker") { waitReason(of: "ticker-waiter-\(name)") == "timer" }
        #expect(report("\(name)-slow")?.waiting == 1)
        slow.stop()
        #expect(try await waiter.value == false)  // woken at once, not after a minute
        #expect(report("\(name)-slow")?.state == "stopped")
        #expect(try await slow.tick() == false)
        ticker.stop()
    }

    @Test func aTimerFiresOnceOrIsCancelled() async throws {
        let fires = TrackedTimer(after: .milliseconds(5), name: "fires")
        #expect(try await fires.wait() == true)
        #expect(!fires.isArmed)
        let cancelled = TrackedTimer(after: .seconds(60), name: "cancelled-timer")
        #expect(cancelled.isArmed)
        let waiter = Task { try await cancelled.wait() }
        try await eventually("the waiter waits") { report("cancelled-timer")?.waiting == 1 }
        cancelled.cancel()
        #expect(try await waiter.value == false)
        #expect(report("cancelled-timer")?.state == "cancelled")
    }

    @Test func aTickerHandedOverHasANewOwner() async throws {
        let name = "handed-\(UInt64.random(in: 0...UInt64.max))"
        let ticker = await Task.tracked("creator-\(name)") {
            TrackedTicker(every: .milliseconds(100), name: name)
        }.value
        let creator = try #require(report(name)?.owner)
        // Its creator has finished, it is armed, and nobody has waited on it for three periods.
        try await eventually("orphaned") { report(name)?.orphaned == true }
        let keeper = Task.tracked("keeper-\(name)") {
            ticker.handOver()
            return TaskScope.currentTaskID
        }
        let keeperID = try #require(await keeper.value)
        #expect(keeperID != creator)
        #expect(report(name)?.owner == keeperID)
        ticker.stop()
        #expect(report(name)?.orphaned == false)
    }

    @Test func aContinuationResumesOnceAndShowsWhilePending() async throws {
        let name = "callback-\(UInt64.random(in: 0...UInt64.max))"
        let holder = Mutex<TrackedContinuation<Int, Never>?>(nil)
        let waiter = Task.tracked("continuation-waiter-\(name)") {
            await withTrackedContinuation(name) { continuation in holder.withLock { $0 = continuation } }
        }
        try await eventually("the continuation is pending") { report(name)?.state == "pending" }
        #expect(waitReason(of: "continuation-waiter-\(name)") == WaitReason.continuation)
        let continuation = try #require(holder.withLock { $0 })
        continuation.resume(returning: 1)
        continuation.resume(returning: 2)  // ignored
        #expect(await waiter.value == 1)
        #expect(continuation.isResumed)
        #expect(report(name)?.state == "resumed")
        holder.withLock { $0 = nil }
    }

    @Test func anUntrackedGroupOwnerIsAdoptedOnceForTheGroupsLife() async throws {
        let name = "untracked-owner-\(UInt64.random(in: 0...UInt64.max))"
        // Each child waits for its own gate, so the owner waits in next() twice.
        let (first, openFirst) = AsyncStream.makeStream(of: Void.self)
        let (second, openSecond) = AsyncStream.makeStream(of: Void.self)
        let (tookFirst, signalTookFirst) = AsyncStream.makeStream(of: Void.self)
        let owner = Task(name: name) {
            await withTrackedTaskGroup(of: Int.self) { group in
                group.addTask("first-child-of-\(name)") {
                    for await _ in first {}
                    return 1
                }
                group.addTask("second-child-of-\(name)") {
                    for await _ in second {}
                    return 2
                }
                var sum = 0
                while let value = await group.next() {
                    sum += value
                    signalTookFirst.finish()  // between its two waits
                }
                return sum
            }
        }
        func adoptedOwner() -> TaskRecord? {
            TaskScope.registry.records { $0.adopted && $0.name == name && $0.state != .finished }.first
        }
        try await eventually("the untracked owner waits for its group") {
            adoptedOwner()?.wait?.reason == WaitReason.groupNext
        }
        let firstWait = try #require(adoptedOwner()?.id)
        openFirst.finish()
        for await _ in tookFirst {}
        // Past its first wait: any wait seen now is the second.
        try await eventually("the owner waits again") { adoptedOwner()?.wait?.reason == WaitReason.groupNext }
        // The same adopted record for both waits, not one made per next().
        #expect(adoptedOwner()?.id == firstWait)
        #expect(TaskScope.registry.records { $0.adopted && $0.name == name && $0.state != .finished }.count == 1)
        openSecond.finish()
        #expect(await owner.value == 3)
        // The adoption ends with the group.
        try await eventually("the adopted owner is gone") { adoptedOwner() == nil }
    }

    @Test func theChildrenLeftAtTheEndOfAGroupAreAwaitedAsOneWaitAtTheCallersLine() async throws {
        let name = "drainer-\(UInt64.random(in: 0...UInt64.max))"
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let drainLine = #line + 2
        let owner = Task.tracked(name) {
            await withTrackedTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask("drained-child-\(name)") { for await _ in gate {} }
                }
            }
        }
        try await eventually("the owner waits for the children it left") {
            waitReason(of: name) == WaitReason.groupNext
        }
        let record = try #require(TaskScope.registry.records { $0.name == name }.first)
        let info = TaskScope.registry.info(record)
        #expect(info.waitSite == SourceSite(file: #fileID, line: drainLine))
        open.finish()
        await owner.value
        #expect(TaskScope.registry.info(record).state == .finished)
        #expect(TaskScope.registry.records { $0.name == "drained-child-\(name)" && $0.state != .finished }.isEmpty)
    }

    @Test func joinsAndGroupWaitsAreRecorded() async throws {
        let name = "joiner-\(UInt64.random(in: 0...UInt64.max))"
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let child = Task.tracked("joined-\(name)") { for await _ in gate {} }
        let joiner = Task.tracked(name) { await child.join() }
        try await eventually("the joiner shows task.join") { waitReason(of: name) == WaitReason.taskJoin }

        let groupName = "grouper-\(name)"
        let (groupGate, openGroup) = AsyncStream.makeStream(of: Void.self)
        let grouper = Task.tracked(groupName) {
            await withTrackedTaskGroup(of: Int.self) { group in
                for index in 0..<3 {
                    group.addTask("group-child-\(name)") {
                        for await _ in groupGate {}
                        return index
                    }
                }
                var sum = 0
                while let value = await group.next() { sum += value }
                return sum
            }
        }
        try await eventually("the group waits") { waitReason(of: groupName) == WaitReason.groupNext }
        let grouperID = try #require(TaskScope.registry.records { $0.name == groupName }.first?.id)
        let children = TaskScope.registry.records { $0.name == "group-child-\(name)" }
        #expect(children.count == 3)
        #expect(children.allSatisfy { $0.parentID == grouperID })
        open.finish()
        openGroup.finish()
        await joiner.value
        #expect(await grouper.value == 3)

        struct ChildFailed: Error {}
        let throwing = Task.tracked("throwing-grouper-\(name)") {
            try await withThrowingTrackedTaskGroup(of: Int.self) { group in
                group.addTask("throwing-child-\(name)") { 1 }
                group.addTask("failing-child-\(name)") { throw ChildFailed() }
                var sum = 0
                while let value = try await group.next() { sum += value }
                return sum
            }
        }
        await #expect(throws: ChildFailed.self) { try await throwing.value }
        let failing = try #require(TaskScope.registry.records { $0.name == "failing-child-\(name)" }.first)
        #expect(TaskScope.registry.info(failing).outcome == .failed)
        #expect(failing.parentID == TaskScope.registry.records { $0.name == "throwing-grouper-\(name)" }.first?.id)
    }
}

/// Counters shared by concurrent test tasks.
final class Counters: Sendable {
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

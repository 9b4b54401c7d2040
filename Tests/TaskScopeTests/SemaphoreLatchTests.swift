import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope

/// `release()` counts as `DispatchSemaphore.signal()` and Go's release do, and the holder
/// bookkeeping follows who really holds a permit.
@Suite(.timeLimit(.minutes(2))) struct SemaphoreLatchTests {
    @Test func aSemaphoreWithNoPermitsIsALatch() async throws {
        let name = RuleProbe.unique("latch")
        let latch = TrackedSemaphore(permits: 0, name: name)
        let waiterName = RuleProbe.unique("latch-waiter")
        let waiter = Task.tracked(waiterName) { try await latch.acquire() }
        try await eventually("the waiter blocks") { RuleProbe.report(name)?.waiting == 1 }
        let signaller = Task.tracked(RuleProbe.unique("latch-signaller")) { latch.release() }
        await signaller.value
        try await waiter.value  // hangs (and the time limit fails the test) if the release is ignored
        let report = try #require(RuleProbe.report(name))
        #expect(report.signals == 1)
        #expect(report.waiting == 0)
        #expect(report.holders == [try #require(RuleProbe.taskID(named: waiterName))])
        #expect(latch.availablePermits == 0)
    }

    @Test func aReleaseWithNobodyWaitingAddsAPermit() async throws {
        let name = RuleProbe.unique("signal")
        let semaphore = TrackedSemaphore(permits: 0, name: name)
        await Task.tracked(RuleProbe.unique("signaller")) { semaphore.release() }.value
        #expect(semaphore.availablePermits == 1)
        try await semaphore.acquire()  // does not wait: the signal is kept
        #expect(semaphore.availablePermits == 0)
        #expect(RuleProbe.report(name)?.signals == 1)
    }

    @Test func acquireReleasePairsLeaveNoHolderAndNoSignal() async throws {
        let name = RuleProbe.unique("pairs")
        let semaphore = TrackedSemaphore(permits: 2, name: name)
        let first = RuleProbe.unique("holder-a")
        let second = RuleProbe.unique("holder-b")
        let holdA = TrackedSemaphore(permits: 0, name: RuleProbe.unique("hold-a"))
        let a = Task.tracked(first) {
            try await semaphore.acquire()
            try await holdA.acquire()
            semaphore.release()
        }
        let b = Task.tracked(second) {
            try await semaphore.acquire()
            semaphore.release()
        }
        try await b.value
        try await eventually("a holds its permit") { RuleProbe.report(name)?.holders?.count == 1 }
        let idA = try #require(RuleProbe.taskID(named: first))
        #expect(RuleProbe.report(name)?.holders == [idA], "b's release struck b, not a, off the holders")
        holdA.release()
        try await a.value
        let report = try #require(RuleProbe.report(name))
        #expect(report.holders == [])
        #expect(report.signals == 0)
        #expect(semaphore.availablePermits == 2)
    }

    @Test func aReleaseByANonHolderIsASignalAndLeavesTheHolderListed() async throws {
        let name = RuleProbe.unique("handed")
        let semaphore = TrackedSemaphore(permits: 1, name: name)
        let holderName = RuleProbe.unique("permit-taker")
        try await Task.tracked(holderName) { try await semaphore.acquire() }.value
        await Task.tracked(RuleProbe.unique("permit-returner")) { semaphore.release() }.value
        let report = try #require(RuleProbe.report(name))
        #expect(report.signals == 1)
        #expect(report.holders == [try #require(RuleProbe.taskID(named: holderName))])
        #expect(report.finishedHolders == report.holders)
        #expect(semaphore.availablePermits == 1)
    }
}

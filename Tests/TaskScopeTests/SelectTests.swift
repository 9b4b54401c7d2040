import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// `trackedSelect` over tracked channels, and `trySend` / `tryReceive`.
@Suite(.timeLimit(.minutes(2))) struct SelectTests {
    private static func channel(
        _ base: String, capacity: Int = 0
    ) -> (
        TrackedSender<Int>, TrackedReceiver<Int>, String
    ) {
        let name = RuleProbe.unique(base)
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: capacity, name: name)
        return (sender, receiver, name)
    }

    @Test func aReadyReceiveCaseFires() async throws {
        let (_, a, _) = Self.channel("sel-a", capacity: 1)
        let (bSender, b, _) = Self.channel("sel-b", capacity: 1)
        try await bSender.send(7)
        let got = try await trackedSelect { select in
            select.receive(from: a) { "a \(String(describing: $0))" }
            select.receive(from: b) { "b \(String(describing: $0))" }
        }
        #expect(got == "b Optional(7)")
    }

    @Test func aSendCaseFiresForAWaitingReceiver() async throws {
        let (sender, receiver, name) = Self.channel("sel-send")
        let (_, other, _) = Self.channel("sel-idle")
        let consumer = Task.tracked(RuleProbe.unique("sel-consumer")) { try await receiver.receive() }
        try await eventually("the receiver waits") { RuleProbe.report(name)?.blockedReceiving == 1 }
        let got = try await trackedSelect { select in
            select.receive(from: other) { _ in "received" }
            select.send(5, to: sender) { "sent" }
        }
        #expect(got == "sent")
        #expect(try await consumer.value == 5)
    }

    @Test func aBlockedSelectTakesTheFirstCaseToFireAndWithdrawsTheOthers() async throws {
        let (aSender, a, aName) = Self.channel("sel-wait-a")
        let (bSender, b, bName) = Self.channel("sel-wait-b")
        let taskName = RuleProbe.unique("sel-waiter")
        let waiter = Task.tracked(taskName) {
            try await trackedSelect { select in
                select.receive(from: a) { "a \($0 ?? -1)" }
                select.receive(from: b) { "b \($0 ?? -1)" }
            }
        }
        try await eventually("the select waits on both channels") {
            RuleProbe.report(aName)?.blockedReceiving == 1 && RuleProbe.report(bName)?.blockedReceiving == 1
        }
        #expect(RuleProbe.waitReason(of: taskName) == WaitReason.select)
        let id = try #require(RuleProbe.taskID(named: taskName))
        #expect(RuleProbe.report(aName)?.blockedReceivingIDs == [id])
        try await bSender.send(3)
        #expect(try await waiter.value == "b 3")
        #expect(RuleProbe.report(aName)?.blockedReceiving == 0)
        // The withdrawn case took nothing: a later value on `a` is still there for a receiver.
        #expect(try aSender.trySend(1) == false)
    }

    @Test func aTimeoutFiresWhenNothingElseDoes() async throws {
        let (_, a, aName) = Self.channel("sel-timeout")
        let got = try await trackedSelect { select in
            select.receive(from: a) { _ in "a" }
            select.timeout(.milliseconds(50)) { "timeout" }
        }
        #expect(got == "timeout")
        #expect(RuleProbe.report(aName)?.blockedReceiving == 0)
    }

    @Test func aDefaultIsTakenOnlyWhenNoCaseIsReady() async throws {
        let (sender, a, aName) = Self.channel("sel-default", capacity: 1)
        let empty = try await trackedSelect { select in
            select.receive(from: a) { _ in "a" }
            select.default { "default" }
        }
        #expect(empty == "default")
        #expect(RuleProbe.report(aName)?.blockedReceiving == 0)
        try await sender.send(1)
        let ready = try await trackedSelect { select in
            select.receive(from: a) { "a \($0 ?? -1)" }
            select.default { "default" }
        }
        #expect(ready == "a 1")
    }

    @Test func aFinishedChannelFiresItsReceiveCaseWithNil() async throws {
        let (sender, a, _) = Self.channel("sel-finished")
        sender.finish()
        let got = try await trackedSelect { select in
            select.receive(from: a) { $0 == nil ? "finished" : "value" }
        }
        #expect(got == "finished")
        await #expect(throws: TrackedChannelError.self) {
            try await trackedSelect { select in select.send(1, to: sender) { () } }
        }
    }

    @Test func aCancelledSelectThrowsAndLeavesNoWaiter() async throws {
        let (_, a, aName) = Self.channel("sel-cancel")
        let waiter = Task.tracked(RuleProbe.unique("sel-cancelled")) {
            try await trackedSelect { select in select.receive(from: a) { _ in () } }
        }
        try await eventually("the select waits") { RuleProbe.report(aName)?.blockedReceiving == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(RuleProbe.report(aName)?.blockedReceiving == 0)
    }

    /// Producers select over two unbuffered channels, a consumer selects over both: every value
    /// is delivered exactly once, whichever pair of cases meets.
    @Test func everyValueIsDeliveredExactlyOnce() async throws {
        let (aSender, a, _) = Self.channel("sel-many-a")
        let (bSender, b, _) = Self.channel("sel-many-b")
        let perProducer = 200
        let producers = 4
        let received = Mutex<[Int]>([])
        let consumer = Task.tracked(RuleProbe.unique("sel-many-consumer")) {
            for _ in 0..<(perProducer * producers) {
                let value = try await trackedSelect { select in
                    select.receive(from: a) { $0 ?? -1 }
                    select.receive(from: b) { $0 ?? -1 }
                }
                received.withLock { $0.append(value) }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for index in 0..<perProducer {
                        let value = producer * perProducer + index
                        if index % 3 == 0 {
                            try await aSender.send(value)
                        } else {
                            try await trackedSelect { select in
                                select.send(value, to: aSender) { () }
                                select.send(value, to: bSender) { () }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await consumer.value
        let values = received.withLock { $0 }.sorted()
        #expect(values == Array(0..<(perProducer * producers)))
        #expect(a.tryReceive() == .empty)
        #expect(b.tryReceive() == .empty)
    }

    @Test func trySendAndTryReceiveNeverWait() async throws {
        let (sender, receiver, _) = Self.channel("sel-try", capacity: 1)
        #expect(receiver.tryReceive() == .empty)
        #expect(try sender.trySend(1))
        #expect(try sender.trySend(2) == false)  // full
        #expect(receiver.tryReceive() == .value(1))
        sender.finish()
        #expect(receiver.tryReceive() == .finished)
        #expect(throws: TrackedChannelError.self) { try sender.trySend(3) }

        // A waiting receiver takes a value sent without waiting.
        let (rendezvous, inbox, name) = Self.channel("sel-try-rendezvous")
        #expect(try rendezvous.trySend(1) == false)  // nobody receives: it would wait
        let consumer = Task.tracked(RuleProbe.unique("sel-try-consumer")) { try await inbox.receive() }
        try await eventually("the receiver waits") { RuleProbe.report(name)?.blockedReceiving == 1 }
        #expect(try rendezvous.trySend(9))
        #expect(try await consumer.value == 9)
    }

    // MARK: orphaned-channel

    /// A select without default or timeout over channels whose senders are all gone waits forever.
    @Test func aSelectBlockedOnOrphanedChannelsIsReported() async throws {
        let taskName = RuleProbe.unique("sel-orphan")
        let aName = RuleProbe.unique("sel-orphan-a")
        let bName = RuleProbe.unique("sel-orphan-b")
        func start() -> Task<Void, any Error> {
            let (_, a) = TrackedChannel<Int>.make(capacity: 0, name: aName)
            let (_, b) = TrackedChannel<Int>.make(capacity: 0, name: bName)
            return Task.tracked(taskName) {
                try await trackedSelect { select in
                    select.receive(from: a) { _ in () }
                    select.receive(from: b) { _ in () }
                }
            }
        }
        let stuck = start()
        try await eventually("orphaned-channel fires") {
            RuleProbe.warnings(about: aName).contains { $0.rule == .orphanedChannel }
        }
        let warning = try #require(RuleProbe.warnings(about: aName).first { $0.rule == .orphanedChannel })
        #expect(warning.severity == .definite)
        #expect(warning.taskIDs == [try #require(RuleProbe.taskID(named: taskName))])
        stuck.cancel()
        _ = try? await stuck.value
    }

    /// The same select with a timeout does not wait forever: nothing is reported while it waits.
    @Test func aSelectWithATimeoutOnOrphanedChannelsIsNotReported() async throws {
        let taskName = RuleProbe.unique("sel-timeout-orphan")
        let aName = RuleProbe.unique("sel-timeout-orphan-a")
        let gate = TrackedSemaphore(permits: 0, name: RuleProbe.unique("sel-timeout-gate"))
        func start() -> Task<String, any Error> {
            let (_, a) = TrackedChannel<Int>.make(capacity: 0, name: aName)
            return Task.tracked(taskName) {
                let got = try await trackedSelect { select in
                    select.receive(from: a) { _ in "value" }
                    select.timeout(.seconds(600)) { "timeout" }
                }
                try await gate.acquire()
                return got
            }
        }
        let waiter = start()
        try await eventually("the select waits") { RuleProbe.report(aName)?.blockedReceiving == 1 }
        #expect(RuleProbe.report(aName)?.senders == 0)
        #expect(RuleProbe.report(aName)?.orphaned == false)
        let id = try #require(RuleProbe.taskID(named: taskName))
        #expect(RuleProbe.warnings(about: aName, tasks: [id]).isEmpty)
        waiter.cancel()
        gate.release()
        _ = try? await waiter.value
    }

    /// One orphaned channel among live ones is no proof: another case may still fire.
    @Test func aSelectWithOneLiveChannelIsNotReported() async throws {
        let taskName = RuleProbe.unique("sel-half-orphan")
        let aName = RuleProbe.unique("sel-half-orphan-a")
        let (bSender, b, _) = Self.channel("sel-half-live")
        func start() -> Task<String, any Error> {
            let (_, a) = TrackedChannel<Int>.make(capacity: 0, name: aName)
            return Task.tracked(taskName) {
                try await trackedSelect { select in
                    select.receive(from: a) { _ in "a" }
                    select.receive(from: b) { _ in "b" }
                }
            }
        }
        let waiter = start()
        try await eventually("the select waits") { RuleProbe.report(aName)?.blockedReceiving == 1 }
        #expect(RuleProbe.report(aName)?.orphaned == false)
        let id = try #require(RuleProbe.taskID(named: taskName))
        #expect(RuleProbe.warnings(about: aName, tasks: [id]).isEmpty)
        try await bSender.send(1)
        #expect(try await waiter.value == "b")
    }
}

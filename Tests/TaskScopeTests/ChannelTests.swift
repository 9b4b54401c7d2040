import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct ChannelTests {
    private func report(_ channelName: String) -> ResourceInfo? {
        TaskScope.registry.resources.reports(TaskScope.registry.reportContext()).first { $0.name == channelName }
    }

    /// Many senders and receivers: every value arrives exactly once, and each
    /// receiver sees each sender's values in the order they were sent.
    @Test(arguments: [0, 1, 16])
    func everyValueIsReceivedOnceInOrderPerSender(capacity: Int) async throws {
        let senders = 8
        let perSender = 400
        let receivers = 4
        let (sender, receiver) = TrackedChannel<(sender: Int, sequence: Int)>.make(
            capacity: capacity, name: "many-\(capacity)")
        let received = try await withThrowingTaskGroup(of: [(sender: Int, sequence: Int)].self) { group in
            for _ in 0..<receivers {
                group.addTask {
                    var seen: [(sender: Int, sequence: Int)] = []
                    for try await value in receiver.receiving() { seen.append(value) }
                    return seen
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { producers in
                for index in 0..<senders {
                    producers.addTask {
                        for sequence in 0..<perSender { try await sender.send((index, sequence)) }
                    }
                }
                try await producers.waitForAll()
            }
            sender.finish()
            var all: [[(sender: Int, sequence: Int)]] = []
            for try await seen in group { all.append(seen) }
            return all
        }
        let everything = received.flatMap { $0 }
        #expect(everything.count == senders * perSender)
        let unique = Set(everything.map { $0.sender * perSender + $0.sequence })
        #expect(unique.count == senders * perSender)
        for seen in received {
            for index in 0..<senders {
                let sequence = seen.filter { $0.sender == index }.map(\.sequence)
                #expect(sequence == sequence.sorted(), "receiver saw sender \(index) out of order")
            }
        }
    }

    @Test func anUnbufferedSendWaitsForAReceiver() async throws {
        let name = "rendezvous-\(UInt64.random(in: 0...UInt64.max))"
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: name)
        let sent = Atomic<Bool>(false)
        let task = Task.tracked("rendezvous-sender") {
            try await sender.send(1)
            sent.store(true, ordering: .relaxed)
        }
        try await eventually("the sender blocks") { report(name)?.blockedSending == 1 }
        let sentEarly = sent.load(ordering: .relaxed)
        #expect(!sentEarly)
        let resourceID = report(name)?.id
        let candidates = TaskScope.registry.records {
            $0.name == "rendezvous-sender" && $0.wait?.resource == resourceID
        }
        let waiting = try #require(candidates.first)
        #expect(TaskScope.registry.info(waiting).wait == WaitReason.channelSend)
        #expect(TaskScope.registry.info(waiting).resource == report(name)?.id)
        #expect(try await receiver.receive() == 1)
        try await task.value
        let sentLate = sent.load(ordering: .relaxed)
        #expect(sentLate)
        #expect(report(name)?.blockedSending == 0)
    }

    @Test func aBufferedChannelHoldsUpToItsCapacity() async throws {
        let name = "buffered-\(UInt64.random(in: 0...UInt64.max))"
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 2, name: name)
        try await sender.send(1)
        try await sender.send(2)
        #expect(report(name)?.buffered == 2)
        let third = Task.tracked("third") { try await sender.send(3) }
        try await eventually("the third send blocks") { report(name)?.blockedSending == 1 }
        #expect(try await receiver.receive() == 1)
        try await third.value
        #expect(try await receiver.receive() == 2)
        #expect(try await receiver.receive() == 3)
        #expect(report(name)?.buffered == 0)
    }

    @Test func finishWakesEveryWaiterAndKeepsBufferedValues() async throws {
        let (idleSender, idleReceiver) = TrackedChannel<Int>.make(capacity: 0, name: "finish-receivers")
        let receivers = (0..<5).map { _ in Task { try await idleReceiver.receive() } }
        try await eventually("five receivers block") { report("finish-receivers")?.blockedReceiving == 5 }
        idleSender.finish()
        for receiver in receivers { #expect(try await receiver.value == nil) }

        let (busySender, busyReceiver) = TrackedChannel<Int>.make(capacity: 0, name: "finish-senders")
        let senders = (0..<5).map { index in Task { try await busySender.send(index) } }
        try await eventually("five senders block") { report("finish-senders")?.blockedSending == 5 }
        busyReceiver.finish()
        for sender in senders {
            await #expect(throws: TrackedChannelError.finished(channel: "finish-senders")) { try await sender.value }
        }

        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 3, name: "finish-buffered")
        try await sender.send(1)
        try await sender.send(2)
        sender.finish()
        await #expect(throws: TrackedChannelError.finished(channel: "finish-buffered")) { try await sender.send(3) }
        #expect(try await receiver.receive() == 1)
        #expect(try await receiver.receive() == 2)
        #expect(try await receiver.receive() == nil)
        #expect(try await receiver.receive() == nil)
        #expect(TrackedChannelError.finished(channel: "x").description == "send on finished channel \"x\"")
    }

    @Test func cancellationWakesABlockedSenderOrReceiver() async throws {
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "cancel-both")
        let receiving = Task { try await receiver.receive() }
        try await eventually("the receiver blocks") { report("cancel-both")?.blockedReceiving == 1 }
        receiving.cancel()
        await #expect(throws: CancellationError.self) { try await receiving.value }
        #expect(report("cancel-both")?.blockedReceiving == 0)

        let sending = Task { try await sender.send(1) }
        try await eventually("the sender blocks") { report("cancel-both")?.blockedSending == 1 }
        sending.cancel()
        await #expect(throws: CancellationError.self) { try await sending.value }
        #expect(report("cancel-both")?.blockedSending == 0)

        // A task cancelled before it waits does not wait at all.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await receiver.receive()
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test func endpointsAreCountedAndTheChannelGoesWithThem() async throws {
        let name = "endpoints-\(UInt64.random(in: 0...UInt64.max))"
        func makeAndDropTheSender() -> TrackedReceiver<Int> {
            let (sender, receiver) = TrackedChannel<Int>.make(capacity: 1, name: name)
            #expect(report(name)?.senders == 1)
            #expect(report(name)?.receivers == 1)
            #expect(sender.name == name)
            return receiver
        }
        do {
            let receiver = makeAndDropTheSender()
            #expect(report(name)?.senders == 0)
            #expect(report(name)?.sendersGoneAt != nil)
            #expect(report(name)?.receivers == 1)
            #expect(receiver.name == name)
        }
        // Gone with its endpoints; a report running at that moment in another test holds it a moment longer.
        try await eventually("the channel leaves the registry") { report(name) == nil }
    }

    @Test func anUntrackedTaskBlockedOnAChannelIsAdopted() async throws {
        let name = "adopt-\(UInt64.random(in: 0...UInt64.max))"
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: name)
        let plain = Task(name: "plain-consumer") { try await receiver.receive() }
        try await eventually("the plain task shows") {
            TaskScope.registry.records { $0.adopted && $0.name == "plain-consumer" }.count == 1
        }
        let adopted = try #require(TaskScope.registry.records { $0.adopted && $0.name == "plain-consumer" }.first)
        let info = TaskScope.registry.info(adopted)
        #expect(info.adopted == true)
        #expect(info.state == .waiting)
        #expect(info.wait == WaitReason.channelReceive)
        #expect(report(name)?.blockedReceivingIDs == [adopted.id])
        try await sender.send(5)
        #expect(try await plain.value == 5)
        // Once its wait ends, an adopted task is no longer shown, and it counted in no total.
        #expect(TaskScope.registry.liveRecord(id: adopted.id) == nil)
    }
}

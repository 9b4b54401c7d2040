import Dispatch
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// A serial executor on a dispatch queue that can tell, without trapping, whether the
/// current code runs on it: an actor on it shows where a body really ran.
private final class QueueExecutor: SerialExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "taskscope.parity")
    private let key = DispatchSpecificKey<Int>()

    init() { queue.setSpecific(key: key, value: 1) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == 1 }
}

/// An actor whose methods run the same program through a tracked primitive and its standard
/// counterpart, recording whether each body ran on the actor.
private actor Probe {
    let executor = QueueExecutor()
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    var mutations = 0
    private var pending: TrackedContinuation<Int, Never>?
    private(set) var signalAttempted = false
    private(set) var signalFoundWaiter = false

    func trackedContinuationBodyIsOnActor() async -> Bool {
        await withTrackedContinuation("parity-isolation") { continuation in
            mutations += 1
            continuation.resume(returning: executor.isCurrent)
        }
    }

    func checkedContinuationBodyIsOnActor() async -> Bool {
        await withCheckedContinuation { continuation in
            mutations += 1
            continuation.resume(returning: executor.isCurrent)
        }
    }

    func trackedThrowingContinuationBodyIsOnActor() async throws -> Bool {
        try await withTrackedThrowingContinuation("parity-throwing-isolation") { continuation in
            mutations += 1
            continuation.resume(returning: executor.isCurrent)
        }
    }

    func checkedThrowingContinuationBodyIsOnActor() async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            mutations += 1
            continuation.resume(returning: executor.isCurrent)
        }
    }

    /// The condition-variable pattern: the continuation is stored by the body and resumed by
    /// the next job on the actor, which must find it.
    func waitForSignalFromTheActor() async -> Int {
        Task { signal(5) }
        return await withTrackedContinuation("parity-condition") { continuation in pending = continuation }
    }

    @discardableResult
    func signal(_ value: Int) -> Bool {
        signalAttempted = true
        guard let waiter = pending else { return false }
        pending = nil
        signalFoundWaiter = true
        waiter.resume(returning: value)
        return true
    }

    func trackedGroupBodyIsOnActor() async -> Bool {
        await withTrackedTaskGroup(of: Void.self) { _ in
            mutations += 1
            return executor.isCurrent
        }
    }

    func standardGroupBodyIsOnActor() async -> Bool {
        await withTaskGroup(of: Void.self) { _ in
            mutations += 1
            return executor.isCurrent
        }
    }

    func trackedThrowingGroupBodyIsOnActor() async throws -> Bool {
        try await withThrowingTrackedTaskGroup(of: Void.self) { _ in
            try Task.checkCancellation()
            mutations += 1
            return executor.isCurrent
        }
    }

    func standardThrowingGroupBodyIsOnActor() async throws -> Bool {
        try await withThrowingTaskGroup(of: Void.self) { _ in
            try Task.checkCancellation()
            mutations += 1
            return executor.isCurrent
        }
    }

    func waitingBodyIsOnActor() async -> Bool {
        await TaskScope.waiting(on: "parity-waiting") {
            mutations += 1
            return executor.isCurrent
        }
    }

    func permitBodyIsOnActor() async throws -> Bool {
        try await TrackedSemaphore(permits: 1, name: "parity-permit").withPermit {
            mutations += 1
            return executor.isCurrent
        }
    }

    func trackedTaskIsOnActor() async -> Bool {
        await Task.tracked("parity-task") {
            self.mutations += 1
            return self.executor.isCurrent
        }.value
    }

    func plainTaskIsOnActor() async -> Bool {
        await Task {
            self.mutations += 1
            return self.executor.isCurrent
        }.value
    }
}

/// What a program came to: its value, or the type of the error it threw.
private func outcome<T: Sendable & CustomStringConvertible>(_ body: () async throws -> T) async -> String {
    do {
        return "value \(try await body())"
    } catch {
        return "error \(type(of: error))"
    }
}

private struct Boom: Error {}

/// Each tracked primitive against its standard counterpart, on the same program: the same
/// results, the same errors, the same cancellation, and bodies run on the same actor.
@Suite(.timeLimit(.minutes(2))) struct PrimitiveParityTests {
    // MARK: Isolation

    @Test func continuationBodiesRunOnTheCallersActor() async throws {
        let probe = Probe()
        #expect(await probe.checkedContinuationBodyIsOnActor())
        #expect(await probe.trackedContinuationBodyIsOnActor())
        #expect(try await probe.checkedThrowingContinuationBodyIsOnActor())
        #expect(try await probe.trackedThrowingContinuationBodyIsOnActor())
        #expect(await probe.mutations == 4)
    }

    @Test func aConditionVariableOnAnActorFindsItsWaiter() async throws {
        for _ in 0..<5 {
            let probe = Probe()
            let waiter = Task { await probe.waitForSignalFromTheActor() }
            try await eventually("the actor signals") { await probe.signalAttempted }
            let found = await probe.signalFoundWaiter
            #expect(found, "the resume ran on the actor before the body stored the continuation")
            if !found {
                try await eventually("a late signal finds the waiter") { await probe.signal(5) }
            }
            #expect(await waiter.value == 5)
        }
    }

    @Test func groupAndWaitBodiesRunOnTheCallersActor() async throws {
        let probe = Probe()
        #expect(await probe.standardGroupBodyIsOnActor())
        #expect(await probe.trackedGroupBodyIsOnActor())
        #expect(try await probe.standardThrowingGroupBodyIsOnActor())
        #expect(try await probe.trackedThrowingGroupBodyIsOnActor())
        #expect(await probe.waitingBodyIsOnActor())
        #expect(try await probe.permitBodyIsOnActor())
        #expect(await probe.plainTaskIsOnActor())
        #expect(await probe.trackedTaskIsOnActor())
    }

    // MARK: Throwing task groups

    @Test func aThrowingGroupThatTakesTheFirstOfARaceReturnsNormally() async throws {
        let standard = await outcome {
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    try await Task.sleep(for: .seconds(600))
                    return 1
                }
                group.addTask { 2 }
                let first = try await group.next() ?? 0
                group.cancelAll()
                return first
            }
        }
        let tracked = await outcome {
            try await withThrowingTrackedTaskGroup(of: Int.self) { group in
                group.addTask("parity-loser") {
                    try await Task.sleep(for: .seconds(600))
                    return 1
                }
                group.addTask("parity-winner") { 2 }
                let first = try await group.next() ?? 0
                group.cancelAll()
                return first
            }
        }
        #expect(standard == "value 2")
        #expect(tracked == standard)
    }

    @Test func aThrowingGroupDiscardsTheErrorsOfChildrenLeftAtItsEnd() async throws {
        let standard = await outcome {
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask { throw Boom() }
                try Task.checkCancellation()
                return 7
            }
        }
        let tracked = await outcome {
            try await withThrowingTrackedTaskGroup(of: Int.self) { group in
                group.addTask("parity-failing") { throw Boom() }
                try Task.checkCancellation()
                return 7
            }
        }
        #expect(standard == "value 7")
        #expect(tracked == standard)
    }

    @Test func aThrowingGroupRethrowsWhatItsBodyAndNextThrow() async throws {
        let standardNext = await outcome {
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask { throw Boom() }
                return try await group.next() ?? 0
            }
        }
        let trackedNext = await outcome {
            try await withThrowingTrackedTaskGroup(of: Int.self) { group in
                group.addTask("parity-failing-next") { throw Boom() }
                return try await group.next() ?? 0
            }
        }
        #expect(standardNext == "error Boom")
        #expect(trackedNext == standardNext)

        // The body throws while a child runs: the child is cancelled, the body's error comes out.
        let standardBody = await outcome {
            try await withThrowingTaskGroup(of: Int.self) { group -> Int in
                group.addTask {
                    try await Task.sleep(for: .seconds(600))
                    return 1
                }
                throw Boom()
            }
        }
        let trackedBody = await outcome {
            try await withThrowingTrackedTaskGroup(of: Int.self) { group -> Int in
                group.addTask("parity-sleeper") {
                    try await Task.sleep(for: .seconds(600))
                    return 1
                }
                throw Boom()
            }
        }
        #expect(standardBody == "error Boom")
        #expect(trackedBody == standardBody)
    }

    @Test func aGroupSumsItsChildrenAndSeesItsOwnCancellation() async throws {
        let standard = await withTaskGroup(of: Int.self) { group in
            for value in 1...10 { group.addTask { value } }
            var sum = 0
            while let value = await group.next() { sum += value }
            return sum
        }
        let tracked = await withTrackedTaskGroup(of: Int.self) { group in
            for value in 1...10 { group.addTask("parity-child") { value } }
            var sum = 0
            while let value = await group.next() { sum += value }
            return sum
        }
        #expect(standard == 55)
        #expect(tracked == standard)

        // cancelAll reaches children already running, in both.
        let standardCancelled = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: .seconds(600))) == nil && Task.isCancelled }
            group.cancelAll()
            return await group.next() ?? false
        }
        let trackedCancelled = await withTrackedTaskGroup(of: Bool.self) { group in
            group.addTask("parity-cancelled") {
                (try? await Task.sleep(for: .seconds(600))) == nil && Task.isCancelled
            }
            group.cancelAll()
            return await group.next() ?? false
        }
        #expect(standardCancelled)
        #expect(trackedCancelled == standardCancelled)
    }

    // MARK: Tasks

    @Test func aTrackedTaskBehavesAsATask() async throws {
        #expect(await Task.tracked("parity-value") { 3 }.value == 3)
        let standardError = await outcome { try await Task { () throws -> Int in throw Boom() }.value }
        let trackedError = await outcome {
            try await Task.tracked("parity-error") { () throws -> Int in throw Boom() }.value
        }
        #expect(standardError == "error Boom")
        #expect(trackedError == standardError)

        let standard = Task { () throws -> Int in
            try await Task.sleep(for: .seconds(600))
            return 1
        }
        let tracked = Task.tracked("parity-cancel") { () throws -> Int in
            try await Task.sleep(for: .seconds(600))
            return 1
        }
        standard.cancel()
        tracked.cancel()
        let standardCancelled = await outcome { try await standard.value }
        let trackedCancelled = await outcome { try await tracked.value }
        #expect(standardCancelled == "error CancellationError")
        #expect(trackedCancelled == standardCancelled)
        #expect(tracked.isCancelled == standard.isCancelled)
    }

    // MARK: Continuations

    @Test func continuationsDeliverValuesAndErrorsAsCheckedOnesDo() async throws {
        let checked = await withCheckedContinuation { $0.resume(returning: 4) }
        let tracked = await withTrackedContinuation("parity-value") { $0.resume(returning: 4) }
        #expect(tracked == checked)
        let checkedError = await outcome {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                continuation.resume(throwing: Boom())
            }
        }
        let trackedError = await outcome {
            try await withTrackedThrowingContinuation("parity-error") {
                (continuation: TrackedContinuation<Int, any Error>) in
                continuation.resume(throwing: Boom())
            }
        }
        #expect(checkedError == "error Boom")
        #expect(trackedError == checkedError)

        // Resumed later, from another task.
        let later = await withTrackedContinuation("parity-later") { continuation in
            Task { continuation.resume(returning: 9) }
        }
        #expect(later == 9)
    }

    // MARK: Channels

    @Test func aBufferedChannelDeliversAsAnAsyncStreamDoes() async throws {
        let (stream, feed) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .unbounded)
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 10, name: RuleProbe.unique("parity-channel"))
        for value in 1...5 {
            feed.yield(value)
            try await sender.send(value)
        }
        feed.finish()
        sender.finish()
        var fromStream: [Int] = []
        for await value in stream { fromStream.append(value) }
        var fromChannel: [Int] = []
        for try await value in receiver.receiving() { fromChannel.append(value) }
        #expect(fromStream == [1, 2, 3, 4, 5])
        #expect(fromChannel == fromStream)
    }
}

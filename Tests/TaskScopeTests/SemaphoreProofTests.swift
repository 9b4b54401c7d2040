import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// `leaked-permit` and the self-deadlock of a semaphore, definite; each with its fixed twin, and
/// the healthy patterns that hand permits on, which must give no warning.
@Suite(.timeLimit(.minutes(2))) struct SemaphoreProofTests {
    static let settings = TaskScope.RuleSettings()

    static func warnings() -> [Warning] {
        LeakRules(settings: settings).evaluate(registry: TaskScope.registry, samples: [])
    }

    /// Every warning that names `name` or lists one of `tasks`.
    static func warnings(about name: String, tasks: [UInt64] = []) -> [Warning] {
        warnings().filter { $0.name == name || !Set($0.taskIDs).isDisjoint(with: tasks) }
    }

    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    static func taskID(named name: String) -> UInt64? {
        TaskScope.registry.records { $0.name == name }.first?.id
    }

    static func isQueued(_ name: String, on semaphore: TrackedSemaphore) -> Bool {
        guard let id = taskID(named: name) else { return false }
        return semaphore.facts().queued.contains(id)
    }

    struct Invalid: Error {}

    static func validate(_ request: String) throws { if request.isEmpty { throw Invalid() } }

    // GoKer's lock leaked on an error path: the throw skips the unlock, and the waiters can
    // never get the permit.
    @Test func aPermitKeptByAFinishedTaskIsALeakedPermit() async throws {
        let name = Self.unique("pool")
        let pool = TrackedSemaphore(permits: 1, name: name)
        let leaker = Self.unique("leaker")
        // Its own id, kept: once finished, its record may leave the registry's ring before it is looked up.
        let leakerIDs = Mutex<[UInt64]>([])
        _ = await Task.tracked(leaker) {
            if let id = TaskScope.currentTaskID { leakerIDs.withLock { $0.append(id) } }
            try await pool.acquire()
            try Self.validate("")
            pool.release()
        }.result
        let names = (0..<2).map { Self.unique("query-\($0)") }
        let blocked = names.map { name in Task.tracked(name) { try await pool.withPermit {} } }
        try await eventually("leaked-permit fires") {
            Self.warnings().first { $0.rule == .leakedPermit && $0.name == name }?.tasks == 2
        }
        let warning = try #require(Self.warnings().first { $0.rule == .leakedPermit && $0.name == name })
        let leakerID = try #require(leakerIDs.withLock { $0.first })
        #expect(warning.severity == .definite)
        #expect(warning.resource == pool.resourceID)
        #expect(warning.owner == leakerID)
        #expect(warning.taskIDs == names.compactMap(Self.taskID(named:)).sorted())
        #expect(warning.message.contains("every permit is held by finished task \(leakerID)"))
        for task in blocked { task.cancel() }

        // Fixed: withPermit returns the permit on every path; the queries get it in turn.
        let fixedName = Self.unique("pool-fixed")
        let fixed = TrackedSemaphore(permits: 1, name: fixedName)
        let careful = Self.unique("careful")
        _ = await Task.tracked(careful) {
            try await fixed.withPermit { try Self.validate("") }
        }.result
        let fixedNames = (0..<2).map { Self.unique("query-fixed-\($0)") }
        for name in fixedNames { try await Task.tracked(name) { try await fixed.withPermit {} }.value }
        let ids = ([careful] + fixedNames).compactMap(Self.taskID(named:))
        #expect(Self.warnings(about: fixedName, tasks: ids).isEmpty)
    }

    // GoKer's double lock: a task acquires a permit it already holds.
    @Test func acquiringAPermitOneHoldsIsASelfDeadlock() async throws {
        let name = Self.unique("mutex")
        let mutex = TrackedSemaphore(permits: 1, name: name)
        let worker = Self.unique("double-locker")
        func update(relocking: Bool) async throws {
            try await mutex.withPermit {
                if relocking { try await mutex.withPermit {} }  // a helper that locks again
            }
        }
        let stuck = Task.tracked(worker) { try await update(relocking: true) }
        try await eventually("the deadlock is found") {
            Self.warnings().contains { $0.rule == .deadlock && $0.name == name }
        }
        let warning = try #require(Self.warnings().first { $0.rule == .deadlock && $0.name == name })
        let id = try #require(Self.taskID(named: worker))
        #expect(warning.severity == .definite)
        #expect(warning.taskIDs == [id])
        #expect(warning.tasks == 1)
        #expect(
            warning.message.contains(
                "self-deadlock: task \(id) waits for semaphore \"\(name)\" held by task \(id) (itself)"))
        #expect(!Self.warnings().contains { $0.rule == .leakedPermit && $0.name == name })
        stuck.cancel()
        await #expect(throws: CancellationError.self) { try await stuck.value }

        // Fixed: the helper runs under the permit already held.
        let fixedName = Self.unique("mutex-fixed")
        let fixedMutex = TrackedSemaphore(permits: 1, name: fixedName)
        let fixedWorker = Self.unique("locker-fixed")
        try await Task.tracked(fixedWorker) { try await fixedMutex.withPermit {} }.value
        // A finished fixed twin's record may have left the ring: then no warning can list it.
        #expect(Self.warnings(about: fixedName, tasks: Self.taskID(named: fixedWorker).map { [$0] } ?? []).isEmpty)
    }

    // Healthy: a dispatcher takes permits and hands each to a worker that releases it: a tracked
    // child, or a plain task the agent cannot see (Go's bounded parallelism). While every permit
    // is out and the dispatcher waits for one, it is the holder of record, but its workers will
    // return them: no warning. With plain workers, nothing tells this from a task locking twice
    // but that it took a pool's permits with acquire().
    @Test(arguments: [false, true]) func permitsHandedToWorkersAreNotALeak(plainWorkers: Bool) async throws {
        let name = Self.unique("bounded")
        let pool = TrackedSemaphore(permits: 2, name: name)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        defer { opener.finish() }
        let dispatcher = Self.unique("dispatcher")
        let dispatching = Task.tracked(dispatcher) {
            var workers: [Task<Void, Never>] = []
            for index in 0..<3 {
                try? await pool.acquire()
                let work: @Sendable () async -> Void = {
                    defer { pool.release() }
                    for await _ in gate {}
                }
                workers.append(
                    plainWorkers ? Task(operation: work) : Task.tracked("bounded-child-\(index)", operation: work))
            }
            for worker in workers { await worker.value }
        }
        try await eventually("the dispatcher waits for a third permit") { Self.isQueued(dispatcher, on: pool) }
        let id = try #require(Self.taskID(named: dispatcher))
        for _ in 0..<5 {
            #expect(Self.warnings(about: name, tasks: [id]).isEmpty)
            try await Task.sleep(for: .milliseconds(20))
        }
        opener.finish()
        await dispatching.value
        #expect(Self.warnings(about: name, tasks: [id]).isEmpty)
    }
}

extension SemaphoreProofTests {
    // The buggy twin of the plain-worker dispatcher: one permit, taken with acquire() twice by
    // the same task. The lock taken twice, a self-deadlock.
    @Test func aLockTakenTwiceWithAcquireIsASelfDeadlock() async throws {
        let lockName = Self.unique("lock-twice")
        let lock = TrackedSemaphore(permits: 1, name: lockName)
        let locker = Task.tracked(Self.unique("locker")) {
            try await lock.acquire()
            try await lock.acquire()
        }
        try await eventually("the self-deadlock is found") {
            Self.warnings().contains { $0.rule == .deadlock && $0.name == lockName }
        }
        locker.cancel()
        _ = await locker.result
    }
}

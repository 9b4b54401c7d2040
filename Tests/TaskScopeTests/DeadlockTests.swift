import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// The wait-for graph: `deadlock` for a cycle of joins and semaphores, `blocked-forever` for a
/// task whose only way out runs through a leak; each with its fixed twin, and healthy chains
/// of waits that must give no warning.
@Suite(.timeLimit(.minutes(2))) struct DeadlockTests {
    static func warnings() -> [Warning] { SemaphoreProofTests.warnings() }

    static func warnings(_ rule: LeakRule, tasks: [UInt64]) -> [Warning] {
        warnings().filter { $0.rule == rule && !Set($0.taskIDs).isDisjoint(with: tasks) }
    }

    /// Every warning that lists one of `tasks` or names `name`.
    static func warnings(about name: String, tasks: [UInt64]) -> [Warning] {
        SemaphoreProofTests.warnings(about: name, tasks: tasks)
    }

    static func unique(_ base: String) -> String { SemaphoreProofTests.unique(base) }

    static func taskID(named name: String) -> UInt64? { SemaphoreProofTests.taskID(named: name) }

    /// The id of the task named `name` while its record is kept: a finished fixed twin's may
    /// already have left the registry's ring when the whole suite runs (then no warning can
    /// list it, and the name alone is checked).
    static func ids(named name: String) -> [UInt64] { taskID(named: name).map { [$0] } ?? [] }

    static func isWaiting(_ name: String, on reason: String) -> Bool {
        TaskScope.registry.records { $0.name == name }.first.map {
            TaskScope.registry.info($0).wait == reason
        } ?? false
    }

    /// GoKer's AB-BA: two tracked tasks named `names` take semaphores `a` and `b` in opposite
    /// orders, each its first before either takes its second.
    static func takeInOppositeOrders(
        _ a: TrackedSemaphore, _ b: TrackedSemaphore, names: (String, String)
    ) -> [Task<Void, any Error>] {
        @Sendable func both(_ one: TrackedSemaphore, _ other: TrackedSemaphore) async throws {
            try await one.withPermit {
                while a.availablePermits > 0 || b.availablePermits > 0 { await Task.yield() }
                try await other.withPermit {}
            }
        }
        return [Task.tracked(names.0) { try await both(a, b) }, Task.tracked(names.1) { try await both(b, a) }]
    }

    /// Tasks the graph proves stuck get its definite warning only: `stuck-wait` (here at once, its
    /// threshold zero) leaves them out, and names them again when the definite rules are off.
    @Test func aDeadlockIsNotAlsoAStuckWait() async throws {
        let name = Self.unique("ab-once")
        let first = TrackedSemaphore(permits: 1, name: "\(name)-a")
        let second = TrackedSemaphore(permits: 1, name: "\(name)-b")
        let names = [Self.unique("once-left"), Self.unique("once-right")]
        let tasks = Self.takeInOppositeOrders(first, second, names: (names[0], names[1]))
        defer { for task in tasks { task.cancel() } }
        var settings = TaskScope.RuleSettings()
        settings.stuckWait = .zero
        func warnings(_ settings: TaskScope.RuleSettings) -> [Warning] {
            LeakRules(settings: settings).evaluate(registry: TaskScope.registry, samples: [])
        }
        var ids: [UInt64] = []
        try await eventually("the deadlock is found") {
            ids = names.compactMap(Self.taskID(named:))
            return ids.count == 2
                && warnings(settings).contains { $0.rule == .deadlock && Set($0.taskIDs) == Set(ids) }
        }
        let found = warnings(settings)
        #expect(!found.contains { $0.rule == .stuckWait && !Set($0.taskIDs).isDisjoint(with: ids) }, "\(found)")
        settings.disabled = [.deadlock, .blockedForever, .leakedPermit]
        let suspects = warnings(settings).filter { $0.rule == .stuckWait && !Set($0.taskIDs).isDisjoint(with: ids) }
        #expect(Set(suspects.flatMap(\.taskIDs)).isSuperset(of: ids), "the suspect still names them: \(suspects)")
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
    }

    // GoKer's AB-BA: two tasks take two semaphores in opposite orders.
    @Test func twoSemaphoresTakenInOppositeOrdersDeadlock() async throws {
        let name = Self.unique("ab")
        let first = TrackedSemaphore(permits: 1, name: "\(name)-a")
        let second = TrackedSemaphore(permits: 1, name: "\(name)-b")
        let (left, right) = (Self.unique("ab-left"), Self.unique("ab-right"))
        let tasks = Self.takeInOppositeOrders(first, second, names: (left, right))
        try await eventually("the deadlock is found") {
            let ids = [left, right].compactMap(Self.taskID(named:))
            return ids.count == 2 && !Self.warnings(.deadlock, tasks: ids).isEmpty
        }
        let (leftID, rightID) = (try #require(Self.taskID(named: left)), try #require(Self.taskID(named: right)))
        let warning = try #require(Self.warnings(.deadlock, tasks: [leftID]).first)
        #expect(warning.severity == .definite)
        #expect(warning.taskIDs == [leftID, rightID].sorted())
        #expect(warning.tasks == 2)
        let low = min(leftID, rightID)
        let high = max(leftID, rightID)
        #expect(warning.message.hasPrefix("deadlock: task \(low) waits for semaphore"))
        #expect(warning.message.contains("held by task \(high), which waits for semaphore"))
        #expect(warning.message.hasSuffix("held by task \(low)"))
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }

        // Fixed: both take the semaphores in one order.
        let fixedName = Self.unique("ab-fixed")
        let fixedFirst = TrackedSemaphore(permits: 1, name: "\(fixedName)-a")
        let fixedSecond = TrackedSemaphore(permits: 1, name: "\(fixedName)-b")
        let fixedNames = [Self.unique("ab-left-fixed"), Self.unique("ab-right-fixed")]
        let fixed = fixedNames.map { name in
            Task.tracked(name) { try await fixedFirst.withPermit { try await fixedSecond.withPermit {} } }
        }
        for task in fixed { try await task.value }
        let ids = fixedNames.compactMap(Self.taskID(named:))
        #expect(Self.warnings(about: "\(fixedName)-a", tasks: ids).isEmpty)
        #expect(Self.warnings(about: "\(fixedName)-b", tasks: ids).isEmpty)
    }

    // A task holding a semaphore joins a task that waits for that semaphore.
    @Test func joiningATaskThatWaitsForYourPermitIsADeadlock() async throws {
        let name = Self.unique("db")
        let database = TrackedSemaphore(permits: 1, name: name)
        let (owner, helper) = (Self.unique("owner"), Self.unique("helper"))
        let helperTask = Mutex<Task<Void, any Error>?>(nil)
        let stuck = Task.tracked(owner) {
            try await database.acquire()
            let work = Task.tracked(helper) { try await database.withPermit {} }
            helperTask.withLock { $0 = work }
            try await work.join()  // waits for a task that needs our permit
            database.release()
        }
        try await eventually("the deadlock is found") {
            let ids = [owner, helper].compactMap(Self.taskID(named:))
            return ids.count == 2 && !Self.warnings(.deadlock, tasks: ids).isEmpty
        }
        let (ownerID, helperID) = (try #require(Self.taskID(named: owner)), try #require(Self.taskID(named: helper)))
        let warning = try #require(Self.warnings(.deadlock, tasks: [ownerID]).first)
        #expect(warning.taskIDs == [ownerID, helperID].sorted())
        #expect(warning.name == name)
        #expect(
            warning.message
                == "deadlock: task \(ownerID) waits for task \(helperID) (join), which waits for semaphore "
                + "\"\(name)\" held by task \(ownerID)")
        // Cancelling the helper breaks the cycle: its wait for the permit throws.
        helperTask.withLock { $0 }?.cancel()
        await #expect(throws: CancellationError.self) { try await stuck.value }
        #expect(Self.warnings(.deadlock, tasks: [ownerID, helperID]).isEmpty)

        // Fixed: the permit is returned before the join.
        let fixedName = Self.unique("db-fixed")
        let fixedDatabase = TrackedSemaphore(permits: 1, name: fixedName)
        let fixedOwner = Self.unique("owner-fixed")
        try await Task.tracked(fixedOwner) {
            try await fixedDatabase.acquire()
            let work = Task.tracked("helper-fixed") { try await fixedDatabase.withPermit {} }
            fixedDatabase.release()
            try await work.join()
        }.value
        #expect(Self.warnings(about: fixedName, tasks: Self.ids(named: fixedOwner)).isEmpty)
    }

    // Two tasks that join each other: a cycle nothing can break.
    @Test func tasksJoiningEachOtherDeadlock() async throws {
        let (one, two) = (LateTask(), LateTask())
        let (first, second) = (Self.unique("join-a"), Self.unique("join-b"))
        one.set(Task.tracked(first) { await two.get().join() })
        two.set(Task.tracked(second) { await one.get().join() })
        try await eventually("the deadlock is found") {
            let ids = [first, second].compactMap(Self.taskID(named:))
            return ids.count == 2 && !Self.warnings(.deadlock, tasks: ids).isEmpty
        }
        let ids = [first, second].compactMap(Self.taskID(named:)).sorted()
        let warning = try #require(Self.warnings(.deadlock, tasks: ids).first)
        #expect(warning.taskIDs == ids)
        #expect(
            warning.message
                == "deadlock: task \(ids[0]) waits for task \(ids[1]) (join), which waits for task \(ids[0]) (join)")
        // Switched off, the rule says nothing.
        let off = LeakRules(settings: TaskScope.RuleSettings(disabled: [.deadlock]))
        #expect(!off.evaluate(registry: TaskScope.registry, samples: []).contains { $0.rule == .deadlock })

        // Fixed: one joins the other, which does not join back.
        let (fixedOne, fixedTwo) = (LateTask(), LateTask())
        let fixedNames = [Self.unique("join-fixed-a"), Self.unique("join-fixed-b")]
        fixedOne.set(Task.tracked(fixedNames[0]) { await fixedTwo.get().join() })
        fixedTwo.set(Task.tracked(fixedNames[1]) { await Task.yield() })
        await fixedOne.get().value
        #expect(Self.warnings(about: fixedNames[0], tasks: fixedNames.compactMap(Self.taskID(named:))).isEmpty)
    }

    // A task that joins itself (its handle reached it through shared state).
    @Test func aTaskJoiningItselfIsASelfDeadlock() async throws {
        let me = LateTask()
        let name = Self.unique("self-join")
        me.set(Task.tracked(name) { await me.get().join() })
        try await eventually("the self-deadlock is found") {
            guard let id = Self.taskID(named: name) else { return false }
            return !Self.warnings(.deadlock, tasks: [id]).isEmpty
        }
        let id = try #require(Self.taskID(named: name))
        let warning = try #require(Self.warnings(.deadlock, tasks: [id]).first)
        #expect(warning.taskIDs == [id])
        #expect(warning.message == "self-deadlock: task \(id) waits for task \(id) (join)")

        // Fixed: it joins the task it means to, which finishes.
        let (other, fixedName) = (LateTask(), Self.unique("self-join-fixed"))
        other.set(Task.tracked(Self.unique("joined")) {})
        await Task.tracked(fixedName) { await other.get().join() }.value
        #expect(Self.warnings(about: fixedName, tasks: Self.ids(named: fixedName)).isEmpty)
    }

    // Go's goroutine-leak test of a send nobody receives, one level up: the task joining the
    // blocked sender is leaked too, and the warning says through what.
    @Test func joiningATaskBlockedOnAnOrphanedChannelIsBlockedForever() async throws {
        let channel = Self.unique("results")
        let (sender, waiter) = (Self.unique("sender"), Self.unique("waiter"))
        let senderTask: Task<Void, any Error> = {
            let (results, _) = TrackedChannel<Int>.make(capacity: 0, name: channel)
            return Task.tracked(sender) { try await results.send(1) }
        }()
        let waiting = Task.tracked(waiter) { _ = try? await senderTask.join() }
        try await eventually("blocked-forever fires") {
            guard let id = Self.taskID(named: waiter) else { return false }
            return !Self.warnings(.blockedForever, tasks: [id]).isEmpty
        }
        let (senderID, waiterID) = (try #require(Self.taskID(named: sender)), try #require(Self.taskID(named: waiter)))
        let warning = try #require(Self.warnings(.blockedForever, tasks: [waiterID]).first)
        #expect(warning.severity == .definite)
        #expect(warning.taskIDs == [waiterID])
        #expect(warning.reason == WaitReason.taskJoin)
        #expect(
            warning.message
                == "task \(waiterID) can never go on: it waits for task \(senderID) (join), which waits on channel "
                + "\"\(channel)\", which nothing can complete (orphaned-channel)")
        senderTask.cancel()
        await waiting.value

        // Fixed: the receiver is kept and takes the value.
        let fixedChannel = Self.unique("results-fixed")
        let (results, receiver) = TrackedChannel<Int>.make(capacity: 0, name: fixedChannel)
        let fixedSender = Task.tracked(Self.unique("sender-fixed")) { try await results.send(1) }
        let fixedWaiter = Self.unique("waiter-fixed")
        let joining = Task.tracked(fixedWaiter) { _ = try? await fixedSender.join() }
        #expect(try await receiver.receive() == 1)
        await joining.value
        #expect(Self.warnings(about: fixedChannel, tasks: Self.ids(named: fixedWaiter)).isEmpty)
    }

    // A task group whose children all wait for a permit a finished task kept: the owner's
    // `group.next` can never return.
    @Test func aGroupWhoseChildrenAreAllStuckIsBlockedForever() async throws {
        func run(owner: String, semaphore name: String, keepingThePermit: Bool) async -> Task<Void, Never> {
            let pool = TrackedSemaphore(permits: 1, name: name)
            await Task.tracked(Self.unique("keeper")) {
                try? await pool.acquire()
                if !keepingThePermit { pool.release() }
            }.value
            return Task.tracked(owner) {
                await withTrackedTaskGroup(of: Void.self) { group in
                    for index in 0..<2 { group.addTask("\(owner)-child-\(index)") { try? await pool.withPermit {} } }
                    while await group.next() != nil {}
                }
            }
        }
        let (owner, semaphore) = (Self.unique("fan-out"), Self.unique("shared"))
        let stuck = await run(owner: owner, semaphore: semaphore, keepingThePermit: true)
        try await eventually("blocked-forever fires") {
            guard let id = Self.taskID(named: owner) else { return false }
            return !Self.warnings(.blockedForever, tasks: [id]).isEmpty
        }
        let ownerID = try #require(Self.taskID(named: owner))
        let warning = try #require(Self.warnings(.blockedForever, tasks: [ownerID]).first)
        let child = try #require(Self.taskID(named: "\(owner)-child-0"))
        #expect(warning.taskIDs == [ownerID])
        #expect(warning.reason == WaitReason.groupNext)
        #expect(
            warning.message.hasPrefix(
                "task \(ownerID) can never go on: it waits for its child task \(child) (group.next), which waits for semaphore \"\(semaphore)\", whose permits finished task"
            ))
        #expect(warning.message.hasSuffix("still hold (leaked-permit)"))
        // Cancelling the owner cancels its children, whose waits for the permit end.
        stuck.cancel()
        await stuck.value

        // Fixed: the permit comes back, the children run, the group ends.
        let (fixedOwner, fixedSemaphore) = (Self.unique("fan-out-fixed"), Self.unique("shared-fixed"))
        await run(owner: fixedOwner, semaphore: fixedSemaphore, keepingThePermit: false).value
        #expect(Self.warnings(about: fixedSemaphore, tasks: Self.ids(named: fixedOwner)).isEmpty)
    }

    // Go's DaisyChain control: each task joins the next, the last waits on a channel that is still
    // being served. A long chain of waits is not a leak.
    @Test func aChainOfJoinsOnALiveChannelIsNoLeak() async throws {
        let channel = Self.unique("tail")
        let (tail, inbox) = TrackedChannel<Int>.make(capacity: 0, name: channel)
        let names = (0..<20).map { Self.unique("link-\($0)") }
        var next = Task.tracked(names[19]) { _ = try? await inbox.receive() }
        for name in names.dropLast().reversed() {
            let joined = next
            next = Task.tracked(name) { await joined.join() }
        }
        try await eventually("the chain waits") {
            Self.isWaiting(names[0], on: WaitReason.taskJoin)
                && Self.isWaiting(names[19], on: WaitReason.channelReceive)
        }
        let ids = names.compactMap(Self.taskID(named:))
        #expect(ids.count == 20)
        #expect(Self.warnings(about: channel, tasks: ids).isEmpty)
        try await tail.send(1)
        await next.value
        #expect(Self.warnings(about: channel, tasks: ids).isEmpty)
    }

    // Healthy churn read while it moves: permits handed on, joins and groups coming and going.
    // Whatever moment a pass reads, it must never prove a leak in it.
    @Test func healthyChurnReadWhileItMovesIsNeverALeak() async throws {
        let name = Self.unique("churn")
        let pool = TrackedSemaphore(permits: 2, name: name)
        let prefix = Self.unique("churner")
        let churn = Task.tracked(prefix) {
            await withTrackedTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask("\(prefix)-\(worker)") {
                        for round in 0..<300 {
                            try? await pool.withPermit { await Task.yield() }
                            let helper = Task.tracked("\(prefix)-helper") {
                                try? await pool.withPermit { await Task.yield() }
                            }
                            await helper.join()
                            if round % 10 == 0 {
                                await withTrackedTaskGroup(of: Void.self) { inner in
                                    inner.addTask("\(prefix)-leaf") { try? await pool.withPermit {} }
                                    while await inner.next() != nil {}
                                }
                            }
                        }
                    }
                }
                while await group.next() != nil {}
            }
        }
        let over = Over()
        Task {
            await churn.value
            over.value.store(true, ordering: .releasing)
        }
        var passes = 0
        var found: [Warning] = []
        while !over.value.load(ordering: .acquiring) || passes < 20 {
            found += Self.warnings().filter { warning in
                warning.severity == .definite
                    && (warning.name == name || warning.name?.hasPrefix(prefix) == true
                        || warning.message.contains("\"\(name)\""))
            }
            passes += 1
            await Task.yield()
        }
        #expect(found.isEmpty, "\(found.map(\.message))")
        #expect(passes >= 20)
    }

    final class Over: Sendable {
        let value = Atomic<Bool>(false)
    }
}

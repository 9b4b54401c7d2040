import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope

/// The wait group, and `leaked-wait-group`: a leaky program and its fixed twin, and healthy
/// controls the rule must leave alone.
@Suite(.timeLimit(.minutes(2))) struct WaitGroupTests {
    @Test func waitReturnsWhenEveryTaskIsDone() async throws {
        let group = TrackedWaitGroup(name: RuleProbe.unique("fetches"))
        try await group.wait()  // zero: returns at once
        for _ in 0..<3 {
            group.add(1)
            Task.tracked(RuleProbe.unique("fetch")) { group.done() }
        }
        try await group.wait()
        #expect(group.count == 0)
    }

    @Test func aWaitRecordsItsReasonAndHonoursCancellation() async throws {
        let name = RuleProbe.unique("cancelled-group")
        let group = TrackedWaitGroup(name: name)
        group.add(1)
        let waiterName = RuleProbe.unique("group-waiter")
        let waiter = Task.tracked(waiterName) { try await group.wait() }
        try await eventually("the waiter blocks") { RuleProbe.waitReason(of: waiterName) == WaitReason.waitGroup }
        #expect(RuleProbe.report(name)?.waiting == 1)
        #expect(RuleProbe.report(name)?.kind == .waitGroup)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(RuleProbe.report(name)?.waiting == 0)
        group.done()
    }

    /// Go's classic: a worker returns early on an error path without calling `done()`.
    @Test func aWorkerThatForgetsDoneLeaksTheWaiter() async throws {
        let name = RuleProbe.unique("workers")
        let mainName = RuleProbe.unique("wg-main")
        let group = TrackedWaitGroup(name: name)
        let main = Task.tracked(mainName) {
            for index in 0..<3 {
                group.add(1)
                Task.tracked("wg-worker") {
                    if index == 1 { return }  // the bug: no done() on this path
                    group.done()
                }
            }
            try await group.wait()
        }
        try await eventually("leaked-wait-group fires") {
            !RuleProbe.warnings(about: name).filter { $0.rule == .leakedWaitGroup }.isEmpty
        }
        let warning = try #require(RuleProbe.warnings(about: name).first { $0.rule == .leakedWaitGroup })
        #expect(warning.severity == .definite)
        #expect(warning.reason == WaitReason.waitGroup)
        #expect(warning.tasks == 1)
        #expect(warning.taskIDs == [try #require(RuleProbe.taskID(named: mainName))])
        #expect(warning.message.contains("the count is 1"))
        // Switched off, the rule says nothing (TASKSCOPE_RULES_OFF=leaked-wait-group).
        let off = TaskScope.RuleSettings().applyingEnvironment(["TASKSCOPE_RULES_OFF": "leaked-wait-group"])
        #expect(off.disabled == [.leakedWaitGroup])
        let silenced = LeakRules(settings: off).evaluate(registry: TaskScope.registry, samples: [])
        #expect(!silenced.contains { $0.name == name })
        main.cancel()
        _ = try? await main.value
    }

    @Test func everyWorkerCallingDoneIsNotALeak() async throws {
        let name = RuleProbe.unique("workers-fixed")
        let mainName = RuleProbe.unique("wg-main-fixed")
        let group = TrackedWaitGroup(name: name)
        let gate = TrackedSemaphore(permits: 0, name: RuleProbe.unique("gate"))
        let main = Task.tracked(mainName) {
            for _ in 0..<3 {
                group.add(1)
                Task.tracked("wg-worker-fixed") {
                    defer { group.done() }
                    try await gate.acquire()
                }
            }
            try await group.wait()
        }
        // The waiter blocks while the workers (live, blocked) may still call done.
        try await eventually("the main task waits") { RuleProbe.report(name)?.waiting == 1 }
        let mainID = try #require(RuleProbe.taskID(named: mainName))
        #expect(RuleProbe.report(name)?.orphaned == false)
        #expect(RuleProbe.warnings(about: name, tasks: [mainID]).isEmpty)
        for _ in 0..<3 { gate.release() }
        try await main.value
        #expect(RuleProbe.warnings(about: name, tasks: [mainID]).isEmpty)
    }

    /// A setup task adds and starts the workers, then returns; another task waits. The adder
    /// has finished, but its live children can still call done: no proof.
    @Test func anAdderThatReturnsBeforeItsWorkersIsNotALeak() async throws {
        let name = RuleProbe.unique("setup-group")
        let group = TrackedWaitGroup(name: name)
        let gate = TrackedSemaphore(permits: 0, name: RuleProbe.unique("setup-gate"))
        await Task.tracked(RuleProbe.unique("wg-setup")) {
            group.add(2)
            for _ in 0..<2 {
                Task.tracked("wg-late-worker") {
                    defer { group.done() }
                    try await gate.acquire()
                }
            }
        }.value
        let waiterName = RuleProbe.unique("wg-waiter")
        let waiter = Task.tracked(waiterName) { try await group.wait() }
        try await eventually("the waiter waits") { RuleProbe.report(name)?.waiting == 1 }
        let waiterID = try #require(RuleProbe.taskID(named: waiterName))
        #expect(RuleProbe.report(name)?.orphaned == false)
        #expect(RuleProbe.warnings(about: name, tasks: [waiterID]).isEmpty)
        gate.release()
        gate.release()
        try await waiter.value
        #expect(RuleProbe.warnings(about: name, tasks: [waiterID]).isEmpty)
    }

    /// An untracked task took part: who else may call done is unknown.
    @Test func anUntrackedParticipantRulesOutAProof() async throws {
        let name = RuleProbe.unique("untracked-group")
        let group = TrackedWaitGroup(name: name)
        await Task { group.add(1) }.value
        let waiterName = RuleProbe.unique("wg-untracked-waiter")
        let waiter = Task.tracked(waiterName) { try await group.wait() }
        try await eventually("the waiter waits") { RuleProbe.report(name)?.waiting == 1 }
        #expect(RuleProbe.report(name)?.orphaned == false)
        #expect(RuleProbe.warnings(about: name).isEmpty)
        group.done()
        try await waiter.value
    }
}

extension WaitGroupTests {
    /// Go's `wg.Add(1); go func() { defer wg.Done() }()` with workers the agent cannot see: plain
    /// tasks, or a plain task group's children. The adder waits while they work; it started no
    /// tracked task, so whoever it added for is unknown: no proof, no warning.
    @Test(arguments: [false, true]) func workersTheAgentCannotSeeAreNotALeak(inAGroup: Bool) async throws {
        let name = RuleProbe.unique(inAGroup ? "group-workers" : "plain-workers")
        let mainName = RuleProbe.unique("wg-main-plain")
        let group = TrackedWaitGroup(name: name)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        defer { opener.finish() }
        let main = Task.tracked(mainName) {
            if inAGroup {
                try await withThrowingTaskGroup(of: Void.self) { workers in
                    for _ in 0..<3 {
                        group.add(1)
                        workers.addTask {
                            defer { group.done() }
                            for await _ in gate {}
                        }
                    }
                    try await group.wait()
                }
            } else {
                for _ in 0..<3 {
                    group.add(1)
                    Task {
                        defer { group.done() }
                        for await _ in gate {}
                    }
                }
                try await group.wait()
            }
        }
        try await eventually("the main task waits") { RuleProbe.report(name)?.waiting == 1 }
        let mainID = try #require(RuleProbe.taskID(named: mainName))
        for _ in 0..<5 {
            #expect(RuleProbe.report(name)?.orphaned == false)
            #expect(RuleProbe.warnings(about: name, tasks: [mainID]).isEmpty)
            try await Task.sleep(for: .milliseconds(20))
        }
        opener.finish()
        try await main.value
        #expect(RuleProbe.warnings(about: name, tasks: [mainID]).isEmpty)
    }
}

import ScopeProtocol
import TestSupport
import Testing

@testable import TaskScope

/// Tests of `Task.tracked` and labelled waits, against the process-wide
/// registry; each test names its tasks uniquely so tests can run in parallel.
@Suite(.timeLimit(.minutes(2))) struct TrackedTaskTests {
    private func lookup(_ name: String) -> TaskInfo? {
        TaskScope.registry.records { $0.name == name }.first.map { TaskScope.registry.info($0) }
    }

    private func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    struct Boom: Error {}

    @Test func aTrackedTaskIsRecordedWithItsSpawnSiteAndCompletes() async throws {
        let name = unique("complete")
        let line = #line + 1
        let task = Task.tracked(name) { 41 + 1 }
        #expect(await task.value == 42)
        let info = try #require(lookup(name))
        #expect(info.state == .finished)
        #expect(info.outcome == .completed)
        #expect(info.spawnSite.file == #fileID)
        #expect(info.spawnSite.line == line)
        #expect(info.spawnSite.function == "aTrackedTaskIsRecordedWithItsSpawnSiteAndCompletes()")
    }

    @Test func aTaskStartedInsideATrackedTaskIsItsChild() async throws {
        let parentName = unique("parent")
        let childName = unique("child")
        let ids = await Task.tracked(parentName) { () async -> (UInt64?, UInt64?) in
            let parentID = TaskScope.currentTaskID
            let childParent = await Task.tracked(childName) { () async -> UInt64? in
                TaskScope.currentRecord?.parentID
            }.value
            return (parentID, childParent)
        }.value
        let parent = try #require(lookup(parentName))
        let child = try #require(lookup(childName))
        #expect(ids.0 == parent.id)
        #expect(ids.1 == parent.id)
        #expect(child.parent == parent.id)
        #expect(parent.parent == nil)
    }

    @Test func aThrowingTaskFailsWithItsErrorType() async throws {
        let name = unique("fail")
        let task = Task.tracked(name) { () async throws -> Int in throw Boom() }
        await #expect(throws: Boom.self) { try await task.value }
        let info = try #require(lookup(name))
        #expect(info.outcome == .failed)
        #expect(info.error?.hasSuffix("Boom") == true)
    }

    @Test func aTaskCancelledWhileSleepingFinishesCancelled() async throws {
        let name = unique("cancel")
        let task = Task.tracked(name) { try await TaskScope.sleep(for: .seconds(600)) }
        try await eventually("the task sleeps") { lookup(name)?.wait == WaitReason.sleep }
        let sleeping = try #require(lookup(name))
        #expect(sleeping.state == .waiting)
        #expect(sleeping.waitSite?.file == #fileID)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let info = try #require(lookup(name))
        #expect(info.outcome == .cancelled)
        #expect(info.cancelled)
        #expect(info.wait == nil)
    }

    @Test func aCancelledTaskThatReturnsIsCompletedButMarkedCancelled() async throws {
        let name = unique("ignores-cancel")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let task = Task.tracked(name) {
            for await _ in gate { break }
        }
        try await eventually("the task is recorded") { lookup(name) != nil }
        task.cancel()
        try await eventually("the cancellation is recorded") { lookup(name)?.cancelled == true }
        open.finish()
        await task.value
        let info = try #require(lookup(name))
        #expect(info.outcome == .completed)
        #expect(info.cancelled)
    }

    @Test func aLabelledWaitShowsWhileItLasts() async throws {
        let name = unique("labelled")
        let (gate, open) = AsyncStream.makeStream(of: Int.self)
        let line = #line + 2
        let task = Task.tracked(name) { () async -> Int in
            await TaskScope.waiting(on: "db.query") {
                var iterator = gate.makeAsyncIterator()
                return await iterator.next() ?? -1
            }
        }
        try await eventually("the wait shows") { lookup(name)?.state == .waiting }
        let waiting = try #require(lookup(name))
        #expect(waiting.wait == "db.query")
        #expect(waiting.waitSite == SourceSite(file: #fileID, line: line))
        #expect(TaskScope.registry.counts().waits["db.query", default: 0] >= 1)
        open.yield(7)
        #expect(await task.value == 7)
        let finished = try #require(lookup(name))
        #expect(finished.state == .finished)
        #expect(finished.wait == nil)
    }

    @Test func aLabelledWaitOutsideATrackedTaskJustRuns() async throws {
        let before = TaskScope.registry.counts().totals.spawned
        let value = try await TaskScope.waiting(on: "x") { () async throws -> String in "ran" }
        #expect(value == "ran")
        #expect(TaskScope.currentTaskID == nil)
        #expect(TaskScope.registry.counts().totals.spawned >= before)
    }

    @Test func errorsThrownInsideAWaitPropagateAndEndTheWait() async throws {
        let name = unique("wait-throws")
        let task = Task.tracked(name) { () async throws -> Void in
            do {
                try await TaskScope.waiting(on: "http.get") { () async throws(Boom) -> Void in throw Boom() }
            } catch {
                #expect(TaskScope.currentRecord.map { TaskScope.registry.info($0).state } == .active)
                throw error
            }
        }
        await #expect(throws: Boom.self) { try await task.value }
        #expect(lookup(name)?.outcome == .failed)
    }

    @Test func childTasksThatInheritTheTaskLocalWaitAsThemselves() async throws {
        let name = unique("parent-of-plain-children")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let parent = Task.tracked(name) {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        // A plain child: it inherits the parent's task-local, but is not the parent.
                        #expect(TaskScope.currentTaskID == nil)
                        await TaskScope.waiting(on: "child.wait.\(index)") { for await _ in gate {} }
                    }
                }
            }
        }
        try await eventually("both children are adopted") {
            TaskScope.registry.records { $0.adopted && ($0.wait?.reason.hasPrefix("child.wait.") ?? false) }
                .filter { $0.parentID == lookup(name)?.id }.count == 2
        }
        // The parent itself is not waiting: its children's waits are theirs, not its own.
        let parentInfo = try #require(lookup(name))
        #expect(parentInfo.state == .active)
        #expect(parentInfo.wait == nil)
        open.finish()
        await parent.value
    }

    /// A plain descendant of a finished tracked task, started at the address that task freed,
    /// inherits the finished record with a key equal to its own. The reuse is made here by
    /// keying a finished record with the current task's address, which is what it amounts to.
    @Test func aFinishedRecordAtTheSameAddressIsNotTheCurrentTasksOwn() async throws {
        let name = unique("finished-at-reused-address")
        let registry = TaskScope.registry
        let dead = registry.spawn(name: name, parentID: 0, file: #fileID, line: #line, function: #function)
        registry.enter(dead, taskKey: TaskScope.currentTaskKey())
        #expect(dead.isOwned(byTaskKey: TaskScope.currentTaskKey()), "a live record is its task's own")
        registry.finish(dead, outcome: .completed)
        #expect(!dead.isOwned(byTaskKey: TaskScope.currentTaskKey()))
        let reason = unique("reused.wait")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let waiter = Task {
            await TaskScope.currentRecordLocal.withValue(dead) {
                registry.enter(dead, taskKey: TaskScope.currentTaskKey())
                #expect(TaskScope.currentTaskID == nil, "the dead ancestor is not the current task")
                await TaskScope.waiting(on: reason) { for await _ in gate {} }
            }
        }
        // The wait is recorded, adopted as the dead task's descendant, instead of lost on its record.
        try await eventually("the wait is recorded") {
            TaskScope.registry.records { $0.adopted && $0.wait?.reason == reason && $0.parentID == dead.id }.count == 1
        }
        #expect(registry.info(dead).state == .finished)
        open.finish()
        await waiter.value
    }

    @Test func nestedWaitsOfAnUntrackedTaskShareOneAdoptedRecord() async throws {
        let outer = unique("adopted.outer")
        let inner = unique("adopted.inner")
        let (innerGate, openInner) = AsyncStream.makeStream(of: Void.self)
        let (outerGate, openOuter) = AsyncStream.makeStream(of: Void.self)
        func adopted() -> [TaskInfo] {
            TaskScope.registry.records { $0.adopted && $0.state != .finished }.map { TaskScope.registry.info($0) }
                .filter { [outer, inner].contains($0.wait ?? "") }
        }
        let plain = Task {
            await TaskScope.waiting(on: outer) {
                await TaskScope.waiting(on: inner) { for await _ in innerGate {} }
                for await _ in outerGate {}
            }
        }
        try await eventually("the inner wait shows") { adopted().first?.wait == inner }
        let record = try #require(adopted().first)
        #expect(adopted().count == 1)
        openInner.finish()
        // The same record, back in the outer wait.
        try await eventually("the outer wait shows again") { adopted().first?.wait == outer }
        #expect(adopted().map(\.id) == [record.id])
        openOuter.finish()
        await plain.value
        #expect(TaskScope.registry.liveRecord(id: record.id) == nil)
    }
}

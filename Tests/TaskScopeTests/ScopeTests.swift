import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// `TaskScope.scope`: a task a framework started is tracked for the length of a closure (a
/// request in flight), with its waits, its children and its outcome.
@Suite(.timeLimit(.minutes(1))) struct ScopeTests {
    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    /// The record of the current task, held: a finished one may leave the registry's ring.
    static var ownRecord: TaskRecord? { TaskScope.ownRecord }

    struct Invalid: Error {}

    actor Counter {
        var count = 0
        func countInScope() async {
            await TaskScope.scope("actor-request") {
                self.preconditionIsolated()  // the body runs on the caller's actor
                count += 1
            }
        }
    }

    @Test func aPlainTaskIsTrackedForTheScopeOnly() async throws {
        let route = Self.unique("GET /users/:id")
        let reason = Self.unique("db.query")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let seen = Mutex<(scope: TaskRecord?, child: TaskRecord?, after: UInt64?)>((nil, nil, nil))
        let line = #line + 3
        let request = Task {  // as a framework starts it: untracked
            #expect(TaskScope.currentTaskID == nil)
            await TaskScope.scope(route) {
                let scope = Self.ownRecord
                let child = await Task.tracked("lookup") { Self.ownRecord }.value
                seen.withLock {
                    $0.scope = scope; $0.child = child
                }
                await TaskScope.waiting(on: reason) { for await _ in gate {} }
            }
            seen.withLock { $0.after = TaskScope.currentTaskID }
        }
        try await eventually("the scope waits") {
            TaskScope.registry.records { $0.name == route && $0.waitPoint?.reason == reason }.count == 1
        }
        let waiting = try #require(seen.withLock { $0.scope })
        #expect(waiting.name == route)
        #expect(!waiting.adopted, "its own record, not an adoption")
        #expect(waiting.spawnFile == #fileID && waiting.spawnLine == line)
        #expect(TaskScope.registry.info(waiting).state == .waiting)
        #expect(TaskScope.registry.info(waiting).wait == reason)
        let child = try #require(seen.withLock { $0.child })
        #expect(child.parentID == waiting.id, "its tracked children are its own")
        open.finish()
        await request.value
        #expect(seen.withLock { $0.after } == nil, "untracked again after the scope")
        let info = TaskScope.registry.info(waiting)
        #expect(info.state == .finished)
        #expect(info.outcome == .completed)
    }

    @Test func aScopeEndsAsItsBodyDoes() async throws {
        let failing = Self.unique("POST /orders")
        let failedRecord = Mutex<TaskRecord?>(nil)
        await #expect(throws: Invalid.self) {
            try await TaskScope.scope(failing) {
                failedRecord.withLock { $0 = Self.ownRecord }
                throw Invalid()
            }
        }
        let failed = try #require(failedRecord.withLock { $0 })
        #expect(TaskScope.registry.info(failed).outcome == .failed)

        let cancelledRoute = Self.unique("GET /slow")
        let cancelledRecord = Mutex<TaskRecord?>(nil)
        let request = Task {
            try await TaskScope.scope(cancelledRoute) {
                cancelledRecord.withLock { $0 = Self.ownRecord }
                try await Task.sleep(for: .seconds(60))
            }
        }
        try await eventually("the request sleeps") { cancelledRecord.withLock { $0 } != nil }
        request.cancel()
        _ = await request.result
        let cancelled = try #require(cancelledRecord.withLock { $0 })
        #expect(TaskScope.registry.info(cancelled).outcome == .cancelled)
    }

    @Test func scopesNestInTrackedTasksAndRunOnTheCallersActor() async throws {
        let inner = Self.unique("inner")
        let (outer, nested, after) = await Task.tracked(Self.unique("outer")) {
            let outer = TaskScope.currentTaskID
            let nested = await TaskScope.scope(inner) { Self.ownRecord }
            return (outer, nested, TaskScope.currentTaskID)
        }.value
        let outerID = try #require(outer)
        let nestedRecord = try #require(nested)
        #expect(nestedRecord.id != outerID)
        #expect(nestedRecord.name == inner)
        #expect(nestedRecord.parentID == outerID)
        #expect(after == outerID, "the outer task is itself again")

        let counter = Counter()
        await counter.countInScope()
        #expect(await counter.count == 1)
    }
}

extension ScopeTests {
    @Test func theReadmeHandlerAnswersAsATrackedRequest() async throws {
        let database = TrackedSemaphore(permits: 2, name: Self.unique("db"))
        let route = Self.unique("GET /users/:id")
        let answer = try await Task { try await showUser(id: 7, route: route, database: database) }.value
        #expect(answer == "user 7")
        #expect(database.availablePermits == 2)
    }
}

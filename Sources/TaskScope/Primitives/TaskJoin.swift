import ScopeProtocol

extension Task where Failure == Never {
    /// Awaits the task's value, recorded as a wait with reason `task.join`.
    @inlinable
    public func join(fileID: String = #fileID, line: Int = #line) async -> Success {
        await TaskScope.recordingWait(WaitReason.taskJoin, resource: 0, fileID: fileID, line: line) { taskID in
            let joining = TaskScope.joining(self, waiter: taskID)
            defer { TaskScope.joined(joining) }
            return await value
        }
    }
}

extension Task where Failure == any Error {
    /// Awaits the task's value, recorded as a wait with reason `task.join`.
    @inlinable
    public func join(fileID: String = #fileID, line: Int = #line) async throws -> Success {
        try await TaskScope.recordingWait(WaitReason.taskJoin, resource: 0, fileID: fileID, line: line) { taskID in
            let joining = TaskScope.joining(self, waiter: taskID)
            defer { TaskScope.joined(joining) }
            return try await value
        }
    }
}

extension TaskScope {
    /// Notes that the task `waiter` joins `task`, for the wait-for graph; returns what
    /// ``joined(_:)`` needs. Cost: one uncontended lock (see ``JoinTargets``).
    @inlinable
    static func joining<Success, Failure>(_ task: Task<Success, Failure>, waiter: UInt64) -> UInt64 {
        // The handle's bits are the task's address, the key its record carries (see `started`).
        guard waiter != 0, MemoryLayout<Task<Success, Failure>>.size == MemoryLayout<Int>.size else { return 0 }
        noteJoin(waiter: waiter, target: unsafeBitCast(task, to: Int.self))
        return waiter
    }

    @usableFromInline
    static func noteJoin(waiter: UInt64, target: Int) {
        JoinTargets.shared.enter(waiter: waiter, target: target)
    }

    /// Ends what ``joining(_:waiter:)`` noted.
    @usableFromInline
    static func joined(_ waiter: UInt64) {
        if waiter != 0 { JoinTargets.shared.leave(waiter: waiter) }
    }
}

/// A task group whose children are tracked tasks and whose `next()` is
/// recorded as a wait with reason `group.next`. Made by
/// ``withTrackedTaskGroup(of:returning:isolation:body:)``.
public struct TrackedTaskGroup<ChildTaskResult: Sendable> {
    @usableFromInline var group: TaskGroup<ChildTaskResult>
    /// The owner's adopted record, when the owner is not tracked itself.
    @usableFromInline let adopted: TaskRecord?
    /// The id of the children's parent (the owner's tracked task or nearest tracked ancestor),
    /// looked up once for the group rather than per child.
    @usableFromInline let parentID: UInt64

    @inlinable
    init(group: TaskGroup<ChildTaskResult>, adopted: TaskRecord?, parentID: UInt64) {
        self.group = group
        self.adopted = adopted
        self.parentID = parentID
    }

    /// Adds a tracked child task named `name`; its parent is the current tracked task.
    @inlinable
    public mutating func addTask(
        _ name: String, priority: TaskPriority? = nil, fileID: String = #fileID, line: Int = #line,
        function: String = #function,
        operation: sending @escaping @isolated(any) () async -> ChildTaskResult
    ) {
        guard
            let record = TaskScope.recordSpawn(
                name: name, parentID: parentID, fileID: fileID, line: line, function: function)
        else {
            group.addTask(priority: priority, operation: operation)
            return
        }
        group.addTask(priority: priority) { await TaskScope.run(record, operation) }
    }

    /// The next child result, waiting (reason `group.next`) while none is ready; `nil` when no child is left.
    @inlinable
    public mutating func next(fileID: String = #fileID, line: Int = #line) async -> ChildTaskResult? {
        let wait = TaskScope.beginWait(WaitReason.groupNext, on: adopted, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        return await group.next()
    }

    /// Waits for every child, recorded as one wait with reason `group.next`.
    @inlinable
    public mutating func waitForAll(fileID: String = #fileID, line: Int = #line) async {
        let wait = TaskScope.beginWait(WaitReason.groupNext, on: adopted, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        await group.waitForAll()
    }

    /// Cancels every child.
    @inlinable
    public func cancelAll() { group.cancelAll() }

    /// Whether no child is left.
    @inlinable
    public var isEmpty: Bool { group.isEmpty }
}

/// `withTaskGroup` whose children are tracked and whose waits for them are recorded.
@inlinable
public func withTrackedTaskGroup<ChildTaskResult: Sendable, GroupResult>(
    of childTaskResultType: ChildTaskResult.Type,
    returning returnType: GroupResult.Type = GroupResult.self,
    isolation: isolated (any Actor)? = #isolation,
    fileID: String = #fileID,
    line: Int = #line,
    body: (inout TrackedTaskGroup<ChildTaskResult>) async -> GroupResult
) async -> GroupResult {
    await withTaskGroup(of: ChildTaskResult.self, returning: GroupResult.self, isolation: isolation) { group in
        let adopted = TaskScope.adoptForGroup()
        defer { TaskScope.endGroupAdoption(adopted) }
        var tracked = TrackedTaskGroup(group: group, adopted: adopted, parentID: TaskScope.parentIDMarkingChildren)
        let result = await body(&tracked)
        // The children left are awaited as one wait at the caller's line, not one per child.
        await tracked.waitForAll(fileID: fileID, line: line)
        return result
    }
}

/// A throwing task group whose children are tracked tasks and whose `next()`
/// is recorded as a wait with reason `group.next`. Made by
/// ``withThrowingTrackedTaskGroup(of:returning:isolation:body:)``.
public struct ThrowingTrackedTaskGroup<ChildTaskResult: Sendable> {
    @usableFromInline var group: ThrowingTaskGroup<ChildTaskResult, any Error>
    /// The owner's adopted record, when the owner is not tracked itself.
    @usableFromInline let adopted: TaskRecord?
    /// The id of the children's parent, looked up once for the group (see `TrackedTaskGroup`).
    @usableFromInline let parentID: UInt64

    @inlinable
    init(group: ThrowingTaskGroup<ChildTaskResult, any Error>, adopted: TaskRecord?, parentID: UInt64) {
        self.group = group
        self.adopted = adopted
        self.parentID = parentID
    }

    /// Adds a tracked child task named `name`; its parent is the current tracked task.
    @inlinable
    public mutating func addTask(
        _ name: String, priority: TaskPriority? = nil, fileID: String = #fileID, line: Int = #line,
        function: String = #function,
        operation: sending @escaping @isolated(any) () async throws -> ChildTaskResult
    ) {
        guard
            let record = TaskScope.recordSpawn(
                name: name, parentID: parentID, fileID: fileID, line: line, function: function)
        else {
            group.addTask(priority: priority, operation: operation)
            return
        }
        group.addTask(priority: priority) { try await TaskScope.runThrowing(record, operation) }
    }

    /// The next child result, waiting (reason `group.next`) while none is ready; `nil` when no child is left.
    ///
    /// - Throws: the error of the child that failed.
    @inlinable
    public mutating func next(fileID: String = #fileID, line: Int = #line) async throws -> ChildTaskResult? {
        let wait = TaskScope.beginWait(WaitReason.groupNext, on: adopted, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        return try await group.next()
    }

    /// Waits for every child, recorded as one wait with reason `group.next`; throws the first
    /// child error.
    @inlinable
    public mutating func waitForAll(fileID: String = #fileID, line: Int = #line) async throws {
        let wait = TaskScope.beginWait(WaitReason.groupNext, on: adopted, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        try await group.waitForAll()
    }

    /// Waits for every child left, recorded as one wait with reason `group.next`, ignoring
    /// their results and errors: what `withThrowingTaskGroup` does once its body has returned.
    @inlinable
    mutating func awaitRemainingDiscardingErrors(fileID: String, line: Int) async {
        guard !group.isEmpty else { return }
        let wait = TaskScope.beginWait(WaitReason.groupNext, on: adopted, fileID: fileID, line: line)
        defer { TaskScope.endWait(wait) }
        while await group.nextResult() != nil {}
    }

    /// Cancels every child.
    @inlinable
    public func cancelAll() { group.cancelAll() }

    /// Whether no child is left.
    @inlinable
    public var isEmpty: Bool { group.isEmpty }
}

/// `withThrowingTaskGroup` whose children are tracked and whose waits for them are recorded.
@inlinable
public func withThrowingTrackedTaskGroup<ChildTaskResult: Sendable, GroupResult>(
    of childTaskResultType: ChildTaskResult.Type,
    returning returnType: GroupResult.Type = GroupResult.self,
    isolation: isolated (any Actor)? = #isolation,
    fileID: String = #fileID,
    line: Int = #line,
    body: (inout ThrowingTrackedTaskGroup<ChildTaskResult>) async throws -> GroupResult
) async throws -> GroupResult {
    try await withThrowingTaskGroup(of: ChildTaskResult.self, returning: GroupResult.self, isolation: isolation) {
        group in
        let adopted = TaskScope.adoptForGroup()
        defer { TaskScope.endGroupAdoption(adopted) }
        var tracked = ThrowingTrackedTaskGroup(
            group: group, adopted: adopted, parentID: TaskScope.parentIDMarkingChildren)
        let result = try await body(&tracked)
        // The children left are awaited as one wait at the caller's line, not one per child; their
        // errors are discarded, as `withThrowingTaskGroup` discards them (a cancelled loser's
        // `CancellationError` must not fail a group whose body returned).
        await tracked.awaitRemainingDiscardingErrors(fileID: fileID, line: line)
        return result
    }
}

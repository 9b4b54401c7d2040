extension Task where Failure == Never {
    /// Starts a task that taskscope tracks: a normal unstructured `Task`,
    /// recorded with a name, its parent tracked task, its spawn site, its
    /// state and waits, and its outcome.
    ///
    /// Like `Task {}`, `operation` inherits the caller's actor: started in an actor method it
    /// runs on the actor and may use its state directly.
    ///
    /// Cost: about one plain `Task {}` spawn plus one allocation, two short
    /// uncontended locks (spawn and finish) and a task-local binding.
    @inlinable
    @discardableResult
    public static func tracked(
        _ name: String,
        priority: TaskPriority? = nil,
        fileID: String = #fileID,
        line: Int = #line,
        function: String = #function,
        @_inheritActorContext @_implicitSelfCapture operation: sending @escaping @isolated(any) () async -> Success
    ) -> Task<Success, Never> {
        guard let record = TaskScope.recordSpawn(name: name, fileID: fileID, line: line, function: function) else {
            return Task(name: name, priority: priority, operation: operation)
        }
        // The record carries the name; naming the Swift task as well would cost an allocation per spawn.
        let task = Task(priority: priority) {
            await TaskScope.run(record, operation)
        }
        TaskScope.started(record, as: task)
        return task
    }
}

extension Task where Failure == any Error {
    /// Starts a throwing task that taskscope tracks; see the non-throwing
    /// `tracked(_:priority:operation:)`. A thrown `CancellationError` (or any
    /// error thrown after cancellation) finishes it `cancelled`; any other error `failed`.
    @inlinable
    @discardableResult
    public static func tracked(
        _ name: String,
        priority: TaskPriority? = nil,
        fileID: String = #fileID,
        line: Int = #line,
        function: String = #function,
        @_inheritActorContext @_implicitSelfCapture operation:
            sending @escaping @isolated(any) () async throws -> Success
    ) -> Task<Success, any Error> {
        guard let record = TaskScope.recordSpawn(name: name, fileID: fileID, line: line, function: function) else {
            return Task(name: name, priority: priority, operation: operation)
        }
        let task = Task(priority: priority) {
            try await TaskScope.runThrowing(record, operation)
        }
        TaskScope.started(record, as: task)
        return task
    }
}

// The entry points are inlinable so that the caller's module specialises them for
// its `Success`: unspecialised generic async wrappers cost frames in every task.
extension TaskScope {
    /// Records a spawn with the caller's tracked task as parent; `nil` when disabled.
    @usableFromInline
    static func recordSpawn(
        name: String, fileID: String, line: Int, function: String, isRequestScope: Bool = false
    ) -> TaskRecord? {
        guard !isDisabledByEnvironment else { return nil }
        let parent = currentRecord
        // The parent is marked (read first: a parent spawning many children writes its cache line once).
        if let parent, !parent.hasTrackedChildren.load(ordering: .relaxed) {
            parent.hasTrackedChildren.store(true, ordering: .relaxed)
        }
        return registry.spawn(
            name: name, parentID: parent?.id ?? 0, file: fileID, line: line, function: function,
            traceID: TraceIDs.forChild(of: parent), servesRequest: isRequestScope || parent?.servesRequest == true)
    }

    /// Records a spawn with the parent `parentID`; `nil` when disabled.
    @usableFromInline
    static func recordSpawn(
        name: String, parentID: UInt64, fileID: String, line: Int, function: String
    )
        -> TaskRecord?
    {
        guard !isDisabledByEnvironment else { return nil }
        let parent = currentRecord
        return registry.spawn(
            name: name, parentID: parentID, file: fileID, line: line, function: function,
            traceID: TraceIDs.forChild(of: parent), servesRequest: parent?.servesRequest == true)
    }

    /// The id of the tracked task the current code runs in or descends from, or 0: the
    /// parent of a task spawned here.
    @usableFromInline
    static var currentParentID: UInt64 { currentRecord?.id ?? 0 }

    /// ``currentParentID``, noting on the parent that tracked tasks are started in it (a tracked
    /// task group's children).
    @usableFromInline
    static var parentIDMarkingChildren: UInt64 {
        guard let parent = currentRecord else { return 0 }
        if !parent.hasTrackedChildren.load(ordering: .relaxed) {
            parent.hasTrackedChildren.store(true, ordering: .relaxed)
        }
        return parent.id
    }

    @inlinable
    static func run<Success: Sendable>(
        _ record: TaskRecord, _ operation: @isolated(any) () async -> Success
    ) async -> Success {
        enter(record)
        let value = await currentRecordLocal.withValue(record) { await operation() }
        finished(record)
        return value
    }

    @inlinable
    static func runThrowing<Success: Sendable>(
        _ record: TaskRecord, _ operation: @isolated(any) () async throws -> Success
    ) async throws -> Success {
        enter(record)
        do {
            let value = try await currentRecordLocal.withValue(record) { try await operation() }
            finished(record)
            return value
        } catch {
            finished(record, throwing: error)
            throw error
        }
    }

    /// Marks the record as run by `task`, as soon as its spawner has the handle: the handle's
    /// bits are the task's address, so the task need not look itself up when it starts.
    @inlinable
    static func started<Success, Failure>(_ record: TaskRecord, as task: Task<Success, Failure>) {
        guard MemoryLayout<Task<Success, Failure>>.size == MemoryLayout<Int>.size else { return }
        enter(record, taskKey: unsafeBitCast(task, to: Int.self))
    }

    @usableFromInline
    static func enter(_ record: TaskRecord, taskKey: Int) {
        registry.enter(record, taskKey: taskKey)
    }

    /// Marks the record as run by the current Swift task, unless its spawner did already
    /// (a task group's child has no handle; a task can also start before its spawner
    /// holds the handle). Either way the key is the same address.
    @usableFromInline
    static func enter(_ record: TaskRecord) {
        if record.taskKey.load(ordering: .acquiring) == 0 {
            registry.enter(record, taskKey: currentTaskKey())
        }
    }

    /// Finishes a record whose operation returned. Its task is the current one, so its
    /// cancellation is read through the record, without looking the task up again.
    @usableFromInline
    static func finished(_ record: TaskRecord) {
        registry.finish(record, outcome: .completed, wasCancelled: record.taskIsCancelled)
    }

    /// Finishes a record whose operation threw: `cancelled` for a cancellation, else `failed`.
    @usableFromInline
    static func finished(_ record: TaskRecord, throwing error: any Error) {
        let wasCancelled = record.taskIsCancelled
        let cancelled = error is CancellationError || wasCancelled
        registry.finish(
            record, outcome: cancelled ? .cancelled : .failed,
            errorType: cancelled ? nil : String(reflecting: type(of: error)),
            wasCancelled: wasCancelled)
    }
}

extension Task where Failure == Never {
    /// Starts a task that taskscope tracks: a normal unstructured `Task`,
    /// recorded with a name, its parent tracked task, its spawn site, its
    /// state and waits, and its outcome.
    ///
    /// Cost: about one plain `Task {}` spawn plus one allocation, one lock and
    /// a task-local binding.
    @inlinable
    @discardableResult
    public static func tracked(
        _ name: String,
        priority: TaskPriority? = nil,
        fileID: String = #fileID,
        line: Int = #line,
        function: String = #function,
        operation: sending @escaping @isolated(any) () async -> Success
    ) -> Task<Success, Never> {
        guard let record = TaskScope.recordSpawn(name: name, fileID: fileID, line: line, function: function) else {
            return Task(name: name, priority: priority, operation: operation)
        }
        // The record carries the name; naming the Swift task as well would cost an allocation per spawn.
        return Task(priority: priority) {
            await TaskScope.run(record, operation)
        }
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
        operation: sending @escaping @isolated(any) () async throws -> Success
    ) -> Task<Success, any Error> {
        guard let record = TaskScope.recordSpawn(name: name, fileID: fileID, line: line, function: function) else {
            return Task(name: name, priority: priority, operation: operation)
        }
        return Task(priority: priority) {
            try await TaskScope.runThrowing(record, operation)
        }
    }
}

// The entry points are inlinable so that the caller's module specialises them for
// its `Success`: unspecialised generic async wrappers cost frames in every task.
extension TaskScope {
    /// Records a spawn with the caller's tracked task as parent; `nil` when disabled.
    @usableFromInline
    static func recordSpawn(name: String, fileID: String, line: Int, function: String) -> TaskRecord? {
        guard !isDisabledByEnvironment else { return nil }
        return registry.spawn(
            name: name, parentID: currentRecord?.id ?? 0, file: fileID, line: line, function: function)
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

    /// Marks the record as run by the current Swift task.
    @usableFromInline
    static func enter(_ record: TaskRecord) {
        registry.enter(record, taskKey: currentTaskKey())
    }

    /// Finishes a record whose operation returned.
    @usableFromInline
    static func finished(_ record: TaskRecord) {
        registry.finish(record, outcome: .completed, wasCancelled: Task<Never, Never>.isCancelled)
    }

    /// Finishes a record whose operation threw: `cancelled` for a cancellation, else `failed`.
    @usableFromInline
    static func finished(_ record: TaskRecord, throwing error: any Error) {
        let cancelled = error is CancellationError || Task<Never, Never>.isCancelled
        registry.finish(
            record, outcome: cancelled ? .cancelled : .failed,
            errorType: cancelled ? nil : String(reflecting: type(of: error)),
            wasCancelled: Task<Never, Never>.isCancelled)
    }
}

extension TaskScope {
    /// Runs `body` as a tracked scope of the current task, named `name`: for its duration the
    /// current task, started by a framework rather than by `Task.tracked`, is a tracked task
    /// (a request in flight, say `GET /users/:id`). Its waits, its time and the tracked tasks it
    /// starts are the scope's; when `body` returns or throws, the scope finishes as a tracked
    /// task does (`completed`, `failed`, or `cancelled`), and the task goes on untracked.
    ///
    /// ```swift
    /// func handle(_ request: Request) async throws -> Response {
    ///     try await TaskScope.scope("GET /users/:id") {
    ///         try await users.find(request.id)
    ///     }
    /// }
    /// ```
    ///
    /// Inside a tracked task (or another scope) the scope is its child; scopes nest. `body` runs
    /// on the caller's actor, as the code around it does. The scope's spawn site is the call's
    /// file and line, with `function` (the caller's by default): a middleware that opens every
    /// request's scope at one line passes the route, so that requests group by route.
    ///
    /// Cost: about a tracked spawn's bookkeeping (one record, two short uncontended locks) and
    /// a task-local binding, without a new Swift task.
    public static func scope<Result: Sendable>(
        _ name: String,
        fileID: String = #fileID,
        line: Int = #line,
        function: String = #function,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        #if Untracked
        return try await body()
        #else
        let key = currentTaskKey()
        guard key != 0,
            let record = recordSpawn(name: name, fileID: fileID, line: line, function: function, isRequestScope: true)
        else {
            return try await body()
        }
        registry.enter(record, taskKey: key)
        do {
            let value = try await currentRecordLocal.withValue(record, operation: body, isolation: isolation)
            finished(record)
            return value
        } catch {
            finished(record, throwing: error)
            throw error
        }
        #endif
    }
}

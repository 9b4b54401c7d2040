import ScopeProtocol

extension TaskScope {
    /// Runs `body` as a labelled wait: while it runs, the current tracked task
    /// shows as `waiting` with reason `reason` at the caller's line.
    ///
    /// Waits nest: an inner wait shows while it runs, then the outer one again.
    /// Outside a tracked task it just runs `body`. Cost: a task-local read and
    /// two uncontended locks; no allocation.
    ///
    /// ```swift
    /// let user = try await TaskScope.waiting(on: "db.query") { try await db.user(id) }
    /// ```
    public static func waiting<T, E: Error>(
        on reason: String,
        fileID: String = #fileID,
        line: Int = #line,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        guard let record = currentRecord else { return try await body() }
        let token = registry.beginWait(record, reason: reason, file: fileID, line: line)
        defer { registry.endWait(record, token) }
        return try await body()
    }

    /// `Task.sleep(for:)` recorded as a wait with reason `sleep`.
    public static func sleep(
        for duration: Duration, fileID: String = #fileID, line: Int = #line
    ) async throws {
        try await waiting(on: WaitReason.sleep, fileID: fileID, line: line) { () async throws -> Void in
            try await Task.sleep(for: duration)
        }
    }
}

import ScopeProtocol
import Synchronization

extension TaskScope {
    /// Runs `body` as a labelled wait: while it runs, the current task shows
    /// as `waiting` with reason `reason` at the caller's line.
    ///
    /// Waits nest: an inner wait shows while it runs, then the outer one again.
    /// An untracked task is adopted for the duration of the wait (shown with its
    /// `Task.name`). Cost inside a tracked task: a task-local read, two clock
    /// reads and a few atomic operations; no lock and no allocation when the task waits
    /// at the same place as last time (the usual loop), one uncontended lock otherwise.
    ///
    /// ```swift
    /// let user = try await TaskScope.waiting(on: "db.query") { try await db.user(id) }
    /// ```
    @inlinable
    public static func waiting<T, E: Error>(
        on reason: String,
        fileID: String = #fileID,
        line: Int = #line,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        // Inlined into the caller, with a non-generic start and end: no generic async
        // layer stands between the caller and its own await.
        let wait = beginWait(reason, resource: 0, fileID: fileID, line: line)
        defer { endWait(wait) }
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

    /// Records a wait on `resource` around `body`, which receives the id of the
    /// waiting task (tracked or adopted; 0 when tracking is off).
    @inlinable
    static func recordingWait<T, E: Error>(
        _ reason: String, resource: UInt64, fileID: String, line: Int,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (UInt64) async throws(E) -> T
    ) async throws(E) -> T {
        let wait = beginWait(reason, resource: resource, fileID: fileID, line: line)
        defer { endWait(wait) }
        return try await body(wait.taskID)
    }

    /// Starts recording a wait of the current task: its own record's, or an adopted one's.
    @usableFromInline
    static func beginWait(_ reason: String, resource: UInt64, fileID: String, line: Int) -> OpenWait {
        #if Untracked
        return OpenWait()
        #else
        if let record = ownRecord {
            let token = registry.beginWait(record, reason: reason, file: fileID, line: line, resource: resource)
            return OpenWait(record: record, token: token)
        }
        guard !isDisabledByEnvironment,
            let (adoption, key) = Adoptions.shared.enter(registry, parent: currentRecord?.id ?? 0)
        else {
            return OpenWait()
        }
        let token = registry.beginWait(adoption, reason: reason, file: fileID, line: line, resource: resource)
        return OpenWait(record: adoption, token: token, adoptionKey: key)
        #endif
    }

    /// Starts a wait of a task group's owner: on `adopted`, the record its group adopted
    /// for it once (when the owner is untracked), else as any wait.
    @usableFromInline
    static func beginWait(_ reason: String, on adopted: TaskRecord?, fileID: String, line: Int) -> OpenWait {
        guard let adopted else { return beginWait(reason, resource: 0, fileID: fileID, line: line) }
        let token = registry.beginWait(adopted, reason: reason, file: fileID, line: line)
        return OpenWait(record: adopted, token: token)
    }

    /// Adopts the current task for the life of a tracked task group it owns, when it is not
    /// tracked itself: the group's waits then find their record without the process-wide
    /// table and without a record made and dropped per `next()`.
    @usableFromInline
    static func adoptForGroup() -> TaskRecord? {
        guard ownRecord == nil, !isDisabledByEnvironment else { return nil }
        return Adoptions.shared.enter(registry, parent: currentRecord?.id ?? 0)?.record
    }

    /// Ends an adoption of ``adoptForGroup()``.
    @usableFromInline
    static func endGroupAdoption(_ record: TaskRecord?) {
        if record != nil { Adoptions.shared.leave(registry, key: currentTaskKey()) }
    }

    /// Ends a wait begun with ``beginWait(_:resource:fileID:line:)``.
    @usableFromInline
    static func endWait(_ wait: OpenWait) {
        guard let record = wait.record else { return }
        record._withUnsafeGuaranteedRef { registry.endWait($0, wait.token) }
        if wait.adoptionKey != 0 { Adoptions.shared.leave(registry, key: wait.adoptionKey) }
    }
}

/// A wait being recorded: whose it is and how it began.
///
/// It holds its record unretained, so that passing it around costs no reference
/// counting on every wait: the record is kept alive by whoever handed it out for the
/// whole wait (the task-local binding of a tracked task, the adoption table, or the
/// task group that adopted its owner).
@usableFromInline
struct OpenWait: Sendable {
    let record: Unmanaged<TaskRecord>?
    let token: WaitToken
    /// The key of the task adopted for this wait (see ``Adoptions``), or 0: the wait's end
    /// then need not look the task up again.
    let adoptionKey: Int

    /// A wait that is not recorded (tracking is off).
    init() {
        record = nil
        token = .unrecorded
        adoptionKey = 0
    }

    init(record: TaskRecord, token: WaitToken, adoptionKey: Int = 0) {
        self.record = .passUnretained(record)
        self.token = token
        self.adoptionKey = adoptionKey
    }

    /// The id of the waiting task, tracked or adopted; 0 when tracking is off.
    @usableFromInline var taskID: UInt64 { record?._withUnsafeGuaranteedRef { $0.id } ?? 0 }
}

/// Untracked tasks currently adopted, by the identity of the Swift task, so
/// that nested waits of one task share one record.
///
/// Spread over 16 tables by task, each behind its own lock: every wait of an untracked
/// task passes through here twice, and one process-wide lock was contended between cores.
final class Adoptions: Sendable {
    static let shared = Adoptions()

    private final class Table: Sendable {
        let entries = Mutex<[Int: (record: TaskRecord, depth: Int)]>([:])
    }
    private static let tableCount = 16
    private let tables = (0..<Adoptions.tableCount).map { _ in Table() }

    private func table(for key: Int) -> Table {
        // Task addresses are aligned, so their low bits say little.
        tables[(key >> 8 ^ key >> 4) & (Adoptions.tableCount - 1)]
    }

    /// The adopted record of the current task, created on its first wait, with the task's key.
    func enter(_ registry: Registry, parent: UInt64) -> (record: TaskRecord, key: Int)? {
        let key = TaskScope.currentTaskKey()
        guard key != 0 else { return nil }
        let table = table(for: key)
        let nested: TaskRecord? = table.entries.withLock { entries in
            guard var entry = entries[key] else { return nil }
            entry.depth += 1
            entries[key] = entry
            return entry.record
        }
        if let nested { return (nested, key) }
        // Only the current task adds or removes its own key, so nobody adds it meanwhile; and the
        // tracer's injector (the trace id) runs outside the table's lock.
        let record = registry.adopt(
            name: Adoptions.currentTaskName() ?? "(untracked task)", parentID: parent, traceID: TraceIDs.current())
        table.entries.withLock { $0[key] = (record, 1) }
        return (record, key)
    }

    /// Ends one wait of the task with key `key` (the current one); the record goes when its
    /// outermost wait ends.
    func leave(_ registry: Registry, key: Int) {
        let dropped: TaskRecord? = table(for: key).entries.withLock { entries in
            guard var entry = entries[key] else { return nil }
            entry.depth -= 1
            if entry.depth > 0 {
                entries[key] = entry
                return nil
            }
            entries[key] = nil
            return entry.record
        }
        if let dropped { registry.dropAdopted(dropped) }
    }

    /// Notes on the record of every adopted task that has been cancelled when this was first
    /// seen (`now`), for `ignored-cancellation`: an `async let` child or a plain task that
    /// ignores its cancellation while it waits on something tracked.
    ///
    /// A task is alive while its entry is here (it removes the entry itself when its outermost
    /// wait ends), so it is asked under its table's lock. The task's key is not stored in the
    /// record: a record with a key is taken for a tracked task's own.
    ///
    /// Cost: one copy of each table's keys, then one lookup and one status read per adopted
    /// task, `sliceSize` per lock hold, so an untracked task's wait waits at most one slice.
    func noteCancellations(now: UInt64, sliceSize: Int = Adoptions.sliceSize) {
        guard MemoryLayout<UnsafeCurrentTask>.size == MemoryLayout<Int>.size else { return }
        for table in tables {
            let keys = table.entries.withLock { Array($0.keys) }
            var start = 0
            while start < keys.count {
                let slice = keys[start..<min(start + max(1, sliceSize), keys.count)]
                start = slice.endIndex
                let cancelled: [TaskRecord] = table.entries.withLock { entries in
                    slice.compactMap { key in
                        guard let entry = entries[key], unsafeBitCast(key, to: UnsafeCurrentTask.self).isCancelled
                        else { return nil }
                        return entry.record
                    }
                }
                for record in cancelled {
                    record.withShardLocked { _ in
                        if record.cancelledAt == 0 { record.cancelledAt = max(now, 1) }
                    }
                }
            }
        }
    }

    /// How many adopted tasks ``noteCancellations(now:)`` asks per hold of a table's lock.
    static let sliceSize = 256

    private static func currentTaskName() -> String? {
        if #available(macOS 26.0, *) {
            return Task<Never, Never>.name
        }
        return nil
    }
}

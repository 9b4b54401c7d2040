import Synchronization

/// The wait sites declared long-lived in code (`TaskScope.waiting(on:expectedLong:...)`): a
/// listener on a global channel, a loop waiting for shutdown. `stuck-wait` never reports them,
/// however long they wait or however many pile up.
final class LongWaits: Sendable {
    /// The sites of this process.
    static let shared = LongWaits()

    private let keys = Mutex<Set<WaitPointKey>>([])

    /// Declares the site long-lived. Cost: one uncontended lock and a set lookup.
    func declare(_ key: WaitPointKey) {
        keys.withLock { _ = $0.insert(key) }
    }

    /// The declared sites.
    var declared: Set<WaitPointKey> { keys.withLock { $0 } }
}

extension TaskScope {
    /// A labelled wait (see ``waiting(on:fileID:line:isolation:_:)``) declared long-lived when
    /// `expectedLong` is true: a listener that waits for the life of the process, a loop that
    /// waits for shutdown. The `stuck-wait` rule then never reports waits at this line, however
    /// long they last and however many tasks wait here; the definite rules still see them.
    ///
    /// Cost: that of `waiting(on:)`, plus one uncontended lock per call when `expectedLong`.
    ///
    /// ```swift
    /// let event = await TaskScope.waiting(on: "events", expectedLong: true) { await events.next() }
    /// ```
    @inlinable
    public static func waiting<T, E: Error>(
        on reason: String,
        expectedLong: Bool,
        fileID: String = #fileID,
        line: Int = #line,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        if expectedLong { declareLongWait(reason, fileID: fileID, line: line) }
        let wait = beginWait(reason, resource: 0, fileID: fileID, line: line)
        defer { endWait(wait) }
        return try await body()
    }

    /// Declares the wait site long-lived (see `LongWaits`).
    @usableFromInline
    static func declareLongWait(_ reason: String, fileID: String, line: Int) {
        LongWaits.shared.declare(WaitPointKey(reason: reason, file: fileID, line: line))
    }
}

import Synchronization

/// Which task each tracked task is joining: the `join` edges of the wait-for graph.
///
/// Keyed by the waiting task's id; the target is the joined task's address, which its
/// record carries as `taskKey` (the joiner's handle keeps the joined task alive, so the
/// address names one task for the whole join). Spread over 16 tables, each behind its own
/// lock. Cost: two uncontended locks per `join()`; the rule pass copies the tables.
final class JoinTargets: Sendable {
    static let shared = JoinTargets()

    private final class Table: Sendable {
        let entries = Mutex<[UInt64: Int]>([:])
    }
    private static let tableCount = 16
    private let tables = (0..<JoinTargets.tableCount).map { _ in Table() }

    private func table(for waiter: UInt64) -> Table { tables[Int(waiter % UInt64(JoinTargets.tableCount))] }

    func enter(waiter: UInt64, target: Int) {
        table(for: waiter).entries.withLock { $0[waiter] = target }
    }

    func leave(waiter: UInt64) {
        _ = table(for: waiter).entries.withLock { $0.removeValue(forKey: waiter) }
    }

    /// Every join in progress: the joined task's address by the joining task's id.
    func snapshot() -> [UInt64: Int] {
        var joins: [UInt64: Int] = [:]
        for table in tables {
            table.entries.withLock { entries in joins.merge(entries) { first, _ in first } }
        }
        return joins
    }
}

import Synchronization

/// The bytes the agent holds for its clients: written to their connections and not yet sent.
///
/// Kept so that the bound on them can be checked (tests read it) and reported.
final class OutputLedger: Sendable {
    private let total = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    /// Bytes queued for every client together, now.
    var queuedBytes: Int { total.load(ordering: .relaxed) }

    /// The most bytes one client has had queued at once since the agent started (or the last
    /// ``resetPeak()``).
    var peakClientBytes: Int { peak.load(ordering: .relaxed) }

    /// Notes `bytes` queued for a client that now has `clientTotal` queued.
    func queued(_ bytes: Int, clientTotal: Int) {
        total.add(bytes, ordering: .relaxed)
        peak.max(clientTotal, ordering: .relaxed)
    }

    /// Notes `bytes` sent, or dropped with their connection.
    func sent(_ bytes: Int) { total.subtract(bytes, ordering: .relaxed) }

    func resetPeak() { peak.store(0, ordering: .relaxed) }
}

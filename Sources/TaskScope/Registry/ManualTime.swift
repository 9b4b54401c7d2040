import Synchronization

/// Monotonic nanoseconds that move only when set or advanced: the time of an ``AgentClock``
/// for tests that need a wait to have begun, or a task to have been cancelled, at a given moment.
final class ManualTime: Sendable {
    private let value: Atomic<UInt64>

    /// A time starting at `start` (the coarse clock's reading when `nil`).
    init(start: UInt64? = nil) {
        value = Atomic(start ?? AgentClock.coarse())
    }

    /// The current reading.
    var now: UInt64 { value.load(ordering: .acquiring) }

    /// Sets the reading; it may go back, as a test needs.
    func set(_ nanoseconds: UInt64) {
        value.store(nanoseconds, ordering: .releasing)
    }

    /// Moves the reading forward by `nanoseconds`.
    func advance(by nanoseconds: UInt64) {
        value.wrappingAdd(nanoseconds, ordering: .acquiringAndReleasing)
    }
}

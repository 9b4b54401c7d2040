import Synchronization

/// The tests that start the process-wide agent (`TaskScope.start()`), one at a time: the test
/// process has one, and two tests sharing it would stop it under each other.
public enum GlobalAgent {
    private static let busy = Atomic<Bool>(false)

    /// Runs `body` with the process-wide agent to itself.
    public static func exclusively<T>(_ body: () async throws -> T) async throws -> T {
        try await eventually("the process-wide agent is free", timeout: .seconds(60)) {
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        }
        defer { busy.store(false, ordering: .releasing) }
        return try await body()
    }
}

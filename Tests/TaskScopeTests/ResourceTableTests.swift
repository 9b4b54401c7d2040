import Synchronization
import TestSupport
import Testing

@testable import TaskScope

@Suite(.timeLimit(.minutes(2))) struct ResourceTableTests {
    /// A resource whose last reference goes while the table is being read unregisters itself
    /// under the table's lock: the reader must never be the one holding that last reference.
    /// (Found by the fuzz test: the host process died of a recursive lock.)
    @Test func resourcesDyingWhileTheTableIsReadLeaveItConsistent() async throws {
        let registry = Registry()
        let (started, stop) = (Flag(), Flag())
        // A thread of its own: a loop that never suspends would hold one of the few threads every
        // test's tasks run on (two on this machine) for as long as the spawner below takes.
        let reader = Task {
            try await onOwnThread {
                var reads = 0
                while !stop.isRaised {
                    started.raise()
                    _ = registry.resources.countsByKind()
                    _ = registry.resources.reports(registry.reportContext())
                    reads += 1
                }
                return reads
            }
        }
        while !started.isRaised { await Task.yield() }
        for index in 0..<50_000 {
            _ = ChannelCore<Int>(capacity: 0, name: "short-lived", fileID: "F.swift", line: index, registry: registry)
        }
        stop.raise()
        #expect(try await reader.value > 0)
        #expect(registry.resources.countsByKind().isEmpty)
    }
}

final class Flag: Sendable {
    private let raised = Atomic(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

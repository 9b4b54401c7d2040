import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// A ticker belongs to the task that uses it: a heartbeat made by a setup task that returns
/// and consumed by a loop is healthy; a ticker nobody waits on any more is orphaned, whoever
/// made it (a plain task included).
@Suite(.timeLimit(.minutes(1))) struct TickerOwnershipTests {
    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    static func report(_ name: String) -> ResourceInfo? {
        TaskScope.registry.resources.reports(TaskScope.registry.reportContext()).first { $0.name == name }
    }

    /// Every warning involving the ticker or the tasks named, from rules with the default settings.
    static func warnings(about names: Set<String>, ids: Set<UInt64>) -> [Warning] {
        LeakRules(settings: TaskScope.RuleSettings()).evaluate(registry: TaskScope.registry, samples: []).filter {
            names.contains($0.name ?? "") || !ids.isDisjoint(with: $0.taskIDs) || ids.contains($0.owner ?? 0)
        }
    }

    @Test func aHeartbeatMadeBySetupAndConsumedByALoopIsHealthy() async throws {
        let name = Self.unique("heartbeat")
        let beats = PublicSurfaceTests.Counter()
        // Setup makes the ticker, starts the loop that consumes it until shutdown, and returns.
        let setup = Task.tracked(Self.unique("setup")) {
            let ticker = TrackedTicker(every: .milliseconds(100), name: name)
            let consumer = Task.tracked(Self.unique("heartbeat-loop")) {
                defer { ticker.stop() }
                for try await _ in ticker.ticks() {
                    beats.add()
                    try await Task.sleep(for: .milliseconds(20))  // the work of a beat
                }
            }
            return (TaskScope.currentTaskID, consumer, ticker)
        }
        let (setupIDIfTracked, consumer, ticker) = await setup.value
        let setupID = try #require(setupIDIfTracked)
        // Well past three periods and the second of patience, beating all along.
        let from = ContinuousClock.now
        try await eventually("the loop beats for two seconds", timeout: .seconds(40)) {
            beats.count >= 5 && ContinuousClock.now - from > .seconds(2)
        }
        let report = try #require(Self.report(name))
        #expect(report.owner != setupID, "the loop that waits on it owns it")
        #expect(report.orphaned == false)
        #expect(Self.warnings(about: [name], ids: [setupID, report.owner ?? 0]).isEmpty)
        consumer.cancel()
        _ = await consumer.result
        #expect(Self.report(name)?.state == "stopped")
        #expect(ticker.isStopped)
    }

    @Test func aTickerMadeInAPlainTaskIsOrphanedOnceNobodyWaitsOnIt() async throws {
        let name = Self.unique("plain-ticker")
        let done = Flag()
        // A plain (untracked) task makes and consumes it for a while: healthy while it does.
        let plain = Task {
            let ticker = TrackedTicker(every: .milliseconds(100), name: name)
            var count = 0
            for try await _ in ticker.ticks() {
                count += 1
                if done.isRaised { break }
            }
            // Buggy: stops using it without stop(); whoever keeps it keeps it armed.
            return (ticker, count)
        }
        try await Task.sleep(for: .milliseconds(1_500))  // the consuming stretch under test
        #expect(Self.report(name)?.orphaned == false)
        #expect(Self.warnings(about: [name], ids: []).isEmpty)
        done.raise()
        let (ticker, count) = try await plain.value
        #expect(count > 0)
        try await eventually("orphaned-timer fires for a ticker without a tracked owner") {
            Self.warnings(about: [name], ids: []).contains { $0.rule == .orphanedTimer }
        }
        let warning = try #require(Self.warnings(about: [name], ids: []).first { $0.rule == .orphanedTimer })
        #expect(warning.owner == nil)
        #expect(warning.message.contains("no tracked task owns it"))
        // Fixed: stopped, it is not orphaned.
        ticker.stop()
        #expect(Self.warnings(about: [name], ids: []).isEmpty)
    }
}

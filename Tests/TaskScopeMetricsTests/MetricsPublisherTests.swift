import MetricsTestKit
import ScopeProtocol
import Testing

@testable import TaskScope
@testable import TaskScopeMetrics

@Suite struct MetricsPublisherTests {
    static func tick(
        active: Int, waiting: Int, waits: [String: Int], spawned: UInt64, completed: UInt64, warnings: [Warning] = [],
        channels: [(String, Int)] = []
    ) -> SamplerTick {
        let summary = Summary(
            pid: 1, process: "p", capturedAt: 0, uptime: 0,
            tasks: .init(active: active, waiting: waiting, finished: 0),
            totals: .init(spawned: spawned, completed: completed, cancelled: 0, failed: 0), waits: waits, interval: 1)
        let resources = channels.enumerated().map { index, channel in
            var info = ResourceInfo(
                id: UInt64(index + 1), kind: .channel, name: channel.0, site: SourceSite(file: "F.swift", line: 1),
                created: 0, state: "open")
            info.blockedReceiving = channel.1
            return info
        }
        return SamplerTick(summary: summary, warnings: warnings, channels: resources)
    }

    static let orphaned = Warning(
        rule: .orphanedChannel, name: "jobs", tasks: 2, taskIDs: [1, 2], message: "m", hint: "h")
    static let stuck = Warning(rule: .stuckWait, reason: "db.query", tasks: 5, taskIDs: [3], message: "m", hint: "h")

    @Test func eachTickSetsTheGaugesGrowsTheCountersAndDropsWhatLeftTheTop() throws {
        let metrics = TestMetrics()
        let publisher = MetricsPublisher(options: .init(topChannels: 1, topReasons: 2), factory: metrics)
        publisher.publish(
            Self.tick(
                active: 2, waiting: 6, waits: ["db.query": 3, "sleep": 2, "lock": 1], spawned: 10, completed: 5,
                warnings: [Self.orphaned, Self.stuck], channels: [("jobs", 2), ("mail", 1)]))
        #expect(try metrics.expectGauge("taskscope_tasks", [("state", "active")]).lastValue == 2)
        #expect(try metrics.expectGauge("taskscope_tasks", [("state", "waiting")]).lastValue == 6)
        // The most common reason, then the rest summed.
        #expect(try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "db.query")]).lastValue == 3)
        #expect(try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "other")]).lastValue == 3)
        #expect(throws: (any Error).self) { try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "sleep")]) }
        #expect(try metrics.expectCounter("taskscope_tasks_spawned_total").totalValue == 10)
        #expect(try metrics.expectCounter("taskscope_tasks_completed_total").totalValue == 5)
        #expect(try metrics.expectGauge("taskscope_warnings", [("rule", "orphaned-channel")]).lastValue == 1)
        #expect(try metrics.expectGauge("taskscope_warnings", [("rule", "stuck-wait")]).lastValue == 1)
        #expect(try metrics.expectGauge("taskscope_warnings", [("rule", "leaked-continuation")]).lastValue == 0)
        // Only definite leaks count as leaked tasks.
        #expect(try metrics.expectGauge("taskscope_leaked_tasks").lastValue == 2)
        // The channel with the most blocked tasks only.
        #expect(try metrics.expectGauge("taskscope_channel_blocked_tasks", [("channel", "jobs")]).lastValue == 2)
        #expect(throws: (any Error).self) {
            try metrics.expectGauge("taskscope_channel_blocked_tasks", [("channel", "mail")])
        }

        // Next tick: totals grew, db.query and jobs went away.
        publisher.publish(
            Self.tick(active: 1, waiting: 1, waits: ["sleep": 1], spawned: 25, completed: 24, channels: [("mail", 1)]))
        #expect(try metrics.expectCounter("taskscope_tasks_spawned_total").totalValue == 25)
        #expect(try metrics.expectCounter("taskscope_tasks_completed_total").totalValue == 24)
        // What dropped out of the top is removed, not left at zero for ever.
        #expect(throws: (any Error).self) {
            try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "db.query")])
        }
        #expect(throws: (any Error).self) { try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "other")]) }
        #expect(try metrics.expectGauge("taskscope_waiting_tasks", [("reason", "sleep")]).lastValue == 1)
        #expect(throws: (any Error).self) {
            try metrics.expectGauge("taskscope_channel_blocked_tasks", [("channel", "jobs")])
        }
        #expect(try metrics.expectGauge("taskscope_channel_blocked_tasks", [("channel", "mail")]).lastValue == 1)
        #expect(try metrics.expectGauge("taskscope_leaked_tasks").lastValue == 0)
        #expect(try metrics.expectGauge("taskscope_warnings", [("rule", "orphaned-channel")]).lastValue == 0)
    }

    @Test func theExecutorLagIsPublishedWhenMeasured() throws {
        let metrics = TestMetrics()
        let publisher = MetricsPublisher(options: .init(), factory: metrics)
        var tick = Self.tick(active: 1, waiting: 0, waits: [:], spawned: 1, completed: 0)
        publisher.publish(tick)
        #expect(throws: (any Error).self) { try metrics.expectGauge("taskscope_executor_lag_seconds") }
        tick.executorLag = 0.35
        publisher.publish(tick)
        #expect(try metrics.expectGauge("taskscope_executor_lag_seconds").lastValue == 0.35)
    }
}

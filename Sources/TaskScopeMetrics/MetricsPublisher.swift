import CoreMetrics
import ScopeProtocol
import Synchronization
import TaskScope

/// Turns sampler ticks into metric updates, remembering what it published last so that
/// counters grow by the difference and the series of a reason or channel that drops out
/// of the top are removed (so the backend's series stay as few as the options say).
final class MetricsPublisher: Sendable {
    private let options: TaskScopeMetrics.Options
    private let factory: any MetricsFactory
    private let state = Mutex(State())

    private struct State {
        var totals = Summary.Totals(spawned: 0, completed: 0, cancelled: 0, failed: 0)
        var reasons: Set<String> = []
        var channels: Set<String> = []
    }

    init(options: TaskScopeMetrics.Options, factory: any MetricsFactory) {
        self.options = options
        self.factory = factory
    }

    func publish(_ tick: SamplerTick) {
        let summary = tick.summary
        Gauge(label: "taskscope_tasks", dimensions: [("state", "active")], factory: factory).record(
            summary.tasks.active)
        Gauge(label: "taskscope_tasks", dimensions: [("state", "waiting")], factory: factory).record(
            summary.tasks.waiting)

        let reasons = summary.waits.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var published = Dictionary(
            uniqueKeysWithValues: reasons.prefix(options.topReasons - 1).map { ($0.key, $0.value) })
        let others = reasons.dropFirst(options.topReasons - 1).map(\.value).reduce(0, +)
        if others > 0 { published["other"] = others }

        var rules: [LeakRule: Int] = [:]
        var leaked = 0
        for warning in tick.warnings {
            rules[warning.rule, default: 0] += 1
            if warning.severity == .definite { leaked += warning.tasks }
        }
        var blockedByChannel: [String: Int] = [:]
        for channel in tick.channels {
            let blocked: Int = (channel.blockedSending ?? 0) + (channel.blockedReceiving ?? 0)
            if blocked > 0 { blockedByChannel[channel.name, default: 0] += blocked }
        }
        let ranked: [(key: String, value: Int)] = blockedByChannel.sorted { lhs, rhs in
            lhs.value != rhs.value ? lhs.value > rhs.value : lhs.key < rhs.key
        }
        let channels = Array(ranked.prefix(options.topChannels))

        state.withLock { state in
            for reason in state.reasons.subtracting(published.keys) {
                Gauge(label: "taskscope_waiting_tasks", dimensions: [("reason", reason)], factory: factory).destroy()
            }
            for (reason, count) in published {
                Gauge(label: "taskscope_waiting_tasks", dimensions: [("reason", reason)], factory: factory).record(
                    count)
            }
            state.reasons = Set(published.keys)

            let names = Set(channels.map { $0.key })
            for name in state.channels.subtracting(names) {
                Gauge(label: "taskscope_channel_blocked_tasks", dimensions: [("channel", name)], factory: factory)
                    .destroy()
            }
            for (name, blocked) in channels {
                Gauge(label: "taskscope_channel_blocked_tasks", dimensions: [("channel", name)], factory: factory)
                    .record(blocked)
            }
            state.channels = names

            // Totals only grow; a counter takes the growth since the last tick.
            let totals = summary.totals
            grow("taskscope_tasks_spawned_total", from: state.totals.spawned, to: totals.spawned)
            grow("taskscope_tasks_completed_total", from: state.totals.completed, to: totals.completed)
            grow("taskscope_tasks_cancelled_total", from: state.totals.cancelled, to: totals.cancelled)
            grow("taskscope_tasks_failed_total", from: state.totals.failed, to: totals.failed)
            state.totals = totals
        }
        for rule in LeakRule.allCases {
            Gauge(label: "taskscope_warnings", dimensions: [("rule", rule.rawValue)], factory: factory).record(
                rules[rule] ?? 0)
        }
        Gauge(label: "taskscope_leaked_tasks", factory: factory).record(leaked)
        if let lag = tick.executorLag {
            Gauge(label: "taskscope_executor_lag_seconds", factory: factory).record(lag)
        }
    }

    private func grow(_ label: String, from old: UInt64, to new: UInt64) {
        let counter = Counter(label: label, factory: factory)
        if new > old { counter.increment(by: Int64(clamping: new - old)) }
    }
}

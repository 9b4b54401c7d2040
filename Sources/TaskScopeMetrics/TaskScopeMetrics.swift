import CoreMetrics
import ScopeProtocol
import Synchronization
import TaskScope

/// Publishes what taskscope sees through swift-metrics, to whatever backend the process
/// bootstrapped (swift-prometheus, swift-otel, statsd), on every tick of the agent's sampler:
///
/// | metric | labels | what |
/// | --- | --- | --- |
/// | `taskscope_tasks` | `state` (`active`, `waiting`) | live tracked tasks |
/// | `taskscope_waiting_tasks` | `reason` | waiting tasks by wait reason (the most common reasons; the rest as `other`) |
/// | `taskscope_tasks_spawned_total`, `…_completed_total`, `…_cancelled_total`, `…_failed_total` | | running totals |
/// | `taskscope_warnings` | `rule` | warnings of each leak rule |
/// | `taskscope_leaked_tasks` | | tasks that definite leaks hold for ever (the tasks of every definite warning) |
/// | `taskscope_executor_lag_seconds` | | the cooperative pool's worst lag over the last sample (how late a job enqueued on the global executor ran) |
/// | `taskscope_channel_blocked_tasks` | `channel` | tasks blocked on each of the channels with the most |
///
/// The agent must run (`TaskScope.start()`): its sampler's tick is the clock. The warning
/// counts are those of the agent's last pass of the rules (about every second; with
/// very many tasks less often, see `docs/PROTOCOL.md` 3.7).
/// Label cardinality is bounded by the options: a reason or channel that drops out of
/// the top has its series removed.
public enum TaskScopeMetrics {
    /// How many label values the metrics may use.
    public struct Options: Sendable {
        /// Channels published, those with the most blocked tasks first (default 10).
        public var topChannels: Int
        /// Wait reasons published, the most common first; the rest are summed as `other` (default 20).
        public var topReasons: Int

        public init(topChannels: Int = 10, topReasons: Int = 20) {
            self.topChannels = max(0, topChannels)
            self.topReasons = max(1, topReasons)
        }
    }

    private static let observer = Mutex<(token: UInt64, publisher: MetricsPublisher)?>(nil)

    /// Starts publishing on every sampler tick (again: replaces the options), through
    /// `factory` (by default the backend the process bootstrapped). Cost on each tick: a
    /// summary, a walk of the tracked resources, and a few dozen metric updates.
    public static func start(_ options: Options = Options(), factory: any MetricsFactory = MetricsSystem.factory) {
        let publisher = MetricsPublisher(options: options, factory: factory)
        let token = SamplerTicks.add { tick in publisher.publish(tick) }
        let previous = observer.withLock { current in
            defer { current = (token, publisher) }
            return current
        }
        if let previous { SamplerTicks.remove(previous.token) }
    }

    /// Stops publishing; the metrics keep their last values.
    public static func stop() {
        if let previous = observer.withLock({ current in
            defer { current = nil }; return current
        }) {
            SamplerTicks.remove(previous.token)
        }
    }

    /// Publishes now instead of at the next tick; does nothing unless started and the agent runs.
    public static func publishNow() {
        guard let publisher = observer.withLock({ $0?.publisher }), let tick = SamplerTicks.current() else { return }
        publisher.publish(tick)
    }
}

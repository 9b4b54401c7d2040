import ScopeProtocol
import Synchronization

/// What the agent's sampler saw on one tick, for observers in other modules
/// (TaskScopeMetrics publishes it): the counts, the last warnings, and the channels.
package struct SamplerTick: Sendable {
    package var summary: Summary
    /// The warnings of the last pass of the rules (about every second; less often with
    /// very many tasks, see ``RulePassSchedule``).
    package var warnings: [Warning]
    /// The tracked channels, with their blocked tasks.
    package var channels: [ResourceInfo]
    /// The cooperative pool's worst lag over the last sample's interval, in seconds (`nil` when
    /// not measured).
    package var executorLag: Double?
}

/// Observers of the sampler's ticks. Package-internal: what is observed is the agent's business.
package enum SamplerTicks {
    private static let observers = Mutex<[UInt64: @Sendable (SamplerTick) -> Void]>([:])
    private static let nextToken = Atomic<UInt64>(1)

    /// Calls `observer` on every tick of the running agent's sampler, on the agent's
    /// thread (keep it short); returns a token for ``remove(_:)``.
    package static func add(_ observer: @escaping @Sendable (SamplerTick) -> Void) -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        observers.withLock { $0[token] = observer }
        return token
    }

    package static func remove(_ token: UInt64) {
        _ = observers.withLock { $0.removeValue(forKey: token) }
    }

    static var isObserved: Bool { observers.withLock { !$0.isEmpty } }

    /// What a tick would show now; `nil` when no agent runs.
    package static func current() -> SamplerTick? {
        TaskScope.runningAgent.map { tick(of: $0) }
    }

    static func tick(of agent: Agent, counts: Counts? = nil) -> SamplerTick {
        let channels = agent.registry.resources.reports(agent.registry.reportContext()).filter { $0.kind == .channel }
        let summary = agent.summary(counts: counts)
        return SamplerTick(
            summary: summary, warnings: agent.cachedWarnings, channels: channels,
            executorLag: agent.sampler.latest?.lag ?? summary.executorLag)
    }

    /// Tells every observer about the agent's latest tick (made of `counts`, which the sampler
    /// has just taken): the process's agent only (the one `TaskScope.start()` runs), not one
    /// made apart on a registry of its own.
    static func notify(_ agent: Agent, counts: Counts) {
        let current = observers.withLock { Array($0.values) }
        guard !current.isEmpty, TaskScope.runningAgent === agent else { return }
        let tick = tick(of: agent, counts: counts)
        for observer in current { observer(tick) }
    }
}

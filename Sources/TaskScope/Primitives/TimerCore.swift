import ScopeProtocol
import Synchronization

/// What tickers and timers share, and what the registry lists for either: the
/// name and site, the owner, whether it is still armed, and its waits.
final class TimerCore: Sendable, TrackedResource {
    let resourceID: UInt64
    let kind: ResourceKind
    let name: String
    let site: SourceSite
    let created: UInt64
    /// When a one-shot timer fires; `nil` for a ticker, which fires until stopped.
    let deadline: ContinuousClock.Instant?
    /// A ticker's period in nanoseconds; `nil` for a one-shot timer.
    let period: UInt64?
    private let registry: Registry
    let state: Mutex<TimerState>

    /// Registers a new, armed timer owned by the nearest tracked task.
    init(
        kind: ResourceKind, name: String, fileID: String, line: Int, deadline: ContinuousClock.Instant?,
        period: Duration? = nil
    ) {
        registry = TaskScope.registry
        resourceID = registry.resources.makeID()
        self.kind = kind
        self.name = name
        self.deadline = deadline
        self.period = period?.nanoseconds
        site = SourceSite(file: fileID, line: line)
        created = registry.clock.now()
        state = Mutex(TimerState(owner: TaskScope.currentRecord, now: created))
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Waits (reason `timer`) until `deadline` or until stopped; returns whether it was stopped.
    func wait(until deadline: ContinuousClock.Instant, fileID: String, line: Int) async throws -> Bool {
        if isStopped { return true }
        let record = TaskScope.ownRecord
        return try await TaskScope.recordingWait(WaitReason.timer, resource: resourceID, fileID: fileID, line: line) {
            taskID in
            try await state.sleep(until: deadline, taskID: taskID, record: record, clock: registry.clock)
        }
    }

    /// Disarms it and wakes its waits.
    func stop() {
        let now = registry.clock.now()
        for waker in state.withLock({ $0.stop(at: now) }) { waker.finish() }
    }

    func handOver(to taskID: UInt64?) {
        let id = taskID ?? 0
        let record = id == 0 ? nil : registry.liveRecord(id: id)
        state.withLock { $0.setOwner(id, record: record) }
    }

    func report(_ context: ReportContext) -> ResourceInfo {
        let fired = deadline.map { ContinuousClock.now >= $0 } ?? false
        return state.withLock { state in
            let armed = !state.stopped && !fired
            let word =
                switch (kind, state.stopped) {
                case (.ticker, true): "stopped"
                case (_, true): "cancelled"
                default: fired ? "fired" : "armed"
                }
            var info = ResourceInfo(
                id: resourceID, kind: kind, name: name, site: site, created: context.wall(created), state: word)
            state.report(into: &info, armed: armed, period: period, context: context)
            return info
        }
    }
}

import ScopeProtocol
import Synchronization

/// A ticker that fires every `interval` until ``stop()``, whose waits and
/// owner taskscope can see. Its owner is the tracked task that created it
/// (or the one it is handed to): if the owner finishes while the ticker is
/// still armed, the orphaned-timer rule fires.
///
/// ```swift
/// let ticker = TrackedTicker(every: .seconds(1), name: "heartbeat")
/// defer { ticker.stop() }
/// for try await _ in ticker.ticks() { beat() }   // wait reason: timer
/// ```
public final class TrackedTicker: Sendable, TrackedResource {
    let resourceID: UInt64
    var kind: ResourceKind { .ticker }
    /// The ticker's name.
    public let name: String
    /// Time between ticks.
    public let interval: Duration
    let site: SourceSite
    let created: UInt64
    private let start: ContinuousClock.Instant
    private let registry: Registry
    private let state: Mutex<TimerState>

    /// Creates an armed ticker owned by the current tracked task.
    public init(every interval: Duration, name: String, fileID: String = #fileID, line: Int = #line) {
        registry = TaskScope.registry
        resourceID = registry.resources.makeID()
        self.name = name
        self.interval = interval > .zero ? interval : .milliseconds(1)
        site = SourceSite(file: fileID, line: line)
        created = AgentClock.coarse()
        start = .now
        state = Mutex(TimerState(owner: TaskScope.currentRecord?.id ?? 0))  // the nearest tracked task
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    /// Waits for the next tick (reason `timer`). Returns `false`, at once or at
    /// the tick, when the ticker is stopped.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    @discardableResult
    public func tick(fileID: String = #fileID, line: Int = #line) async throws -> Bool {
        if state.withLock({ $0.stopped }) { return false }
        let elapsed = ContinuousClock.now - start
        let ticksSoFar = Int(elapsed / interval)
        let deadline = start + interval * (ticksSoFar + 1)
        let stopped = try await TaskScope.recordingWait(
            WaitReason.timer, resource: resourceID, fileID: fileID, line: line
        ) { taskID in
            try await state.sleep(until: deadline, taskID: taskID)
        }
        return !stopped
    }

    /// The ticks as a sequence of tick counts, ending when the ticker is stopped.
    public func ticks(fileID: String = #fileID, line: Int = #line) -> Ticks {
        Ticks(ticker: self, fileID: fileID, line: line)
    }

    /// Stops the ticker: it is disarmed, and current waits and sequences end at once.
    public func stop() {
        let now = AgentClock.coarse()
        for waker in state.withLock({ $0.stop(at: now) }) { waker.finish() }
    }

    /// Whether ``stop()`` has been called.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Makes the current tracked task (or the task with `taskID`) the owner,
    /// for a ticker created by one task and used by another.
    public func handOver(toTask taskID: UInt64? = TaskScope.currentTaskID) {
        state.withLock { $0.owner = taskID ?? 0 }
    }

    func report(_ context: ReportContext) -> ResourceInfo {
        state.withLock { state in
            var info = ResourceInfo(
                id: resourceID, kind: .ticker, name: name, site: site, created: context.wall(created),
                state: state.stopped ? "stopped" : "armed")
            state.report(into: &info, armed: !state.stopped, context: context)
            return info
        }
    }

    /// The ticks of a ticker.
    public struct Ticks: AsyncSequence, Sendable {
        public typealias Failure = any Error
        let ticker: TrackedTicker
        let fileID: String
        let line: Int

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(ticker: ticker, fileID: fileID, line: line)
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let ticker: TrackedTicker
            let fileID: String
            let line: Int
            var count = 0

            public mutating func next() async throws -> Int? {
                guard try await ticker.tick(fileID: fileID, line: line) else { return nil }
                count += 1
                return count
            }
        }
    }
}

/// A one-shot timer whose wait and owner taskscope can see: armed until its
/// deadline passes or it is cancelled. If its owner finishes while it is
/// armed, the orphaned-timer rule fires.
public final class TrackedTimer: Sendable, TrackedResource {
    let resourceID: UInt64
    var kind: ResourceKind { .timer }
    /// The timer's name.
    public let name: String
    let site: SourceSite
    let created: UInt64
    private let deadline: ContinuousClock.Instant
    private let registry: Registry
    private let state: Mutex<TimerState>

    /// Creates a timer that fires `delay` from now, owned by the current tracked task.
    public init(after delay: Duration, name: String, fileID: String = #fileID, line: Int = #line) {
        registry = TaskScope.registry
        resourceID = registry.resources.makeID()
        self.name = name
        site = SourceSite(file: fileID, line: line)
        created = AgentClock.coarse()
        deadline = .now + delay
        state = Mutex(TimerState(owner: TaskScope.currentRecord?.id ?? 0))  // the nearest tracked task
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    /// Waits until the timer fires (`true`) or is cancelled (`false`); reason `timer`.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    @discardableResult
    public func wait(fileID: String = #fileID, line: Int = #line) async throws -> Bool {
        if state.withLock({ $0.stopped }) { return false }
        let cancelled = try await TaskScope.recordingWait(
            WaitReason.timer, resource: resourceID, fileID: fileID, line: line
        ) { taskID in
            try await state.sleep(until: deadline, taskID: taskID)
        }
        return !cancelled
    }

    /// Cancels the timer: it is disarmed and will not fire.
    public func cancel() {
        let now = AgentClock.coarse()
        for waker in state.withLock({ $0.stop(at: now) }) { waker.finish() }
    }

    /// Whether the timer is still armed (neither fired nor cancelled).
    public var isArmed: Bool { !state.withLock { $0.stopped } && ContinuousClock.now < deadline }

    /// Makes the current tracked task (or the task with `taskID`) the owner.
    public func handOver(toTask taskID: UInt64? = TaskScope.currentTaskID) {
        state.withLock { $0.owner = taskID ?? 0 }
    }

    func report(_ context: ReportContext) -> ResourceInfo {
        let fired = ContinuousClock.now >= deadline
        return state.withLock { state in
            let armed = !state.stopped && !fired
            var info = ResourceInfo(
                id: resourceID, kind: .timer, name: name, site: site, created: context.wall(created),
                state: state.stopped ? "cancelled" : fired ? "fired" : "armed")
            state.report(into: &info, armed: armed, context: context)
            return info
        }
    }
}

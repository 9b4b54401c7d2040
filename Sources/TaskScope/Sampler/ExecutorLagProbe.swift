import NIOCore
import Synchronization

/// Measures how long a job waits for a cooperative thread: every probe interval the agent's
/// event loop (not a cooperative thread) enqueues a tiny job on the global executor and the job
/// notes how late it ran. A task that blocks a cooperative thread (a `DispatchSemaphore.wait`, a
/// synchronous read, a long CPU loop) makes every job behind it late, and the lag says so.
///
/// One probe is out at a time: a stalled pool gets one job, not one per interval, and the probe
/// still waiting counts as lag from when it was sent (a pool stalled for good shows a lag that
/// grows). A healthy pool is probed once a second, on the sampler's tick; while it is busy (the
/// last probe ran ``busyLag`` late or more, or one waits) every interval (100 ms by default).
/// Each probe wakes a thread of the pool (and a fast one the event loop too), which costs tens of
/// microseconds here: probed ten times a second, an idle process spent 0.2% of a core on it.
/// Cost when idle: one tiny task a second and two short locks.
final class ExecutorLagProbe: Sendable {
    /// A lag that makes the probe look every interval rather than every second.
    static let busyLag: UInt64 = 1_000_000

    private struct State {
        /// When the probe now waiting was sent (monotonic nanoseconds), or 0.
        var pendingSince: UInt64 = 0
        /// The longest lag since the sampler last took it.
        var worst: UInt64 = 0
        /// The lag of the last probe that ran.
        var last: UInt64 = 0
        /// Probes sent, for tests.
        var sent = 0
        /// Whether probes are sent every interval (the pool is busy).
        var fast = false
        /// The send time of the probe a stall was last reported for, and when it was reported.
        var stallReported: UInt64 = 0
        var stallReportedAt: UInt64 = 0

        /// Whether the last probe ran late, or one has waited long enough to say so.
        func isBusy(now: UInt64) -> Bool {
            last >= ExecutorLagProbe.busyLag
                || (pendingSince != 0 && now &- min(pendingSince, now) >= ExecutorLagProbe.busyLag)
        }
    }

    private let state = Mutex(State())
    /// Told (on the event loop) when a probe has waited `threshold`, with when it was sent; and
    /// (on the pool) when that probe ran.
    private let stallWatch = Mutex<StallWatch?>(nil)

    private typealias StallWatch = (
        threshold: UInt64, began: @Sendable (UInt64) -> Void, ended: @Sendable (UInt64, UInt64) -> Void
    )

    /// Reports stalls of `threshold` or more: `began` with the waiting probe's send time (once
    /// per probe), `ended` with it and when it ran.
    func watchStalls(
        threshold: Duration, began: @escaping @Sendable (UInt64) -> Void,
        ended: @escaping @Sendable (UInt64, UInt64) -> Void
    ) {
        stallWatch.withLock { $0 = (UInt64(clamping: threshold.nanoseconds), began, ended) }
    }

    /// How often a stall that lasts is reported again, so that the tasks that hold the pool later
    /// in it are seen too.
    static let stallRecheck: UInt64 = 2_000_000_000

    /// Reports a probe that has waited the stall threshold, and again every ``stallRecheck``
    /// while it still waits. On the event loop.
    private func checkStall(now: UInt64) {
        guard let watch = stallWatch.withLock({ $0 }) else { return }
        let began = state.withLock { state -> UInt64? in
            guard state.pendingSince != 0, now &- min(state.pendingSince, now) >= watch.threshold,
                state.stallReported != state.pendingSince
                    || now &- min(state.stallReportedAt, now) >= Self.stallRecheck
            else { return nil }
            state.stallReported = state.pendingSince
            state.stallReportedAt = now
            return state.pendingSince
        }
        if let began { watch.began(began) }
    }
    private let clock: AgentClock
    /// Runs a probe's job: on the global executor, as any task's job (tests give another queue).
    private let enqueue: @Sendable (@escaping @Sendable () -> Void) -> Void

    init(
        clock: AgentClock,
        enqueue: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { job in Task.detached { job() } }
    ) {
        self.clock = clock
        self.enqueue = enqueue
    }

    /// Sends a probe unless one is still waiting. Called on the agent's event loop; given the
    /// loop, and stalls being watched, it also looks again when the probe has waited the stall
    /// threshold, so a stall shorter than the probe's period is seen while it lasts.
    func fire(on loop: (any EventLoop)? = nil) {
        let sentAt = clock.now()
        let send = state.withLock { state -> Bool in
            guard state.pendingSince == 0 else { return false }
            state.pendingSince = max(sentAt, 1)
            state.sent += 1
            return true
        }
        guard send else { return }
        enqueue { [self] in ran(sentAt: max(sentAt, 1)) }
        if let loop, let threshold = stallWatch.withLock({ $0?.threshold }) {
            loop.scheduleTask(in: .nanoseconds(Int64(clamping: threshold))) { [self] in checkStall(now: clock.now()) }
        }
    }

    private func ran(sentAt: UInt64) {
        let now = clock.now()
        let lag = now &- min(sentAt, now)
        let reported = state.withLock { state -> Bool in
            state.pendingSince = 0
            state.worst = max(state.worst, lag)
            state.last = lag
            return state.stallReported == sentAt
        }
        if reported, let watch = stallWatch.withLock({ $0 }) { watch.ended(sentAt, now) }
    }

    /// The longest lag since the last call (a probe still waiting counts from when it was sent),
    /// in nanoseconds; the sampler takes it once per sample.
    func takeWorst(now: UInt64) -> UInt64 {
        state.withLock { state in
            let waiting = state.pendingSince == 0 ? 0 : now &- min(state.pendingSince, now)
            defer { state.worst = 0 }
            return max(state.worst, waiting)
        }
    }

    /// The lag now: the last probe's, or the age of the one still waiting if that is longer.
    func current(now: UInt64) -> UInt64 {
        state.withLock { state in
            let waiting = state.pendingSince == 0 ? 0 : now &- min(state.pendingSince, now)
            return max(state.last, waiting)
        }
    }

    /// Called on every sampler tick, on `loop`: sends a probe, and while the pool is busy, one
    /// every `interval` until it is not.
    func tick(on loop: any EventLoop, every interval: TimeAmount) {
        let now = clock.now()
        let start = state.withLock { state -> Bool in
            guard !state.fast, state.isBusy(now: now) else { return false }
            state.fast = true
            return true
        }
        checkStall(now: now)
        fire(on: loop)
        if start { probeFast(on: loop, every: interval) }
    }

    private func probeFast(on loop: any EventLoop, every interval: TimeAmount) {
        loop.scheduleTask(in: interval) { [self] in
            let now = clock.now()
            let busy = state.withLock { state -> Bool in
                state.fast = state.isBusy(now: now)
                return state.fast
            }
            guard busy else { return }
            checkStall(now: now)
            fire(on: loop)
            probeFast(on: loop, every: interval)
        }
    }

    /// Probes sent so far.
    var sent: Int { state.withLock { $0.sent } }
}

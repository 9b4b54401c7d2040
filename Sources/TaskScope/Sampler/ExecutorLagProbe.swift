import Synchronization

/// Measures how long a job waits for a cooperative thread: every probe interval the agent's
/// event loop (not a cooperative thread) enqueues a tiny job on the global executor and the job
/// notes how late it ran. A task that blocks a cooperative thread (a `DispatchSemaphore.wait`, a
/// synchronous read, a long CPU loop) makes every job behind it late, and the lag says so.
///
/// One probe is out at a time: a stalled pool gets one job, not one per interval, and the probe
/// still waiting counts as lag from when it was sent (a pool stalled for good shows a lag that
/// grows). Cost: one detached task per interval (10 a second by default) and two short locks.
final class ExecutorLagProbe: Sendable {
    private struct State {
        /// When the probe now waiting was sent (monotonic nanoseconds), or 0.
        var pendingSince: UInt64 = 0
        /// The longest lag since the sampler last took it.
        var worst: UInt64 = 0
        /// The lag of the last probe that ran.
        var last: UInt64 = 0
        /// Probes sent, for tests.
        var sent = 0
    }

    private let state = Mutex(State())
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

    /// Sends a probe unless one is still waiting. Called on the agent's event loop.
    func fire() {
        let sentAt = clock.now()
        let send = state.withLock { state -> Bool in
            guard state.pendingSince == 0 else { return false }
            state.pendingSince = max(sentAt, 1)
            state.sent += 1
            return true
        }
        guard send else { return }
        enqueue { [self] in ran(sentAt: max(sentAt, 1)) }
    }

    private func ran(sentAt: UInt64) {
        let now = clock.now()
        let lag = now &- min(sentAt, now)
        state.withLock { state in
            state.pendingSince = 0
            state.worst = max(state.worst, lag)
            state.last = lag
        }
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

    /// Probes sent so far.
    var sent: Int { state.withLock { $0.sent } }
}

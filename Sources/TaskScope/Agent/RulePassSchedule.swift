/// When the agent runs the leak rules over every live task, asking each whether it was
/// cancelled (which is how it learns when a cancellation happened).
///
/// About every second (`interval`) while a pass is cheap: a cancellation's time is known only
/// from the pass that first sees it, so `ignored-cancellation` reports a task within about two
/// passes of its threshold. A pass visits every live task and its Swift task, a cache miss or
/// two each: about 130 ms for a million tasks, which every second would cost an idle process
/// 13% of a core. So the next pass waits at least `backOff` times as long as the last one
/// took, and passes use at most 0.1% of a core whatever the number of tasks (up to about
/// 7,000 tasks, every second is less; beyond, the reporting is that much later). While nobody
/// watches (no client connected, no in-process observer of the ticks), passes come half as
/// often: every `unwatchedInterval` (twice `interval`, still within the two seconds in which a
/// task past its threshold must be seen) or `unwatchedBackOff` times the pass, 0.05% of a core.
/// The idle agent's whole budget is 0.1%, and the tick, the lag probe and the counts need
/// their share of it.
/// Whoever asks for warnings while the last pass is older than `interval` gets a pass of
/// their own (see ``isStale(now:)``), so a client sees cancellations at most a second stale;
/// only nobody's-looking time is spared.
struct RulePassSchedule: Sendable {
    /// The usual time between passes, in nanoseconds.
    let interval: UInt64
    /// How many times its own duration a pass waits at least before the next, while watched.
    let backOff: UInt64
    /// The same while nobody watches.
    let unwatchedBackOff: UInt64
    /// The usual time between passes while nobody watches.
    let unwatchedInterval: UInt64
    /// When the last pass ended (monotonic nanoseconds), 0 before the first.
    private(set) var lastPass: UInt64 = 0
    /// How long the last pass took, in nanoseconds.
    private(set) var lastDuration: UInt64 = 0

    /// The default interval is just under the sampler's default second, so that every tick of
    /// the sampler can run a pass (a pass ends after its tick, so a full second would skip one).
    init(
        interval: UInt64 = 900_000_000, backOff: UInt64 = 1_000, unwatchedBackOff: UInt64? = nil,
        unwatchedInterval: UInt64? = nil
    ) {
        self.interval = interval
        self.backOff = backOff
        self.unwatchedBackOff = max(
            backOff, unwatchedBackOff ?? backOff.multipliedReportingOverflow(by: 2).partialValue)
        self.unwatchedInterval = max(
            interval, unwatchedInterval ?? interval.multipliedReportingOverflow(by: 2).partialValue)
    }

    /// When the sampler should run the next pass, watched or not.
    func nextPass(watched: Bool) -> UInt64 {
        guard lastPass != 0 else { return 0 }
        let (scaled, overflow) = lastDuration.multipliedReportingOverflow(by: watched ? backOff : unwatchedBackOff)
        let wait = overflow ? UInt64.max / 2 : max(watched ? interval : unwatchedInterval, scaled)
        let (next, late) = lastPass.addingReportingOverflow(wait)
        return late ? .max : next
    }

    /// Whether the sampler should run a pass at `now`; `watched`: whether a client is connected
    /// or the ticks are observed in process (a client that connects finds the shorter wait).
    func isDue(now: UInt64, watched: Bool = true) -> Bool { now >= nextPass(watched: watched) }

    /// Whether the cancellations the last pass saw are older than `interval` at `now`.
    func isStale(now: UInt64) -> Bool { lastPass == 0 || now >= lastPass && now - lastPass >= interval }

    /// Notes a pass that ended at `end` after `duration` nanoseconds.
    mutating func passed(endingAt end: UInt64, taking duration: UInt64) {
        lastPass = max(end, 1)
        lastDuration = duration
    }
}

/// When the agent runs the leak rules over every live task, asking each whether it was
/// cancelled (which is how it learns when a cancellation happened).
///
/// About every second (`interval`) while a pass is cheap: a cancellation's time is known only
/// from the pass that first sees it, so `ignored-cancellation` reports a task within about two
/// passes of its threshold. A pass visits every live task and its Swift task, a cache miss or
/// two each: about 130 ms for a million tasks, which every second would cost an idle process
/// 13% of a core. So the next pass waits at least `backOff` times as long as the last one
/// took, and passes use at most 0.1% of a core whatever the number of tasks (up to about
/// 7,000 tasks, every second is less; beyond, the reporting is that much later).
/// Whoever asks for warnings while the last pass is older than `interval` gets a pass of
/// their own (see ``isStale(now:)``), so a client sees cancellations at most a second stale;
/// only nobody's-looking time is spared.
struct RulePassSchedule: Sendable {
    /// The usual time between passes, in nanoseconds.
    let interval: UInt64
    /// How many times its own duration a pass waits at least before the next.
    let backOff: UInt64
    /// When the last pass ended (monotonic nanoseconds), 0 before the first.
    private(set) var lastPass: UInt64 = 0
    /// When the sampler should run the next pass.
    private(set) var nextPass: UInt64 = 0

    /// The default interval is just under the sampler's default second, so that every tick of
    /// the sampler can run a pass (a pass ends after its tick, so a full second would skip one).
    init(interval: UInt64 = 900_000_000, backOff: UInt64 = 1_000) {
        self.interval = interval
        self.backOff = backOff
    }

    /// Whether the sampler should run a pass at `now`.
    func isDue(now: UInt64) -> Bool { now >= nextPass }

    /// Whether the cancellations the last pass saw are older than `interval` at `now`.
    func isStale(now: UInt64) -> Bool { lastPass == 0 || now >= lastPass && now - lastPass >= interval }

    /// Notes a pass that ended at `end` after `duration` nanoseconds.
    mutating func passed(endingAt end: UInt64, taking duration: UInt64) {
        lastPass = end
        let (scaled, overflow) = duration.multipliedReportingOverflow(by: backOff)
        let wait = overflow ? UInt64.max / 2 : max(interval, scaled)
        let (next, late) = end.addingReportingOverflow(wait)
        nextPass = late ? .max : next
    }
}

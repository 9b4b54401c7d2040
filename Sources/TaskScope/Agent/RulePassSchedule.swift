/// When the agent runs the leak rules over every live task, asking each whether it was
/// cancelled (which is how it learns when a cancellation happened).
///
/// Every `interval` (five seconds) while a pass is cheap. A pass visits every live task and
/// its Swift task, a cache miss or two each: about 130 ms for a million tasks, which every
/// five seconds would cost an idle process 2.6% of a core. So the next pass waits at least
/// `backOff` times as long as the last one took, and passes use at most 0.05% of a core
/// whatever the number of tasks (up to about 20,000 tasks, every five seconds is less).
/// Whoever asks for warnings while the last pass is older than `interval` gets a pass of
/// their own (see ``isStale(now:)``), so a client sees cancellations as fresh as before;
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

    init(interval: UInt64 = 5_000_000_000, backOff: UInt64 = 2_000) {
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

import Synchronization

/// The wait sites where tasks pile up: what `stuck-wait` reports before any wait is old.
///
/// A leak adds tasks at a site and never lets them go; a healthy long wait (a listener, a
/// chain of tasks waiting on a slow tail, an idle pool) is steady: its tasks came at once, or
/// its long waits end now and then. So a site is a pile-up when its *settled* waiters (waiting
/// at least a quarter of `window`) arrived in at least three of the four quarters of the
/// last `window` before settling, at least `growth` of them, and none of the settled waiters
/// seen at an earlier look has left since. Once flagged, a site stays flagged while its pile
/// does not lose a settled waiter (a leak that stopped growing is still a leak).
///
/// Kept between evaluations: a departure shows only by comparing two looks (a settled
/// waiter seen at one look and gone, or waiting again since, at the next).
final class WaitPiles: Sendable {
    /// What one site looked like at the last evaluation.
    private struct Look {
        /// When (monotonic nanoseconds).
        var at: UInt64
        /// How many settled waiters it had then.
        var settled: Int
        /// Waiters that began before this are not part of the pile: a settled waiter left then.
        var pileStart: UInt64
        var flagged: Bool
    }

    /// A pile-up: its tasks (those that came since the last departure), the first ids, and
    /// when its oldest wait began.
    struct Pile {
        var count: Int
        var ids: [UInt64]
        var oldest: UInt64
    }

    /// A settled waiter: when its wait began, and its task.
    struct Waiter {
        var since: UInt64
        var id: UInt64
    }

    private let looks = Mutex<[WaitPointKey: Look]>([:])

    /// How long a waiter must have waited to count as settled, for `window`.
    static func settling(_ window: UInt64) -> UInt64 { window / 4 }

    /// Looks at the settled waiters of each site (`settled`, from one pass at `now`) and
    /// returns the sites that are pile-ups. Cost: one pass over the settled waiters.
    func piles(
        _ settled: [WaitPointKey: [Waiter]], now: UInt64, window: UInt64, growth: Int
    ) -> [WaitPointKey: Pile] {
        let settling = Self.settling(window)
        let end = now &- min(settling, now)
        let start = end &- min(window, end)
        return looks.withLock { looks in
            var piles: [WaitPointKey: Pile] = [:]
            for key in Set(settled.keys).union(looks.keys) {
                let waiters = settled[key] ?? []
                var look = looks[key] ?? Look(at: now, settled: 0, pileStart: 0, flagged: false)
                if look.at < now {
                    let settledThen = look.at &- min(settling, look.at)
                    let stayed = waiters.reduce(0) { $0 + ($1.since <= settledThen ? 1 : 0) }
                    if stayed < look.settled {
                        look.pileStart = look.at
                        look.flagged = false
                    }
                }
                let pile = waiters.filter { $0.since > look.pileStart }
                if !look.flagged, pile.count >= growth, window >= 4 {
                    var quarters = Set<UInt64>()
                    for waiter in pile where waiter.since >= start && waiter.since <= end {
                        quarters.insert(min(3, (waiter.since - start) / (window / 4)))
                    }
                    look.flagged = quarters.count >= 3
                }
                if pile.isEmpty { look.flagged = false }
                if look.flagged {
                    piles[key] = Pile(
                        count: pile.count, ids: firstIDs(pile.map(\.id)), oldest: pile.map(\.since).min() ?? now)
                }
                look.at = now
                look.settled = waiters.count
                looks[key] = waiters.isEmpty && !look.flagged ? nil : look
            }
            return piles
        }
    }
}

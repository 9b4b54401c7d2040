import NIOCore
import ScopeProtocol
import Synchronization

/// Records counts by state and by wait reason at each tick into a fixed ring,
/// so a client that attaches late still sees the recent past.
final class Sampler: Sendable {
    let capacity: Int
    let interval: Duration
    private let ring: Mutex<CircularBuffer<HistorySample>>
    /// The cooperative pool's lag, when measured: each sample records the worst since the last.
    let lagProbe: ExecutorLagProbe?

    init(capacity: Int, interval: Duration, lagProbe: ExecutorLagProbe? = nil) {
        self.capacity = max(1, capacity)
        self.interval = interval
        self.lagProbe = lagProbe
        ring = Mutex(CircularBuffer(initialCapacity: min(self.capacity, 1024)))
    }

    /// How many spawn sites a sample keeps: the busiest ones.
    static let siteLimit = 32

    /// Takes one sample of `registry`. Cost: one `Registry.counts()`, no task visited.
    /// Records one sample, and returns the counts it was made of.
    @discardableResult
    func sample(_ registry: Registry) -> Counts {
        let counts = registry.counts()
        let busiest = counts.sites.sorted { $0.value > $1.value }.prefix(Sampler.siteLimit)
        let now = registry.clock.now()
        var sample = HistorySample(
            time: registry.clock.capturedAt(now), active: counts.active, waiting: counts.waiting,
            totals: counts.totals, waits: counts.waits,
            sites: Dictionary(busiest.map { ($0.key.description, $0.value) }, uniquingKeysWith: +))
        sample.lag = lagProbe.map { milliseconds(Double($0.takeWorst(now: now)) / 1e9) }
        ring.withLock { ring in
            if ring.count >= capacity { ring.removeFirst() }
            ring.append(sample)
        }
        return counts
    }

    /// The newest sample.
    var latest: HistorySample? { ring.withLock { $0.last } }

    /// The samples, oldest first.
    var samples: [HistorySample] { ring.withLock { Array($0) } }

    /// The last `limit` samples (all when `nil`), oldest first.
    func history(limit: Int? = nil) -> History {
        let samples = ring.withLock { ring in Array(ring.suffix(limit ?? ring.count)) }
        return History(interval: interval.seconds, capacity: capacity, samples: samples)
    }
}

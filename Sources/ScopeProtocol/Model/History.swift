/// One tick of the agent's sampler: counts by state and by wait reason.
public struct HistorySample: Codable, Sendable, Hashable {
    /// When the sample was taken (Unix seconds).
    public var time: Double
    /// Active tasks at that moment.
    public var active: Int
    /// Waiting tasks at that moment.
    public var waiting: Int
    /// Running totals at that moment; differences between samples give rates.
    public var totals: Summary.Totals
    /// Waiting tasks by wait reason at that moment.
    public var waits: [String: Int]
    /// Live tasks of the busiest spawn sites (`file:line`) at that moment; a bounded few.
    public var sites: [String: Int]
    /// The cooperative pool's worst lag over the sample's interval, in seconds (ms): how late a
    /// job enqueued on the global executor ran. Absent when the agent does not measure it.
    public var lag: Double?

    public init(
        time: Double, active: Int, waiting: Int, totals: Summary.Totals, waits: [String: Int],
        sites: [String: Int] = [:]
    ) {
        self.time = time
        self.active = active
        self.waiting = waiting
        self.totals = totals
        self.waits = waits
        self.sites = sites
    }

    private enum CodingKeys: String, CodingKey { case time, active, waiting, totals, waits, sites, lag }

    /// Reads a sample; `sites` may be absent (older snapshots).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        time = try container.decode(Double.self, forKey: .time)
        active = try container.decode(Int.self, forKey: .active)
        waiting = try container.decode(Int.self, forKey: .waiting)
        totals = try container.decode(Summary.Totals.self, forKey: .totals)
        waits = try container.decode([String: Int].self, forKey: .waits)
        sites = try container.decodeIfPresent([String: Int].self, forKey: .sites) ?? [:]
        lag = try container.decodeIfPresent(Double.self, forKey: .lag)
    }
}

/// The sampler's ring of recent samples, oldest first: the `history` reply.
public struct History: Codable, Sendable, Hashable {
    /// Seconds between samples.
    public var interval: Double
    /// How many samples the ring holds when full.
    public var capacity: Int
    /// The samples, oldest first.
    public var samples: [HistorySample]

    public init(interval: Double, capacity: Int, samples: [HistorySample]) {
        self.interval = interval
        self.capacity = capacity
        self.samples = samples
    }
}

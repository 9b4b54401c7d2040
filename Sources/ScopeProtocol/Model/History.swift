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

    public init(time: Double, active: Int, waiting: Int, totals: Summary.Totals, waits: [String: Int]) {
        self.time = time
        self.active = active
        self.waiting = waiting
        self.totals = totals
        self.waits = waits
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

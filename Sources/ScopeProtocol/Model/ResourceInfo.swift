/// The kinds of waitable things the agent tracks.
public enum ResourceKind: String, Codable, Sendable, Hashable, CaseIterable {
    case channel, timer, ticker, semaphore, continuation
    case waitGroup = "wait-group"
}

/// One tracked channel, timer, ticker, semaphore or continuation, as the
/// `resources` reply and the snapshot show it.
///
/// Fields that do not apply to a kind are absent. Lists of task ids hold at
/// most ``ResourceInfo/idLimit`` ids; the counts beside them are exact.
public struct ResourceInfo: Codable, Sendable, Hashable {
    /// How many task ids a list carries at most.
    public static let idLimit = 10

    /// Sequential id, in a space of its own (not task ids).
    public var id: UInt64
    public var kind: ResourceKind
    public var name: String
    /// Where it was created.
    public var site: SourceSite
    /// When it was created (Unix seconds).
    public var created: Double
    /// A word for its state: `open` or `finished` (channel), `armed` or `stopped`
    /// (ticker), `armed`, `fired` or `cancelled` (timer), `available` or `exhausted`
    /// (semaphore), `pending`, `resumed` or `leaked` (continuation).
    public var state: String
    /// Whether a definite leak rule holds for it right now.
    public var orphaned: Bool
    /// The owning task (timers and tickers: its creator, or whoever it was handed to).
    public var owner: UInt64?
    /// Whether the owner has finished.
    public var ownerFinished: Bool?
    /// When the owner finished (seconds since 1970), when it is known.
    public var ownerFinishedAt: Double?
    /// Channel capacity (0 for unbuffered) or semaphore permits.
    public var capacity: Int?
    /// Values buffered in a channel, or permits available in a semaphore.
    public var buffered: Int?
    /// Live sender endpoints of a channel.
    public var senders: Int?
    /// Live receiver endpoints of a channel.
    public var receivers: Int?
    /// Tasks blocked sending to a channel.
    public var blockedSending: Int?
    public var blockedSendingIDs: [UInt64]?
    /// Tasks blocked receiving from a channel.
    public var blockedReceiving: Int?
    public var blockedReceivingIDs: [UInt64]?
    /// Tasks waiting on a timer, ticker, semaphore or continuation.
    public var waiting: Int?
    public var waitingIDs: [UInt64]?
    /// Tasks holding semaphore permits (tracked ones), and those of them that have finished.
    public var holders: [UInt64]?
    public var finishedHolders: [UInt64]?
    /// Semaphore releases by tasks that held no permit (signals, as to a latch). While above
    /// zero, the holders are not the only tasks that can free a permit.
    public var signals: Int?
    /// A wait group's count.
    public var count: Int?
    /// The tracked tasks that called a wait group's `add` or `done`, and those of them that have finished.
    public var participants: [UInt64]?
    public var finishedParticipants: [UInt64]?
    /// When a channel's last sender, or last receiver, went away (Unix seconds), while none is left.
    public var sendersGoneAt: Double?
    public var receiversGoneAt: Double?

    public init(id: UInt64, kind: ResourceKind, name: String, site: SourceSite, created: Double, state: String) {
        self.id = id
        self.kind = kind
        self.name = name
        self.site = site
        self.created = created
        self.state = state
        self.orphaned = false
    }
}

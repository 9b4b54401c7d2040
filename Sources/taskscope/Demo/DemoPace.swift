/// How fast the demo's runaway spawn site grows, and where it stops.
///
/// Every demo leak lasts as long as the process: the stranded tasks never end, and the runaway
/// site grows to `runawayCap` live tasks and then holds there, so its memory stays bounded;
/// `runaway-spawn` keeps flagging a site that stopped growing while its tasks live. Tests run
/// the runaway loop at a faster pace.
struct DemoPace: Sendable {
    /// The period of the runaway spawning loop.
    var tick: Duration
    /// Listeners spawned per tick.
    var runawayPerTick: Int
    /// Live listeners at which the loop stops spawning and holds.
    var runawayCap: Int

    /// The demo's pace: 10 listeners a second up to 5,000 (about eight minutes), then held.
    static let demo = DemoPace(tick: .seconds(1), runawayPerTick: 10, runawayCap: 5_000)
}

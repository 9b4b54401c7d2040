/// The leak rules' settings as an agent applies them: what a snapshot carries so that a
/// query over it (`rule` filter) draws the same lines the agent did.
public struct RuleThresholds: Codable, Sendable, Hashable {
    /// Seconds a task waits at one site before `stuck-wait` counts it.
    public var stuckWait: Double
    /// Seconds a cancelled task may keep running before `ignored-cancellation` counts it.
    public var ignoredCancellation: Double
    /// Samples `runaway-spawn` looks at.
    public var runawayWindow: Int
    /// Growth across the window that makes `runaway-spawn` fire.
    public var runawayGrowth: Int
    /// Rules switched off, by name.
    public var disabled: [LeakRule]

    /// The agent's defaults, assumed for snapshots written before this field existed.
    public static let defaults = RuleThresholds(
        stuckWait: 60, ignoredCancellation: 10, runawayWindow: 30, runawayGrowth: 100, disabled: [])

    public init(
        stuckWait: Double, ignoredCancellation: Double, runawayWindow: Int, runawayGrowth: Int,
        disabled: [LeakRule]
    ) {
        self.stuckWait = stuckWait
        self.ignoredCancellation = ignoredCancellation
        self.runawayWindow = runawayWindow
        self.runawayGrowth = runawayGrowth
        self.disabled = disabled
    }
}

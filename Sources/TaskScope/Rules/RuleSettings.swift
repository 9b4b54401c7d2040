import Foundation
import ScopeProtocol

extension TaskScope {
    /// Thresholds and switches of the leak rules.
    ///
    /// Each can also be set by an environment variable, which wins over code so
    /// that an operator can tune a running service's next start without a
    /// rebuild: `TASKSCOPE_STUCK_WAIT`, `TASKSCOPE_STUCK_GROWTH_WINDOW`,
    /// `TASKSCOPE_IGNORED_CANCELLATION`, `TASKSCOPE_ABANDONED_CHANNEL` and `TASKSCOPE_BLOCKED_EXECUTOR` (seconds),
    /// `TASKSCOPE_STUCK_GROWTH` (tasks), `TASKSCOPE_RUNAWAY_WINDOW` (samples), `TASKSCOPE_RUNAWAY_GROWTH`
    /// (tasks), `TASKSCOPE_RULES_OFF` (rule names, comma-separated).
    public struct RuleSettings: Sendable, Hashable {
        /// How long tasks may wait at one site, however few and however steady, before `stuck-wait`
        /// fires (default 30 minutes: a listener or an idle pool waits for hours, and a leak shows
        /// sooner by piling up; see `stuckGrowth`).
        public var stuckWait: Duration
        /// How many tasks must pile up at one wait site, none of them leaving, for `stuck-wait` to
        /// fire before `stuckWait` (default 3).
        public var stuckGrowth: Int
        /// Over how long the pile must have grown: its tasks came in at least three quarters of
        /// this window (default 20 s). A wait counts once it has lasted a quarter of it, so a
        /// steady leak is reported about 15 s after it starts.
        public var stuckGrowthWindow: Duration
        /// How long a cancelled task may keep running before `ignored-cancellation` fires (default 10 s).
        public var ignoredCancellation: Duration
        /// How many recent samples `runaway-spawn` looks at (default 30, at least 2).
        public var runawayWindow: Int
        /// How much a spawn site's live count must grow across the window for `runaway-spawn` (default 100).
        public var runawayGrowth: Int
        /// How long a channel side must have had no live user, while tasks wait on the other,
        /// before `abandoned-channel` fires (default 5 s).
        public var abandonedChannel: Duration
        /// Rules switched off.
        public var disabled: Set<LeakRule>
        /// How long a job may wait for a cooperative thread before `blocked-executor` fires
        /// (default 250 ms; the agent measures it with its executor lag probe).
        public var blockedExecutor: Duration = .milliseconds(250)

        public init(
            stuckWait: Duration = .seconds(1_800), ignoredCancellation: Duration = .seconds(10),
            runawayWindow: Int = 30,
            runawayGrowth: Int = 100, disabled: Set<LeakRule> = [], stuckGrowth: Int = 3,
            stuckGrowthWindow: Duration = .seconds(20), abandonedChannel: Duration = .seconds(5)
        ) {
            self.abandonedChannel = abandonedChannel
            self.stuckWait = stuckWait
            self.stuckGrowth = max(2, stuckGrowth)
            self.stuckGrowthWindow = max(.milliseconds(4), stuckGrowthWindow)
            self.ignoredCancellation = ignoredCancellation
            self.runawayWindow = max(2, runawayWindow)
            self.runawayGrowth = max(1, runawayGrowth)
            self.disabled = disabled
        }

        /// These settings with the environment's overrides applied; unreadable values are ignored.
        public func applyingEnvironment(_ environment: [String: String]) -> RuleSettings {
            var settings = self
            if let seconds = environment["TASKSCOPE_STUCK_WAIT"].flatMap(Double.init), seconds.isFinite, seconds >= 0 {
                settings.stuckWait = .seconds(min(seconds, 1e9))
            }
            if let seconds = environment["TASKSCOPE_IGNORED_CANCELLATION"].flatMap(Double.init), seconds.isFinite,
                seconds >= 0
            {
                settings.ignoredCancellation = .seconds(min(seconds, 1e9))
            }
            if let seconds = environment["TASKSCOPE_ABANDONED_CHANNEL"].flatMap(Double.init), seconds.isFinite,
                seconds >= 0
            {
                settings.abandonedChannel = .seconds(min(seconds, 1e9))
            }
            if let seconds = environment["TASKSCOPE_BLOCKED_EXECUTOR"].flatMap(Double.init), seconds.isFinite,
                seconds >= 0.001
            {
                settings.blockedExecutor = .seconds(min(seconds, 1e9))
            }
            if let growth = environment["TASKSCOPE_STUCK_GROWTH"].flatMap(Int.init), growth >= 2 {
                settings.stuckGrowth = growth
            }
            if let seconds = environment["TASKSCOPE_STUCK_GROWTH_WINDOW"].flatMap(Double.init), seconds.isFinite,
                seconds >= 0.004
            {
                settings.stuckGrowthWindow = .seconds(min(seconds, 1e9))
            }
            if let window = environment["TASKSCOPE_RUNAWAY_WINDOW"].flatMap(Int.init), window >= 2 {
                settings.runawayWindow = window
            }
            if let growth = environment["TASKSCOPE_RUNAWAY_GROWTH"].flatMap(Int.init), growth >= 1 {
                settings.runawayGrowth = growth
            }
            if let off = environment["TASKSCOPE_RULES_OFF"] {
                let names = off.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                settings.disabled.formUnion(names.compactMap(LeakRule.init(rawValue:)))
            }
            return settings
        }

        func isOn(_ rule: LeakRule) -> Bool { !disabled.contains(rule) }

        /// These settings as a snapshot carries them.
        var thresholds: RuleThresholds {
            RuleThresholds(
                stuckWait: stuckWait.seconds, ignoredCancellation: ignoredCancellation.seconds,
                runawayWindow: runawayWindow, runawayGrowth: runawayGrowth,
                disabled: LeakRule.allCases.filter(disabled.contains))
        }
    }
}

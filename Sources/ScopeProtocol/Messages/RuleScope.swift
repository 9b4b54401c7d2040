/// The tasks a leak rule holds for, as far as the rule's warnings of one moment say: the
/// resources and spawn sites they name. The `rule` filter of a `tasks` query, on the agent
/// and over a snapshot, is this plus the thresholds of the task rules, so that the tasks of
/// ``TaskQuery/init(tasksOf:)`` are exactly the ones the warning counts.
///
/// - `orphaned-channel`, `orphaned-timer`, `leaked-continuation`: tasks waiting on a resource a
///   warning of the rule names, for the reason the warning gives (a channel's send and receive
///   sides are separate warnings).
/// - `leaked-permit`, `abandoned-channel`: tasks waiting on a resource a warning names, for its reason.
/// - `deadlock`, `blocked-forever`, `blocked-executor`: the tasks a warning names (its first ids).
/// - `runaway-spawn`: live tasks of a spawn site a warning names.
/// - `stuck-wait` and `ignored-cancellation` are decided per task, by their thresholds.
///
/// Cost: one pass over the warnings to build; a hash lookup per task.
public struct RuleScope: Sendable {
    /// The rule.
    public let rule: LeakRule
    private let resources: Set<ResourceWait>
    private let spawnSites: Set<SourceSite>
    private let tasks: Set<UInt64>
    /// Where the resources of warnings that fold many were made, with the reason.
    private let folded: Set<FoldedWait>

    private struct FoldedWait: Hashable {
        var file: String
        var line: Int
        var reason: String
    }

    private struct ResourceWait: Hashable {
        var resource: UInt64
        var reason: String
    }

    /// The scope of `rule` in `warnings` (warnings of other rules are ignored).
    public init(rule: LeakRule, warnings: [Warning]) {
        self.rule = rule
        var resources: Set<ResourceWait> = []
        var spawnSites: Set<SourceSite> = []
        var tasks: Set<UInt64> = []
        var folded: Set<FoldedWait> = []
        for warning in warnings where warning.rule == rule {
            if rule == .deadlock || rule == .blockedForever || rule == .blockedExecutor {
                tasks.formUnion(warning.taskIDs)
            }
            if let resource = warning.resource, let reason = warning.reason {
                resources.insert(ResourceWait(resource: resource, reason: reason))
            } else if let site = warning.site, let reason = warning.reason, rule.isPerResource {
                folded.insert(FoldedWait(file: site.file, line: site.line, reason: reason))
            }
            if rule == .runawaySpawn, let site = warning.site {
                spawnSites.insert(SourceSite(file: site.file, line: site.line))
            }
        }
        self.resources = resources
        self.spawnSites = spawnSites
        self.tasks = tasks
        self.folded = folded
    }

    /// Whether a warning of `deadlock`, `blocked-forever` or `blocked-executor` names the task `id`.
    public func names(task id: UInt64) -> Bool { tasks.contains(id) }

    /// Whether a task waiting on `resource` for `reason` is one of a resource rule's warnings' tasks.
    public func names(resource: UInt64, reason: String) -> Bool {
        resources.contains(ResourceWait(resource: resource, reason: reason))
    }

    /// Whether a task waiting on `resource`, made at `site`, for `reason` is one of a resource
    /// rule's warnings' tasks: named by id, or by where it was made when a warning folds many.
    public func names(resource: UInt64, madeAt site: SourceSite?, reason: String) -> Bool {
        if names(resource: resource, reason: reason) { return true }
        guard let site, !folded.isEmpty else { return false }
        return folded.contains(FoldedWait(file: site.file, line: site.line, reason: reason))
    }

    /// Whether `runaway-spawn` names this spawn site.
    public func names(spawnFile file: String, line: Int) -> Bool {
        spawnSites.contains(SourceSite(file: file, line: line))
    }
}

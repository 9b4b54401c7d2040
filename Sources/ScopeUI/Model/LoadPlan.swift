import ScopeProtocol

/// What the screens need from the process, as the state says: the runtime hands
/// it to the loader whenever it changes (``Effect/load(_:)``), and the loader
/// fetches it at once and then every refresh.
public struct LoadPlan: Sendable, Hashable {
    /// One kind of data the screens show.
    public enum Part: CaseIterable, Hashable, Sendable {
        case summary, history, tasks, detail, warnings, resources, groups, stacks
    }

    public var screen: Screen
    /// The page of tasks the Tasks screen shows.
    public var tasks: TaskQuery
    /// The groups the Groups screen shows.
    public var groups: GroupQuery
    /// The task whose detail is open.
    public var detail: UInt64?
    public var historyLimit: Int
    /// Whether the Groups screen groups by async stack: only then are stacks read.
    public var groupsByStack = false

    public init(screen: Screen, tasks: TaskQuery, groups: GroupQuery, detail: UInt64?, historyLimit: Int) {
        self.screen = screen
        self.tasks = tasks
        self.groups = groups
        self.detail = detail
        self.historyLimit = historyLimit
    }

    /// The plan for `state`. Cost: builds two queries.
    public init(_ state: UIState) {
        var detail: UInt64?
        if case .detail(let id, _)? = state.overlay { detail = id }
        self.init(
            screen: state.screen, tasks: state.taskQuery, groups: state.groupQuery, detail: detail,
            historyLimit: max(120, state.width))
        groupsByStack = state.groupsByStack && state.screen == .groups
    }

    /// What a refresh fetches: what the screen shows every time, the rest every `fullEvery`
    /// refreshes. The aggregates (warnings, groups, resources) visit every task in the agent,
    /// so a UI left open on a million tasks costs the host what it looks at, not all of it.
    static func parts(for plan: LoadPlan, refresh: Int, fullEvery: Int = 5) -> Set<Part> {
        if refresh % fullEvery == 0 { return Set(Part.allCases) }
        var parts: Set<Part> = [.summary, .history]
        switch plan.screen {
        // The Overview's LONGEST column comes from the groups: fetched with the warnings, so
        // the two say the same longest wait instead of the column lagging by four refreshes.
        case .overview: parts.formUnion([.warnings, .groups])
        case .warnings: parts.insert(.warnings)
        case .tasks: parts.insert(.tasks)
        case .groups: parts.formUnion(plan.groupsByStack ? [.groups, .stacks] : [.groups])
        case .resources: parts.insert(.resources)
        }
        if plan.detail != nil { parts.formUnion([.tasks, .detail]) }
        return parts
    }

    /// What a change of plan needs at once: a new screen's data, a new page of tasks, new groups.
    static func parts(changingFrom old: LoadPlan?, to new: LoadPlan) -> Set<Part> {
        guard let old else { return Set(Part.allCases) }
        var parts: Set<Part> = []
        if old.screen != new.screen { parts = LoadPlan.parts(for: new, refresh: 1) }
        if old.tasks != new.tasks || old.detail != new.detail { parts.formUnion([.tasks, .detail]) }
        if old.groups != new.groups { parts.formUnion(new.groupsByStack ? [.groups, .stacks] : [.groups]) }
        if old.groupsByStack != new.groupsByStack { parts.insert(.stacks) }
        if old.historyLimit != new.historyLimit { parts.insert(.history) }
        return parts
    }
}

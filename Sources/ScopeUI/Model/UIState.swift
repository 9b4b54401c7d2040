import ScopeProtocol

/// The screens of the UI.
public enum Screen: Int, Sendable, Hashable, CaseIterable {
    case overview = 1, tasks, groups, resources, warnings

    public var title: String {
        switch self {
        case .overview: "Overview"
        case .tasks: "Tasks"
        case .groups: "Groups"
        case .resources: "Resources"
        case .warnings: "Warnings"
        }
    }
}

/// Whether data is flowing.
public enum ConnectionState: Sendable, Hashable {
    case connecting
    case live
    /// The process went away (or the socket vanished); the last data stays on screen.
    case lost(String)
    /// A snapshot file, opened offline.
    case offline(String)
}

/// Everything the agent has told the UI, as last received.
public struct ScopeData: Sendable, Hashable {
    public var summary: Summary?
    public var history: [HistorySample] = []
    public var warnings: [Warning] = []
    public var resources: [ResourceInfo] = []
    public var page: TaskPage?
    /// The query `page` answers.
    public var pageQuery: TaskQuery?
    public var groups: [SiteGroup] = []
    public var detail: TaskDetail?
    /// The open detail's task's async stack, as the agent answered for it (by task id).
    public var detailStack: DetailStack?
    /// The waiting tasks grouped by async stack, for Groups by stack.
    public var stackGroups: StackList?

    public init() {}
}

/// A window over the rows of a table: which row is selected, which is first on screen.
public struct ListPosition: Sendable, Hashable {
    public var selected = 0
    public var top = 0

    public init() {}

    /// Moves the selection by `delta` within `0..<count`, scrolling to keep it in `visible` rows.
    mutating func move(by delta: Int, count: Int, visible: Int) {
        selected = count == 0 ? 0 : min(max(0, selected + delta), count - 1)
        scroll(visible: visible)
    }

    mutating func scroll(visible: Int) {
        let rows = max(1, visible)
        if selected < top { top = selected }
        if selected >= top + rows { top = selected - rows + 1 }
        top = max(0, top)
    }
}

/// An overlay drawn over the current screen.
public enum Overlay: Sendable, Hashable {
    case help
    /// The detail of a task; `child` is the selected child row.
    case detail(taskID: UInt64, child: Int)
    /// The wait-reason picker; `selected` indexes `["(all)"] + reasons`.
    case waitPicker(selected: Int)
    /// The search line being edited; the filter follows it as it is typed.
    case search(String)
}

/// A task's async call stack for the detail screen: the agent's `stacks` reply for that task.
public struct DetailStack: Sendable, Hashable {
    public var taskID: UInt64
    public var list: StackList

    public init(taskID: UInt64, list: StackList) {
        self.taskID = taskID
        self.list = list
    }

    /// The task's stack, when the agent could read it.
    public var stack: StackInfo? {
        list.tasks?[String(taskID)].flatMap { list.stack($0) }
    }

    /// Why there is no stack to show.
    public var absence: String {
        list.unavailable ?? "none read: the task is not waiting now (a running task's stack is not read)"
    }

    /// The lines the detail screen shows for it: each frame's function, then where it is.
    public var lines: [(text: String, isPlace: Bool)] {
        guard let stack else { return [(absence, false)] }
        var lines: [(text: String, isPlace: Bool)] = []
        for frame in stack.frames {
            lines.append((frame.function ?? frame.moduleOffset, false))
            lines.append(("  " + frame.place, true))
        }
        if stack.truncated { lines.append(("… deeper frames not read", true)) }
        return lines
    }
}

/// An open task detail: the task, and the child row selected in it.
public struct DetailStep: Sendable, Hashable {
    public var taskID: UInt64
    public var child: Int

    public init(taskID: UInt64, child: Int) {
        self.taskID = taskID
        self.child = child
    }
}

/// The whole state of the UI: a plain value, changed only by ``UIState/apply(_:)``
/// and drawn only by ``Renderer``.
public struct UIState: Sendable, Hashable {
    public var screen: Screen = .overview
    public var overlay: Overlay?
    public var width: Int
    public var height: Int
    public var glyphs: Glyphs
    public var colours: Bool
    public var connection: ConnectionState = .connecting
    public var hello: Hello?
    /// What arrives.
    public var data = ScopeData()
    /// What is shown while paused.
    public var frozen: ScopeData?
    public var waitFilter: String?
    public var textFilter: String?
    /// Tasks of one group (wait site and spawn site) or one resource, when opened from those screens.
    public var scope: TaskScopeFilter?
    /// The Tasks screen's sort (the agent sorts), and its direction when not the key's default.
    public var sort: TaskQuery.SortKey = .wait
    public var descending: Bool?
    /// The Groups screen's sort, and its direction when not the key's default.
    public var groupSort: GroupSortKey = .count
    public var groupDescending: Bool?
    /// The Resources screen's sort, and its direction when not the key's default.
    public var resourceSort: ResourceSortKey = .blocked
    public var resourceDescending: Bool?
    /// The details opened before the one shown (a parent's, when Enter opened its child):
    /// Esc goes back to the last of them.
    public var detailTrail: [DetailStep] = []
    /// Whether the Groups screen groups by async stack (`b`) rather than by site.
    public var groupsByStack = false
    public var positions: [Screen: ListPosition] = [:]
    /// A line for the status bar (export results, errors), with the time it was set.
    public var status: String?
    /// Whether an export is under way (a second `e` waits for it).
    public var exporting = false
    /// The process followed across restarts and the ones that are not new (`attach` without a
    /// target); nil when the UI stays on its process.
    public var following: RestartFollowing?

    public init(width: Int, height: Int, glyphs: Glyphs = .unicode, colours: Bool = true) {
        self.width = width
        self.height = height
        self.glyphs = glyphs
        self.colours = colours
    }

    /// The data to draw: the frozen copy while paused.
    public var shown: ScopeData { frozen ?? data }

    public var isPaused: Bool { frozen != nil }

    public func position(_ screen: Screen) -> ListPosition { positions[screen] ?? ListPosition() }

    /// Rows a table has on screen: the height less header, tabs, table header, footer and status.
    public var tableRows: Int { max(1, height - 5) }

    /// The page of tasks the Tasks screen needs now.
    public var taskQuery: TaskQuery {
        let position = self.position(.tasks)
        return TaskQuery(
            wait: waitFilter, text: textFilter,
            sort: sort, descending: descending, offset: position.top, limit: min(tableRows, TaskQuery.maxLimit),
            waitSite: scope?.waitSite, spawnSite: scope?.spawnSite, resource: scope?.resource, rule: scope?.rule)
    }

    /// The groups the Groups screen asks for: the wait-reason filter applies there too.
    public var groupQuery: GroupQuery { GroupQuery(wait: waitFilter, limit: 500) }
}

/// Tasks of one group, one resource or one warning.
public struct TaskScopeFilter: Sendable, Hashable {
    public var label: String
    public var waitSite: SourceSite?
    public var spawnSite: SourceSite?
    public var resource: UInt64?
    /// The leak rule whose tasks these are (with the resource or site of its warning).
    public var rule: LeakRule?

    public init(
        label: String, waitSite: SourceSite? = nil, spawnSite: SourceSite? = nil, resource: UInt64? = nil,
        rule: LeakRule? = nil
    ) {
        self.label = label
        self.waitSite = waitSite
        self.spawnSite = spawnSite
        self.resource = resource
        self.rule = rule
    }
}

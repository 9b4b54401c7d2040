import ScopeProtocol

extension ScopeData {
    /// The warnings as every screen lists them: definite first, then suspects, each in the
    /// agent's order (most tasks first). The Overview's panel and the Warnings screen share
    /// it, so a row's index means the same warning on both. Cost: a sort of the warnings,
    /// which the agent keeps to one per resource or site.
    public var orderedWarnings: [Warning] {
        warnings.enumerated().sorted { lhs, rhs in
            lhs.element.severity != rhs.element.severity
                ? lhs.element.severity < rhs.element.severity : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// The warnings that name `task`, in list order (see ``Warning/involves(_:)``).
    public func warnings(naming task: TaskInfo) -> [Warning] {
        orderedWarnings.filter { $0.involves(task) }
    }
}

extension UIState {
    /// Opens the Warnings screen with warning `index` selected; false when there is no such warning.
    mutating func openWarning(at index: Int) -> Bool {
        guard shown.orderedWarnings.indices.contains(index) else { return false }
        var position = self.position(.warnings)
        position.selected = index
        position.top = index
        positions[.warnings] = position
        screen = .warnings
        overlay = nil
        return true
    }

    /// Lists exactly the tasks `warning` names on the Tasks screen (the query
    /// ``TaskQuery/init(tasksOf:)`` builds), as a scope that Esc clears.
    mutating func listTasks(of warning: Warning) {
        let query = TaskQuery(tasksOf: warning)
        scope = TaskScopeFilter(
            label:
                "tasks of \(warning.rule.rawValue) \(warning.name.map { "\"\($0)\"" } ?? warning.site?.description ?? "")",
            waitSite: query.waitSite, spawnSite: query.spawnSite, resource: query.resource, rule: query.rule)
        waitFilter = query.wait
        textFilter = nil
        positions[.tasks] = ListPosition()
        screen = .tasks
    }
}

import ScopeProtocol

extension UIState {
    /// The stack groups Groups by stack lists: those of the wait-reason filter and matching the
    /// search (a reason or any frame's function or file), largest first as the agent sent them.
    public var stackRows: [StackGroup] {
        guard let list = shown.stackGroups else { return [] }
        let text = textFilter?.lowercased()
        return list.groups.filter { group in
            if let waitFilter, group.reason != waitFilter { return false }
            guard let text else { return true }
            if group.reason?.lowercased().contains(text) == true { return true }
            return list.stack(group.stack)?.frames.contains { frame in
                (frame.function ?? "").lowercased().contains(text) || (frame.file ?? "").lowercased().contains(text)
            } ?? false
        }
    }

    /// The groups the Groups screen lists: those of the wait-reason filter and matching the
    /// search, in the screen's sort. The agent already filters by reason; filtering here too
    /// keeps a paused display and the moment before the reply true to the filter.
    /// Cost: a pass and a sort over the groups received (500 at most).
    public var groupRows: [SiteGroup] {
        let text = textFilter?.lowercased()
        let rows = shown.groups.filter { group in
            if let waitFilter, group.key.reason != waitFilter { return false }
            guard let text else { return true }
            return [
                group.key.reason ?? "(active)", group.key.waitSite?.description ?? "",
                group.key.spawnSite.description, group.key.spawnSite.function ?? "",
            ].contains { $0.lowercased().contains(text) }
        }
        let descending = groupDescending ?? groupSort.descendingByDefault
        return rows.sorted { lhs, rhs in
            let order: Bool?
            switch groupSort {
            case .count: order = lhs.count == rhs.count ? nil : lhs.count < rhs.count
            case .longest: order = lhs.longest == rhs.longest ? nil : lhs.longest < rhs.longest
            case .reason:
                // Active groups (no reason) after every reason.
                let left = lhs.key.reason ?? "\u{10FFFF}"
                let right = rhs.key.reason ?? "\u{10FFFF}"
                order = left == right ? nil : left < right
            }
            guard let order else { return SiteGroup.byImportance(lhs, rhs) }
            return descending ? !order : order
        }
    }

    /// The resources the Resources screen lists: with the wait-reason filter, those that
    /// tasks wait on for that reason (a label such as `db.query` is no resource's, so
    /// none); matching the search; orphans first, then in the screen's sort.
    /// Cost: a pass and a sort.
    public var resourceRows: [ResourceInfo] {
        let text = textFilter?.lowercased()
        let rows = shown.resources.filter { resource in
            if let waitFilter, !UIState.resource(resource, hasTasksWaitingFor: waitFilter) { return false }
            guard let text else { return true }
            return [resource.kind.rawValue, resource.name, resource.state, resource.site.description]
                .contains { $0.lowercased().contains(text) }
        }
        let descending = resourceDescending ?? resourceSort.descendingByDefault
        return rows.sorted { lhs, rhs in
            // Orphans (the leaks) stay first whatever the sort.
            if lhs.orphaned != rhs.orphaned { return lhs.orphaned }
            let order: Bool?
            switch resourceSort {
            case .blocked:
                let (left, right) = (UIState.blocked(lhs), UIState.blocked(rhs))
                order = left == right ? nil : left < right
            case .kind: order = lhs.kind == rhs.kind ? nil : lhs.kind.rawValue < rhs.kind.rawValue
            // Older is "more" age: created earlier.
            case .age: order = lhs.created == rhs.created ? nil : lhs.created > rhs.created
            }
            guard let order else { return lhs.id < rhs.id }
            return descending ? !order : order
        }
    }

    /// Tasks blocked or waiting on `resource`.
    static func blocked(_ resource: ResourceInfo) -> Int {
        (resource.blockedSending ?? 0) + (resource.blockedReceiving ?? 0) + (resource.waiting ?? 0)
    }

    /// Whether tasks wait on `resource` for `reason`.
    static func resource(_ resource: ResourceInfo, hasTasksWaitingFor reason: String) -> Bool {
        switch reason {
        case WaitReason.channelSend: resource.kind == .channel && (resource.blockedSending ?? 0) > 0
        case WaitReason.channelReceive: resource.kind == .channel && (resource.blockedReceiving ?? 0) > 0
        case WaitReason.timer: (resource.kind == .timer || resource.kind == .ticker) && (resource.waiting ?? 0) > 0
        case WaitReason.semaphore: resource.kind == .semaphore && (resource.waiting ?? 0) > 0
        case WaitReason.continuation: resource.kind == .continuation && (resource.waiting ?? 0) > 0
        default: false
        }
    }

    /// The sort of `screen` (nil where the screen has none), for the views to mark the column.
    public func sortIndicator(for screen: Screen) -> SortIndicator? {
        switch screen {
        case .tasks:
            SortIndicator(name: sort.rawValue, column: sort.column, descending: descending ?? sort.descendingByDefault)
        case .groups:
            SortIndicator(
                name: groupSort.rawValue, column: groupSort.column,
                descending: groupDescending ?? groupSort.descendingByDefault)
        case .resources:
            SortIndicator(
                name: resourceSort.rawValue, column: resourceSort.column,
                descending: resourceDescending ?? resourceSort.descendingByDefault)
        default: nil
        }
    }
}

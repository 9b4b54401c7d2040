import ScopeProtocol

/// How the Groups screen orders its groups.
public enum GroupSortKey: String, Sendable, Hashable, CaseIterable {
    /// By tasks in the group: most first by default.
    case count
    /// By the longest time a task of the group has spent in its state: longest first by default.
    case longest
    /// By wait reason (active groups last): A to Z by default.
    case reason

    public var descendingByDefault: Bool { self != .reason }

    /// The title of the column this key sorts.
    public var column: String {
        switch self {
        case .count: "TASKS"
        case .longest: "LONGEST"
        case .reason: "WAIT REASON"
        }
    }
}

/// How the Resources screen orders its resources.
public enum ResourceSortKey: String, Sendable, Hashable, CaseIterable {
    /// By tasks blocked or waiting on it: most first by default.
    case blocked
    /// By kind, A to Z by default.
    case kind
    /// By age: oldest first by default.
    case age

    public var descendingByDefault: Bool { self != .kind }

    /// The title of the column this key sorts.
    public var column: String {
        switch self {
        case .blocked: "WAITING"
        case .kind: "KIND"
        case .age: "AGE"
        }
    }
}

extension TaskQuery.SortKey {
    /// The sort keys in the order of the Tasks screen's columns (ID, NAME, STATE, WAIT REASON,
    /// WAITING, AGE): `s` and the arrows move along it.
    public static let columnOrder: [TaskQuery.SortKey] = [.id, .name, .state, .reason, .wait, .age]

    /// The title of the Tasks column this key sorts.
    public var column: String {
        switch self {
        case .id: "ID"
        case .name: "NAME"
        case .state: "STATE"
        case .reason: "WAIT REASON"
        case .wait: "WAITING"
        case .age: "AGE"
        }
    }
}

/// The sort of the screen shown, for the views: which column to mark and which way.
public struct SortIndicator: Sendable, Hashable {
    /// The sort key's name, for the status line (`wait`, `count`, `blocked`…).
    public var name: String
    /// The title of the column sorted.
    public var column: String
    public var descending: Bool
}

extension Array where Element: Equatable {
    /// The element `step` places after `element`, wrapping around; the first when `element` is absent.
    func cycling(from element: Element, by step: Int) -> Element {
        guard let index = firstIndex(of: element) else { return self[0] }
        return self[((index + step) % count + count) % count]
    }
}

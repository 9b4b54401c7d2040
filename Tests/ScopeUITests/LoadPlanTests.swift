import ScopeProtocol
import Testing

@testable import ScopeUI

@Suite struct LoadPlanTests {
    static func plan(_ screen: Screen, detail: UInt64? = nil, offset: Int = 0, wait: String? = nil) -> LoadPlan {
        LoadPlan(
            screen: screen, tasks: TaskQuery(offset: offset), groups: GroupQuery(wait: wait, limit: 500),
            detail: detail, historyLimit: 120)
    }

    @Test func eachRefreshAsksForWhatTheScreenShowsAndEveryFifthForAll() {
        #expect(LoadPlan.parts(for: Self.plan(.overview), refresh: 0) == Set(LoadPlan.Part.allCases))
        // The Overview shows warnings and, in its LONGEST column, the groups' longest waits:
        // both every refresh, so the column never lags the warnings.
        #expect(LoadPlan.parts(for: Self.plan(.overview), refresh: 1) == [.summary, .history, .warnings, .groups])
        #expect(LoadPlan.parts(for: Self.plan(.warnings), refresh: 1) == [.summary, .history, .warnings])
        #expect(LoadPlan.parts(for: Self.plan(.tasks), refresh: 2) == [.summary, .history, .tasks])
        #expect(LoadPlan.parts(for: Self.plan(.groups), refresh: 3) == [.summary, .history, .groups])
        #expect(LoadPlan.parts(for: Self.plan(.resources), refresh: 4) == [.summary, .history, .resources])
        #expect(
            LoadPlan.parts(for: Self.plan(.groups, detail: 7), refresh: 6) == [
                .summary, .history, .groups, .tasks, .detail,
            ])
        #expect(LoadPlan.parts(for: Self.plan(.tasks), refresh: 10) == Set(LoadPlan.Part.allCases))
    }

    @Test func aKeyGetsItsDataAtOnceAndNothingMore() {
        // Scrolling asks for the new page only, not the aggregates over every task.
        #expect(
            LoadPlan.parts(changingFrom: Self.plan(.tasks), to: Self.plan(.tasks, offset: 30)) == [.tasks, .detail])
        // A new screen gets its own data.
        #expect(
            LoadPlan.parts(changingFrom: Self.plan(.overview), to: Self.plan(.groups)) == [.summary, .history, .groups])
        #expect(LoadPlan.parts(changingFrom: nil, to: Self.plan(.groups)) == Set(LoadPlan.Part.allCases))
        // A wait filter asks for the groups of that reason.
        #expect(
            LoadPlan.parts(changingFrom: Self.plan(.groups), to: Self.plan(.groups, wait: "sleep")) == [.groups])
    }
}

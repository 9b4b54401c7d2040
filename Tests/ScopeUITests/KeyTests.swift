import ScopeProtocol
import Testing

@testable import ScopeUI

@Suite struct KeyTests {
    @Test func numbersTabAndShiftTabSwitchScreens() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        #expect(state.screen == .groups)
        state.apply(.key(.tab))
        #expect(state.screen == .resources)
        state.apply(.key(.backTab))
        #expect(state.screen == .groups)
        let last = Screen.allCases[Screen.allCases.count - 1]
        state.apply(.key(.character(Character("\(last.rawValue)"))))
        #expect(state.screen == last)
        #expect(last == .warnings)
        state.apply(.key(.tab))
        #expect(state.screen == .overview)
        state.apply(.key(.backTab))
        #expect(state.screen == last)
    }

    @Test func movementStaysInsideTheRowsAndScrolls() {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("2")))
        state.apply(.tasks(TaskPage(total: 500, offset: 0, tasks: []), for: state.taskQuery))
        state.apply(.key(.character("k")))
        #expect(state.position(.tasks).selected == 0)
        state.apply(.key(.character("j")))
        state.apply(.key(.down))
        #expect(state.position(.tasks).selected == 2)
        state.apply(.key(.pageDown))
        #expect(state.position(.tasks).selected == 2 + state.tableRows)
        state.apply(.key(.character("G")))
        #expect(state.position(.tasks).selected == 499)
        #expect(state.position(.tasks).top == 500 - state.tableRows)
        // The page asked for follows the scroll.
        #expect(state.taskQuery.offset == 500 - state.tableRows)
        #expect(state.taskQuery.limit == state.tableRows)
        state.apply(.key(.character("g")))
        #expect(state.position(.tasks).selected == 0)
        #expect(state.taskQuery.offset == 0)
    }

    @Test func tasksSortByEveryColumnInTheColumnsOrder() {
        var state = Fixtures.state()
        state.apply(.key(.character("2")))
        #expect(state.sort == .wait)
        state.apply(.key(.character("s")))
        #expect(state.sort == .age)
        #expect(state.screen == .tasks)
        var seen: [TaskQuery.SortKey] = [state.sort]
        for _ in 0..<5 {
            state.apply(.key(.right))
            seen.append(state.sort)
        }
        // ID, NAME, STATE, WAIT REASON, WAITING, AGE: every column, in the order shown.
        #expect(seen == [.age, .id, .name, .state, .reason, .wait])
        state.apply(.key(.left))
        #expect(state.sort == .reason)
        #expect(state.taskQuery.sort == .reason)
        state.apply(.key(.character("S")))
        #expect(state.taskQuery.isDescending)
        #expect(
            state.sortIndicator(for: .tasks) == SortIndicator(name: "reason", column: "WAIT REASON", descending: true))
        state.apply(.key(.character("s")))
        #expect(state.sort == .wait)
        #expect(state.descending == nil)
    }

    @Test func groupsAndResourcesSortOnTheirOwnScreen() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        #expect(state.groupRows.map(\.count) == [8, 3])  // by count, most first
        state.apply(.key(.character("s")))
        #expect(state.screen == .groups)
        #expect(state.groupSort == .longest)
        #expect(state.groupRows.map(\.longest) == [300, 120])
        state.apply(.key(.character("S")))
        #expect(state.groupRows.map(\.longest) == [120, 300])
        state.apply(.key(.right))
        #expect(state.groupSort == .reason)
        #expect(state.groupRows.map(\.key.reason) == ["db.query", nil])  // active groups last
        #expect(state.sort == .wait, "the tasks' sort is not touched")
        // Enter opens the group shown on the selected row, in the sort shown.
        state.apply(.key(.character("s")))
        state.apply(.key(.character("S")))
        #expect(state.groupRows.first?.key.reason == nil)
        state.apply(.key(.enter))
        #expect(state.taskQuery.spawnSite == SourceSite(file: "Orders/Main.swift", line: 3))

        // Resources: orphans first whatever the sort, then the sort.
        var timer = ResourceInfo(
            id: 4, kind: .timer, name: "retry", site: SourceSite(file: "Orders/Retry.swift", line: 9), created: 900,
            state: "armed")
        timer.waiting = 1
        state.apply(.resources(Fixtures.resources + [timer]))
        state.apply(.key(.character("4")))
        #expect(state.resourceRows.map(\.id) == [2, 3, 4])  // the orphan, then 8 waiting, then 1
        state.apply(.key(.character("S")))
        #expect(state.resourceRows.map(\.id) == [2, 4, 3])
        state.apply(.key(.character("s")))
        #expect(state.resourceSort == .kind)
        #expect(state.resourceRows.map(\.kind) == [.channel, .semaphore, .timer])
        state.apply(.key(.character("s")))
        #expect(state.resourceSort == .age)
        #expect(state.resourceRows.map(\.id) == [2, 4, 3])  // created 900, then 1,000
        #expect(state.sortIndicator(for: .resources)?.column == "AGE")

        state.apply(.key(.character("1")))
        state.apply(.key(.character("s")))
        #expect(state.screen == .overview)
        #expect(state.status?.contains("no sort") == true)
    }

    @Test func theWaitFilterAppliesToGroupsAndResources() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        state.waitFilter = "db.query"
        #expect(state.groupQuery.wait == "db.query")
        #expect(state.groupRows.map(\.key.reason) == ["db.query"])
        state.waitFilter = "channel.send"
        #expect(state.groupRows.isEmpty)
        state.apply(.key(.character("4")))
        #expect(state.resourceRows.map(\.name) == ["receipts"])  // 3 tasks blocked sending
        state.waitFilter = "semaphore"
        #expect(state.resourceRows.map(\.name) == ["db-pool"])
        state.waitFilter = "db.query"  // a label: no resource's
        #expect(state.resourceRows.isEmpty)
    }

    @Test func thePickersSelectionStaysOnItsReasonWhenTheCountsReorderThem() {
        var state = Fixtures.state()
        state.apply(.key(.character("2")))
        state.apply(.key(.character("w")))
        state.apply(.key(.down))
        state.apply(.key(.down))
        #expect(state.overlay == .waitPicker(selected: 2))  // channel.send, second by count
        var newer = Fixtures.summary
        newer.waits = ["db.query": 1, "channel.send": 30, "sleep": 5]
        state.apply(.summary(newer))
        #expect(state.overlay == .waitPicker(selected: 1))  // channel.send, now first
        newer.waits = ["db.query": 1]
        state.apply(.summary(newer))
        #expect(state.overlay == .waitPicker(selected: 1), "a reason gone leaves the selection in the list")
        state.apply(.summary(Fixtures.summary))
        state.apply(.key(.down))
        state.apply(.key(.enter))
        #expect(state.waitFilter == "channel.send")
    }

    @Test func thePickerFiltersByAReasonPresent() {
        var state = Fixtures.state()
        state.apply(.key(.character("w")))
        #expect(state.overlay == .waitPicker(selected: 0))
        #expect(state.waitReasons.map(\.reason) == ["db.query", "channel.send", "sleep"])
        state.apply(.key(.down))
        state.apply(.key(.down))
        state.apply(.key(.enter))
        #expect(state.waitFilter == "channel.send")
        #expect(state.taskQuery.wait == "channel.send")
        #expect(state.screen == .tasks)
        #expect(state.overlay == nil)
        state.apply(.key(.escape))
        #expect(state.waitFilter == nil)
    }

    @Test func searchFiltersAsYouTypeEnterKeepsEscClears() {
        var state = Fixtures.state()
        state.apply(.key(.character("/")))
        // The overview has no list to filter: the search shows the tasks.
        #expect(state.screen == .tasks)
        for character in "chargx" { state.apply(.key(.character(character))) }
        #expect(state.textFilter == "chargx")
        #expect(state.taskQuery.text == "chargx")
        state.apply(.key(.backspace))
        #expect(state.overlay == .search("charg"))
        #expect(state.taskQuery.text == "charg")
        // While typing, command keys are text.
        #expect(state.screen == .tasks)
        state.apply(.key(.enter))
        #expect(state.overlay == nil)
        #expect(state.textFilter == "charg")
        // Editing again starts from the filter; Esc clears it.
        state.apply(.key(.character("/")))
        #expect(state.overlay == .search("charg"))
        state.apply(.key(.escape))
        #expect(state.overlay == nil)
        #expect(state.textFilter == nil)
        #expect(state.taskQuery.text == nil)
    }

    @Test func searchFiltersTheGroupsAndResourcesShown() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        state.apply(.key(.character("/")))
        #expect(state.screen == .groups)
        for character in "main.swift" { state.apply(.key(.character(character))) }
        #expect(state.groupRows.map(\.key.spawnSite.line) == [3])
        state.apply(.key(.enter))
        state.apply(.key(.character("4")))
        #expect(state.resourceRows.isEmpty)
        state.apply(.key(.escape))
        #expect(state.resourceRows.count == 2)
    }

    @Test func escapeFromAChildsDetailGoesBackToItsParents() {
        var state = Fixtures.state()
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        #expect(state.overlay == .detail(taskID: 7, child: 0))
        let child = Fixtures.task(20, "child")
        state.apply(.detail(TaskDetail(task: Fixtures.task(7, "load-order"), parent: nil, children: [child, child])))
        state.apply(.key(.down))
        state.apply(.key(.enter))
        #expect(state.overlay == .detail(taskID: 20, child: 0))
        state.apply(.key(.escape))
        // Back on the parent, with its child row still selected.
        #expect(state.overlay == .detail(taskID: 7, child: 1))
        state.apply(.key(.escape))
        #expect(state.overlay == nil)
        #expect(state.screen == .tasks)
    }

    @Test func helpFromF1AndH() {
        var state = Fixtures.state()
        state.apply(.key(.function(1)))
        #expect(state.overlay == .help)
        state.apply(.key(.escape))
        #expect(state.overlay == nil)
        state.apply(.key(.character("h")))
        #expect(state.overlay == .help)
        state.apply(.key(.character("h")))
        #expect(state.overlay == nil)
    }

    @Test func enterOnAGroupOrResourceListsItsTasks() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        state.apply(.key(.enter))
        #expect(state.screen == .tasks)
        #expect(state.taskQuery.wait == "db.query")
        #expect(state.taskQuery.waitSite == SourceSite(file: "Orders/Repository.swift", line: 88))
        #expect(state.taskQuery.spawnSite?.line == 20)
        state.apply(.key(.escape))
        #expect(state.scope == nil)
        #expect(state.taskQuery.waitSite == nil)

        state.apply(.key(.character("4")))
        state.apply(.key(.enter))
        #expect(state.taskQuery.resource == 2)
    }

    @Test func pauseFreezesTheDisplayWhileDataKeepsComing() {
        var state = Fixtures.state()
        state.apply(.key(.character(" ")))
        #expect(state.isPaused)
        var newer = Fixtures.summary
        newer.tasks.waiting = 99
        state.apply(.summary(newer))
        #expect(state.data.summary?.tasks.waiting == 99)
        #expect(state.shown.summary?.tasks.waiting == 12)
        state.apply(.key(.character(" ")))
        #expect(state.shown.summary?.tasks.waiting == 99)
    }

    @Test func resizeKeepsTheSelectionVisible() {
        var state = Fixtures.state(width: 80, height: 60)
        state.apply(.key(.character("2")))
        state.apply(.tasks(TaskPage(total: 500, offset: 0, tasks: []), for: state.taskQuery))
        for _ in 0..<40 { state.apply(.key(.down)) }
        state.apply(.resize(width: 80, height: 24))
        let position = state.position(.tasks)
        #expect(position.selected == 40)
        #expect(position.top <= 40 && 40 < position.top + state.tableRows)
    }

    @Test func anOfflineSnapshotStaysOffline() {
        var state = UIState(width: 80, height: 24)
        state.connection = .offline("/tmp/s.json")
        state.apply(.connected(Fixtures.hello))
        #expect(state.connection == .offline("/tmp/s.json"))
        state.apply(.disconnected("no task 9 in /tmp/s.json"))
        #expect(state.connection == .offline("/tmp/s.json"))
        #expect(state.status == "no task 9 in /tmp/s.json")
    }
}

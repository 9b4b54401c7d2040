import ScopeProtocol
import Testing

@testable import ScopeUI

@Suite struct KeyTests {
    @Test func numbersAndTabSwitchScreens() {
        var state = Fixtures.state()
        state.apply(.key(.character("3")))
        #expect(state.screen == .groups)
        state.apply(.key(.tab))
        #expect(state.screen == .resources)
        state.apply(.key(.tab))
        #expect(state.screen == .warnings)
        state.apply(.key(.tab))
        #expect(state.screen == .overview)
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

    @Test func sortKeysCycleAndReverse() {
        var state = Fixtures.state()
        #expect(state.sort == .wait)
        state.apply(.key(.character("s")))
        #expect(state.sort == .name)
        #expect(state.screen == .tasks)
        state.apply(.key(.character("S")))
        #expect(state.taskQuery.isDescending)
        state.apply(.key(.character("s")))
        #expect(state.sort == .state)
        #expect(state.descending == nil)
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

    @Test func searchEditsThenApplies() {
        var state = Fixtures.state()
        state.apply(.key(.character("/")))
        for character in "chargx" { state.apply(.key(.character(character))) }
        state.apply(.key(.backspace))
        #expect(state.overlay == .search("charg"))
        // While typing, command keys are text.
        #expect(state.screen == .overview)
        state.apply(.key(.enter))
        #expect(state.textFilter == "charg")
        #expect(state.taskQuery.text == "charg")
        #expect(state.screen == .tasks)
        state.apply(.key(.character("/")))
        state.apply(.key(.escape))
        #expect(state.textFilter == "charg")
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

    @Test func exportAndQuitAreRequestsForTheRuntime() {
        var state = Fixtures.state()
        state.apply(.key(.character("e")))
        #expect(state.exportRequested)
        state.apply(.exported(.success("/tmp/x.json")))
        #expect(!state.exportRequested)
        #expect(state.status == "exported to /tmp/x.json")
        state.apply(.exported(.failure(ExportFailure("disk full"))))
        #expect(state.status == "export failed: disk full")
        state.apply(.key(.character("q")))
        #expect(state.quitRequested)
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

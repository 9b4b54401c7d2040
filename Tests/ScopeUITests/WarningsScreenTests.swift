import ScopeProtocol
import Testing

@testable import ScopeUI

/// The Warnings screen: every warning read whole, its fix, what it names, and its tasks.
@Suite struct WarningsScreenTests {
    /// The text of a frame's rows with the wrapping undone: rows joined by spaces, runs of spaces squeezed.
    static func joined(_ frame: CellBuffer) -> String {
        var text = (0..<frame.height).map { frame.line($0) }.joined(separator: " ")
        for mark in ["│", "|"] { text = text.split(separator: mark).joined(separator: " ") }
        while text.contains("  ") { text = text.replacingOccurrences("  ", " ") }
        return text
    }

    /// A dozen warnings with long messages, suspects first as if the order came mixed.
    static let many: [Warning] = (0..<12).map { index in
        let definite = index % 3 == 2
        return Warning(
            rule: definite ? .orphanedChannel : .stuckWait, resource: definite ? UInt64(100 + index) : nil,
            name: definite ? "results-\(index)" : nil,
            site: SourceSite(
                file: "Sources/VeryLongModuleName/Deeply/Nested/DemoLeaks\(index).swift", line: 100 + index),
            reason: definite ? "channel.send" : "queue.pop", tasks: 10 + index, taskIDs: [UInt64(1_000 + index)],
            message: "warning number \(index) has a message long enough that an 80-column terminal must wrap it, "
                + "and its last words are [end \(index)]",
            hint:
                "the fix for warning \(index), also long enough to need a second line at eighty columns: [fix \(index)]"
        )
    }

    @Test func fiveOpensEveryWarningDefiniteFirstWithMessageFixResourceAndTasks() throws {
        var state = Fixtures.state(width: 80, height: 24)
        var warnings = Fixtures.warnings
        warnings.reverse()  // the suspect first: the screen still lists the definite leak first
        warnings[0].message += " and then some words that go past the edge of an eighty-column terminal: tail-word"
        state.apply(.warnings(warnings))
        state.apply(.key(.character("5")))
        #expect(state.screen == .warnings)
        let frame = Renderer.render(state)
        #expect(frame.line(1).contains("5 Warnings"))
        let definite = try #require(frame.row(containing: "orphaned-channel (definite)"))
        let suspect = try #require(frame.row(containing: "stuck-wait (suspect)"))
        #expect(definite < suspect)
        #expect(frame[1, definite].style.reverse)  // selected
        let text = Self.joined(frame)
        #expect(
            text.contains(
                "channel \"receipts\" (Orders/Receipts.swift:14): 3 tasks blocked sending and no receiver left"))
        #expect(text.contains("fix: keep a receiver"))
        #expect(text.contains("resource: channel 2 \"receipts\", made at Orders/Receipts.swift:14"))
        #expect(text.contains("tasks: 3 (8, 10, 11); Enter lists them"))
        #expect(text.contains("tasks: 8 (7 and 7 more)"))
        #expect(text.contains("wait site: Orders/Repository.swift:88"))
        #expect(text.contains("fix: give it a timeout"))
        #expect(text.contains("for up to 2m00s and then some words that go past the edge"))
        #expect(text.contains("tail-word"))  // wrapped, not cut at the edge
        for y in 0..<frame.height { #expect(!frame.line(y).contains("…"), "row \(y) cut: \(frame.line(y))") }
    }

    @Test func atEightyByTwentyFourEveryWarningIsReachableByScrolling() {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.warnings(Self.many))
        state.apply(.key(.character("5")))
        var seen: [Int: String] = [:]
        var order: [Int] = []
        for _ in 0..<Self.many.count {
            let frame = Renderer.render(state)
            let text = Self.joined(frame)
            let whole = Self.many.indices.filter { text.contains("[end \($0)]") && text.contains("[fix \($0)]") }
            // In the order they appear on screen.
            let rows = whole.map { index in (index, frame.row(containing: "[end \(index)]") ?? 0) }
            for (index, _) in rows.sorted(by: { $0.1 < $1.1 }) where seen[index] == nil {
                order.append(index)
                seen[index] = text
            }
            state.apply(.key(.down))
        }
        #expect(
            Set(seen.keys) == Set(Self.many.indices),
            "never shown whole: \(Set(Self.many.indices).subtracting(seen.keys))")
        // Definite leaks (every third) come first.
        #expect(Array(order.prefix(4)) == [2, 5, 8, 11])
        // G reaches the last one too.
        state.apply(.key(.character("G")))
        let last = Self.joined(Renderer.render(state))
        #expect(last.contains("warning 12 of 12"))
        #expect(last.contains("[end 10]"))
    }

    @Test func enterOnAWarningListsExactlyItsTasks() {
        var state = Fixtures.state()
        state.apply(.key(.character("5")))
        state.apply(.key(.enter))
        #expect(state.screen == .tasks)
        let channel = Fixtures.warnings[0]
        #expect(state.taskQuery.rule == .orphanedChannel)
        #expect(state.taskQuery.resource == channel.resource)
        #expect(state.taskQuery.wait == nil)
        #expect(Renderer.render(state).line(23).contains("tasks of orphaned-channel \"receipts\""))
        // The suspect: its reason and wait site.
        state.apply(.key(.escape))
        state.apply(.key(.character("5")))
        state.apply(.key(.down))
        state.apply(.key(.enter))
        let stuck = Fixtures.warnings[1]
        #expect(state.taskQuery.rule == .stuckWait)
        #expect(state.taskQuery.wait == stuck.reason)
        #expect(state.taskQuery.waitSite == stuck.site)
        #expect(state.taskQuery.resource == nil)
    }

    @Test func enterOnTheOverviewsWarningsPanelOpensTheScreenAtThatWarning() {
        var state = Fixtures.state()
        state.apply(.key(.down))
        #expect(state.position(.overview).selected == 1)
        state.apply(.key(.enter))
        #expect(state.screen == .warnings)
        #expect(state.position(.warnings).selected == 1)
        let frame = Renderer.render(state)
        let selected = frame.row(containing: "stuck-wait (suspect)")
        #expect(selected.map { frame[1, $0].style.reverse } == true)
    }

    @Test func theTasksListMarksEveryTaskAWarningNames() throws {
        var state = Fixtures.state()
        var page = Fixtures.page
        page.tasks[1].resource = 2  // charge-card: blocked sending on the orphaned channel
        state.apply(.key(.character("2")))
        state.apply(.tasks(page, for: state.taskQuery))
        let frame = Renderer.render(state)
        let stuck = try #require(frame.row(containing: "load-order"))  // waits on db.query at Repository.swift:88
        let orphaned = try #require(frame.row(containing: "charge-card"))
        let finished = try #require(frame.row(containing: "old-job"))
        #expect(frame[0, stuck].character == "?")
        #expect(frame[0, orphaned].character == "!")
        #expect(frame[0, orphaned].style.colour == .danger)
        #expect(frame[0, finished].character == " ")
    }

    @Test func aTasksDetailSaysTheWarningsThatNameIt() {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        var task = Fixtures.task(7, "load-order")
        task.resource = 2
        task.wait = "channel.send"
        state.apply(.detail(TaskDetail(task: task, parent: nil, children: [])))
        var text = Self.joined(Renderer.render(state))
        #expect(text.contains("warnings ! orphaned-channel: channel \"receipts\" (Orders/Receipts.swift:14): 3 tasks"))
        #expect(!text.contains("stuck-wait"))
        task.resource = nil
        task.wait = "db.query"
        state.apply(.detail(TaskDetail(task: task, parent: nil, children: [])))
        text = Self.joined(Renderer.render(state))
        #expect(text.contains("warnings ? stuck-wait: 8 tasks waiting on db.query"))
        #expect(!text.contains("orphaned-channel"))
    }

    @Test func fiveFromADetailOpensTheWarningsScreenAtTheWarningThatNamesTheTask() throws {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        guard case .detail(let id, _)? = state.overlay else {
            Issue.record("Enter opened no detail")
            return
        }
        var task = Fixtures.task(id, "load-order")
        task.resource = 2
        task.wait = "channel.send"
        state.apply(.detail(TaskDetail(task: task, parent: nil, children: [])))
        let named = try #require(state.shown.warnings(naming: task).first)
        // The Warnings screen was last left on another warning.
        let last = state.shown.orderedWarnings.count - 1
        #expect(state.shown.orderedWarnings[last] != named)
        var elsewhere = ListPosition()
        elsewhere.selected = last
        state.positions[.warnings] = elsewhere
        state.apply(.key(.character("5")))
        #expect(state.screen == .warnings)
        #expect(state.overlay == nil)
        #expect(state.shown.orderedWarnings[state.position(.warnings).selected] == named)

        // A task no warning names: 5 is the plain screen key.
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        guard case .detail(let other, _)? = state.overlay else { return }
        let quiet = Fixtures.task(other, "quiet", state: .active)
        #expect(state.shown.warnings(naming: quiet).isEmpty)
        state.apply(.detail(TaskDetail(task: quiet, parent: nil, children: [])))
        state.positions[.warnings] = ListPosition()
        state.apply(.key(.character("5")))
        #expect(state.screen == .warnings)
        #expect(state.position(.warnings).selected == 0)
    }

    @Test func asciiLocalesGetAsciiOnEveryNewScreen() {
        var state = Fixtures.state(glyphs: .ascii)
        state.apply(.warnings(Self.many))
        for key in ["1", "2", "3", "4", "5", "?"] {
            state.apply(.key(.character(Character(key))))
            let frame = Renderer.render(state)
            #expect(!frame.text.unicodeScalars.contains { $0.value > 127 }, "screen \(key) is not ASCII")
            if key == "?" { state.apply(.key(.escape)) }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

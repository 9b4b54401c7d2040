import ScopeProtocol
import Testing

@testable import ScopeUI

@Suite struct RenderTests {
    @Test(arguments: [(80, 24), (200, 60)])
    func theOverviewShowsCountsTrendsReasonsAndWarnings(width: Int, height: Int) throws {
        let frame = Renderer.render(Fixtures.state(width: width, height: height))
        #expect(frame.line(0).contains("taskscope  orders (pid 4242)  up 5m00s"))
        #expect(frame.line(0).contains("live"))
        #expect(frame.line(0).hasSuffix("! 1 leak"))
        #expect(frame.line(1).contains("1 Overview") && frame.line(1).contains("4 Resources"))
        let active = try #require(frame.row(containing: "active"))
        #expect(frame.line(active).contains("3"))
        let waiting = try #require(frame.row(containing: "  waiting"))
        #expect(frame.line(waiting).contains("12"))
        #expect(frame.line(waiting).contains("█"))  // the sparkline reaches its top
        #expect(frame.text.contains("spawned 1,234"))
        let reason = try #require(frame.row(containing: "db.query"))
        #expect(frame.line(reason).contains("67%"))  // 8 of 12, by largest remainder: 67 + 25 + 8 = 100
        #expect(frame.line(reason).contains("2m00s"))  // longest, from the groups
        #expect(frame.text.contains("1 definite, 1 suspect"))
        let leak = try #require(frame.row(containing: "orphaned-channel"))
        #expect(frame[1, leak].character == "!")
        #expect(frame[1, leak].style.colour == .danger)
        #expect(frame.line(height - 1).contains("? help  q quit"))
        #expect(frame.line(height - 1).contains("wait: all"))
    }

    @Test(arguments: [(80, 24), (200, 60)])
    func theTasksTableShowsRowsSortAndDimsFinishedTasks(width: Int, height: Int) throws {
        var state = Fixtures.state(width: width, height: height)
        state.apply(.key(.character("2")))
        let frame = Renderer.render(state)
        let header = try #require(frame.row(containing: "NAME"))
        #expect(frame.line(header).contains("WAITING▼"))  // sorted by wait, longest first
        #expect(frame.line(header).contains("WAIT SITE"))
        #expect(frame.line(header).contains("SPAWN SITE") == (width >= 120))
        let first = try #require(frame.row(containing: "load-order"))
        #expect(frame[0, first].style.reverse)  // the selection
        #expect(frame.line(first).contains("db.query"))
        #expect(frame.line(first).contains("12.0s"))
        let finished = try #require(frame.row(containing: "old-job"))
        #expect(frame[10, finished].style.dim)
        #expect(frame.line(finished).contains("completed"))
        #expect(frame.text.contains("rows 1-3 of 3"))
    }

    @Test(arguments: [(80, 24), (200, 60)])
    func theGroupsScreenListsGroupsLargestFirst(width: Int, height: Int) throws {
        var state = Fixtures.state(width: width, height: height)
        state.apply(.key(.character("3")))
        let frame = Renderer.render(state)
        let first = try #require(frame.row(containing: "db.query"))
        let second = try #require(frame.row(containing: "(active)"))
        #expect(first < second)
        // The count column as wide as its numbers and its sorted title (`TASKS▼`).
        #expect(frame.line(first).hasPrefix("     8 db.query"))
        #expect(frame.line(first - 1).hasPrefix("TASKS▼"))
        #expect(frame.line(first).contains("Repository.swift:88"))
        // The spawn site gets a column of its own where there is room.
        #expect(frame.line(first).contains("Orders/Server.swift:20 handle()") == (width >= 100))
    }

    @Test(arguments: [(80, 24), (200, 60)])
    func theResourcesScreenMarksOrphansFirst(width: Int, height: Int) throws {
        var state = Fixtures.state(width: width, height: height)
        state.apply(.key(.character("4")))
        let frame = Renderer.render(state)
        let orphan = try #require(frame.row(containing: "receipts"))
        let pool = try #require(frame.row(containing: "db-pool"))
        #expect(orphan < pool)
        #expect(frame[0, orphan].character == "!")
        #expect(frame[0, orphan].style.colour == .danger)
        #expect(frame[0, pool].character == " ")
        #expect(frame.text.contains("2 resources, 1 orphaned"))
    }

    @Test func helpListsEveryKeyOfTheBindingTable() {
        // Tall enough for the whole table in one column; smaller terminals scroll it.
        var state = Fixtures.state(width: 100, height: 40)
        state.apply(.key(.character("?")))
        let text = HelpText.read(Renderer.render(state))
        for binding in KeyBinding.all {
            let entry = (binding.label + " " + binding.help).split(separator: " ").joined(separator: " ")
            #expect(text.contains(entry), "help lacks \(binding.help)")
        }
    }

    /// The cooperative pool's lag beside the task counts, when the agent measures it: now, and its
    /// trend; a stall of a quarter second or more in the danger colour.
    @Test(arguments: [(80, 24), (200, 50)])
    func theOverviewShowsTheExecutorLagWhenMeasured(width: Int, height: Int) throws {
        let unmeasured = Renderer.render(Fixtures.state(width: width, height: height))
        #expect(unmeasured.row(containing: "executor lag") == nil, "an agent that does not measure it")
        var state = Fixtures.state(width: width, height: height)
        var summary = Fixtures.summary
        summary.executorLag = 0.4
        state.apply(.summary(summary))
        state.apply(
            .history(
                Fixtures.history.enumerated().map { index, sample in
                    var sample = sample
                    sample.lag = index == 20 ? 0.4 : 0.002
                    return sample
                }))
        let frame = Renderer.render(state)
        let row = try #require(frame.row(containing: "executor lag"))
        let line = frame.line(row)
        #expect(line.contains("400ms"), "\(line)")
        #expect(line.contains("█"), "the stall is the trend's top")
        #expect(line.hasSuffix("0-400ms"), "\(line)")
        let now = try #require(line.range(of: "400ms"))
        let x = line.distance(from: line.startIndex, to: now.lowerBound)
        #expect(frame[x, row].style.colour == .danger)
        #expect(frame.row(containing: "waiting") ?? 0 < row && frame.text.contains("WARNINGS"), "the rest still fits")
    }

    /// A long process name at 80 columns: the uptime and the interval give way, never the count
    /// of leaks (a service named as long as `taskscope-example-service` lost it).
    @Test func aLongProcessNameKeepsTheLeakCountAndDropsDetailsFirst() {
        var state = Fixtures.state(width: 80, height: 24)
        var hello = Fixtures.hello
        hello.process = "taskscope-example-service"
        hello.pid = 24202
        state.apply(.connected(hello))
        let header = Renderer.render(state).line(0)
        #expect(header.contains("taskscope-example-service (pid 24202)"))
        #expect(header.contains("live"))
        #expect(header.hasSuffix("! 1 leak"), "\(header)")
        #expect(!header.contains("every"), "the least useful detail went first: \(header)")
        let wide = Renderer.render(Fixtures.state(width: 200, height: 24)).line(0)
        #expect(wide.contains("up 5m00s  every 1.0s") && wide.hasSuffix("! 1 leak"), "room for all: \(wide)")
    }

    @Test func theDetailShowsEveryFieldParentAndChildren() throws {
        var state = Fixtures.state(width: 100, height: 30)
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        #expect(state.overlay == .detail(taskID: 7, child: 0))
        state.apply(
            .detail(
                TaskDetail(
                    task: Fixtures.task(7, "load-order"), parent: Fixtures.task(1, "server", state: .active),
                    children: [Fixtures.task(20, "read-row"), Fixtures.task(21, "read-cache", state: .finished)])))
        let frame = Renderer.render(state)
        #expect(frame.text.contains("task 7"))
        #expect(frame.text.contains("name        load-order"))
        #expect(frame.text.contains("wait site   Orders/Repository.swift:88"))
        #expect(frame.text.contains("spawn site  Orders/Server.swift:20 handle()"))
        #expect(frame.text.contains("parent      1 server (active)"))
        #expect(frame.text.contains("trace       -"), "no trace: says so")
        let child = try #require(frame.row(containing: "read-row"))
        #expect(
            frame[
                frame.line(child).firstIndex(of: "r").map {
                    frame.line(child).distance(from: frame.line(child).startIndex, to: $0)
                } ?? 0, child
            ].style.reverse)
        state.apply(.key(.down))
        state.apply(.key(.enter))
        #expect(state.overlay == .detail(taskID: 21, child: 0))
    }

    /// The detail shows the task's async stack below its children, innermost first, with where
    /// each frame is; at 80x24 a deep stack is reached by scrolling Down past the children.
    @Test func theDetailShowsTheAsyncStackAndScrollsToItsEnd() throws {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        state.apply(
            .detail(TaskDetail(task: Fixtures.task(7, "load-order"), parent: nil, children: [Fixtures.task(20, "row")]))
        )
        #expect(Renderer.render(state).text.contains("loading"), "the stack is asked for apart")
        let frames = (1...12).map { depth in
            StackFrame(
                function: "static Orders.Shop.level\(depth)(order: Int) async -> Int", file: "/src/Orders/Shop.swift",
                line: 100 + depth, module: "Orders", offset: 0x1000)
        }
        let list = StackList(
            total: 1, groups: [StackGroup(stack: 1, reason: "db.query", count: 1, longest: 3, sampleIDs: [7])],
            stacks: [StackInfo(id: 1, frames: frames)], tasks: ["7": 1])
        state.apply(.detailStack(DetailStack(taskID: 7, list: list)))
        var text = Renderer.render(state).text
        #expect(text.contains("stack       async callers, innermost first"))
        #expect(text.contains("static Orders.Shop.level1(order: Int) async -> Int"))
        #expect(text.contains("/src/Orders/Shop.swift:101"))
        #expect(!text.contains("level12("), "24 rows: the deepest frames are below")
        for _ in 0..<30 { state.apply(.key(.down)) }
        text = Renderer.render(state).text
        #expect(text.contains("static Orders.Shop.level12(order: Int) async -> Int") && text.contains("Shop.swift:112"))
        // A task with no stack read says why.
        state.apply(.detailStack(DetailStack(taskID: 7, list: StackList(total: 0, tasks: [:]))))
        #expect(Renderer.render(state).text.contains("none read: the task is not waiting now"))
    }

    /// `b` on Groups groups the waiting tasks by async stack: largest first, the stack innermost
    /// first, the frames that tell one stack from the other in bold; the stacks are asked for only
    /// while this view is on screen, and Enter opens a task of the group.
    @Test func groupsByStackShowTheFramesThatDifferInBold() throws {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("3")))
        #expect(!LoadPlan.parts(for: LoadPlan(state), refresh: 1).contains(.stacks), "by site: no stacks read")
        state.apply(.key(.character("b")))
        #expect(state.groupsByStack)
        #expect(LoadPlan.parts(for: LoadPlan(state), refresh: 1).contains(.stacks))
        func frame(_ name: String, _ line: Int) -> StackFrame {
            StackFrame(
                function: "static Orders.Shop.\(name)(Int) async -> Int", file: "/src/Shop.swift", line: line,
                module: "Orders", offset: 0)
        }
        let list = StackList(
            total: 2,
            groups: [
                StackGroup(stack: 1, reason: "db.query", count: 40, longest: 61, sampleIDs: [9, 10]),
                StackGroup(stack: 2, reason: "db.query", count: 3, longest: 2, sampleIDs: [30]),
            ],
            stacks: [
                StackInfo(id: 1, frames: [frame("query", 10), frame("reserveStock", 20), frame("checkout", 30)]),
                StackInfo(id: 2, frames: [frame("query", 10), frame("refund", 40), frame("checkout", 30)]),
            ])
        state.apply(.stackGroups(list))
        let screen = Renderer.render(state)
        let first = try #require(screen.row(containing: "Shop.query < Shop.reserveStock < Shop.checkout"))
        let second = try #require(screen.row(containing: "Shop.query < Shop.refund < Shop.checkout"))
        #expect(first < second, "largest first")
        #expect(screen.line(first).contains("40") && screen.line(first).contains("db.query"))
        func style(of word: String, row: Int) -> Style {
            let line = screen.line(row)
            let x = line.distance(from: line.startIndex, to: line.range(of: word)!.lowerBound)
            return screen[x, row].style
        }
        #expect(style(of: "Shop.refund", row: second).bold, "the frame only this stack has")
        #expect(!style(of: "Shop.checkout", row: second).bold, "a frame every stack has")
        #expect(screen.text.contains("Groups by async stack (b: by site again)"))
        state.apply(.key(.enter))
        #expect(state.overlay == .detail(taskID: 9, child: 0), "the group's first task, with its stack")
        state.apply(.key(.escape))
        state.apply(.key(.character("b")))
        #expect(!state.groupsByStack && !Renderer.render(state).text.contains("Shop.refund"))
        state.apply(.key(.character("2")))
        state.apply(.key(.character("b")))
        #expect(!state.groupsByStack && state.status?.contains("Groups screen") == true)
    }

    /// A frame the agent could not name, or place in a source line, shows its module and offset
    /// in the detail, as the text report does (``StackFrame/place``).
    @Test func aFrameWithoutANameOrLineShowsItsModuleAndOffset() {
        let frames = [
            StackFrame(function: nil, module: "libswift_Concurrency.so", offset: 0x659d0),
            StackFrame(function: "static Orders.Shop.run() async", module: "Orders", offset: 0x2a),
            StackFrame(function: "Orders.main()", file: "/src/main.swift", line: 4, module: "Orders", offset: 0),
        ]
        let list = StackList(total: 1, stacks: [StackInfo(id: 1, frames: frames)], tasks: ["7": 1])
        let lines = DetailStack(taskID: 7, list: list).lines
        #expect(
            lines.map(\.text) == [
                "libswift_Concurrency.so+0x659d0", "  libswift_Concurrency.so+0x659d0",
                "static Orders.Shop.run() async", "  Orders+0x2a",
                "Orders.main()", "  /src/main.swift:4",
            ])
        #expect(lines.map(\.isPlace) == [false, true, false, true, false, true])
    }

    /// Groups by stack have one order, largest first: the status line says so at 80 columns, where
    /// the sort of Groups by site was, and the sort keys leave it as it is.
    @Test func theStatusLineOfGroupsByStackShowsNoSort() throws {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("3")))
        #expect(Renderer.render(state).line(23).contains("sort: count▼"), "by site, the sort shows")
        state.apply(.key(.character("b")))
        state.apply(
            .stackGroups(
                StackList(
                    total: 1, groups: [StackGroup(stack: 1, reason: "db.query", count: 4, longest: 3, sampleIDs: [9])],
                    stacks: [
                        StackInfo(id: 1, frames: [StackFrame(function: "Orders.Shop.query()", module: "O", offset: 0)])
                    ])))
        var screen = Renderer.render(state)
        var status = screen.line(23)
        #expect(status.contains("by stack") && !status.contains("sort:"), "\(status)")
        #expect(status.hasSuffix("? help  q quit"), "\(status)")
        // The message `b` leaves fits beside it, on the last row, whole.
        #expect(status.contains("Groups by async stack (b: by site again)"), "\(status)")
        #expect(screen.line(22).contains("Enter opens a task"), "the footer above is not covered: \(screen.line(22))")
        for key in ["s", "S"] {
            state.apply(.key(.character(Character(key))))
            screen = Renderer.render(state)
            status = screen.line(23)
            #expect(status.contains("by stack") && !status.contains("sort:"), "after \(key): \(status)")
            #expect(
                state.groupSort == .count && state.groupDescending == nil, "\(key) leaves the sort by site as it was")
        }
        #expect(screen.text.contains("Groups by stack are largest first"))
        state.apply(.key(.character("b")))
        #expect(Renderer.render(state).line(23).contains("sort: count▼"), "by site again, the sort shows again")
    }

    /// A traced task's detail shows its trace id whole, to copy into the tracing backend.
    @Test func theDetailShowsTheTraceIDWhole() {
        var state = Fixtures.state(width: 80, height: 24)
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        var task = Fixtures.task(7, "GET /orders/{id}")
        task.trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        state.apply(.detail(TaskDetail(task: task, parent: nil, children: [])))
        #expect(Renderer.render(state).text.contains("trace       4bf92f3577b34da6a3ce929d0e0e4736"))
    }

    @Test func theStatusLineShowsFiltersSortAndPause() {
        var state = Fixtures.state()
        state.apply(.key(.character("w")))
        state.apply(.key(.down))
        state.apply(.key(.enter))
        // The picker's filter shows the tasks; `s` sorts them by the column after WAITING.
        state.apply(.key(.character("s")))
        state.apply(.key(.character(" ")))
        let status = Renderer.render(state).line(23)
        #expect(status.contains("PAUSED"))
        #expect(status.contains("wait: db.query"))
        #expect(status.contains("sort: age▼"))
    }

    @Test func asciiLocalesGetAsciiGlyphs() {
        #expect(Glyphs.forEnvironment(["LANG": "C"]) == .ascii)
        #expect(Glyphs.forEnvironment(["LANG": "en_US.UTF-8"]) == .unicode)
        #expect(Glyphs.forEnvironment(["LC_ALL": "C", "LANG": "en_US.UTF-8"]) == .ascii)
        let frame = Renderer.render(Fixtures.state(glyphs: .ascii))
        #expect(!frame.text.unicodeScalars.contains { $0.value > 127 })
        #expect(frame.text.contains("@"))  // the top of an ASCII sparkline
    }

    @Test func aTerminalTooSmallSaysSo() {
        let frame = Renderer.render(Fixtures.state(width: 30, height: 8))
        #expect(frame.text.contains("terminal too small"))
        #expect(!frame.text.contains("Overview"))
    }

    @Test func aLostProcessIsShownWithTheLastData() {
        var state = Fixtures.state()
        state.apply(.disconnected("connection closed"))
        let frame = Renderer.render(state)
        #expect(frame.line(0).contains("process gone: connection closed"))
        #expect(frame.line(23).contains("showing the last data; reconnecting"))
        #expect(frame.text.contains("spawned 1,234"))
    }

    @Test func sparklinesScaleToTheirLargestValue() {
        #expect(Sparkline.render([0, 1, 2, 4], width: 4, glyphs: .unicode) == "▁▃▅█")
        #expect(Sparkline.render([0, 0], width: 4, glyphs: .unicode) == "  ▁▁")
        #expect(Sparkline.render([5, 5, 5], width: 2, glyphs: .ascii) == "@@")
    }
}

@Suite struct OverviewLayoutTests {
    @Test func aWideTerminalKeepsEachReasonNextToItsCount() throws {
        let frame = Renderer.render(Fixtures.state(width: 200, height: 60))
        let row = try #require(frame.row(containing: "db.query"))
        // The reason column is as wide as the reasons, not half the screen.
        #expect(
            frame.line(row).range(of: #"db\.query\s{1,16}\d"#, options: .regularExpression) != nil, "\(frame.line(row))"
        )
    }
}

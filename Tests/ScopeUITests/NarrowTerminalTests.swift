import ScopeProtocol
import Testing

@testable import ScopeUI

/// At 80x24 every screen still identifies the leak: a site's file name and line are never cut.
@Suite struct NarrowTerminalTests {
    /// Every `Name.swift:N` in a row (the letters and digits before `.swift:`, the digits after),
    /// with the character before it.
    static func sites(in line: String) -> [(before: Character?, site: String)] {
        let characters = Array(line)
        var found: [(Character?, String)] = []
        var index = 0
        while index < characters.count {
            guard let range = line.dropFirst(index).range(of: ".swift:") else { break }
            let dot = line.distance(from: line.startIndex, to: range.lowerBound)
            var start = dot
            while start > 0, characters[start - 1].isLetter || characters[start - 1].isNumber { start -= 1 }
            var end = dot + ".swift:".count
            while end < characters.count, characters[end].isNumber { end += 1 }
            found.append((start > 0 ? characters[start - 1] : nil, String(characters[start..<end])))
            index = end
        }
        return found
    }

    /// Checks that every site a frame shows is a whole file name and line of the fixture: a
    /// name cut from the left (`…Site0.swift:160`) or a line cut short is not among them.
    static func expectWholeSites(_ frame: CellBuffer, _ what: String) {
        for y in 0..<frame.height {
            for (before, site) in sites(in: frame.line(y)) {
                #expect(
                    LongFixtures.shortSites.contains(site)
                        && (before == nil || before == " " || before == "/"
                            || before == "(" || before == "…"),
                    "\(what), row \(y): \(site) is not a whole file:line: \(frame.line(y))")
            }
        }
    }

    @Test func theTasksTableKeepsEveryWaitSiteWhole() throws {
        var state = LongFixtures.state()
        state.apply(.key(.character("2")))
        let frame = Renderer.render(state)
        Self.expectWholeSites(frame, "tasks")
        for task in LongFixtures.tasks {
            let row = try #require(frame.row(containing: "\(task.id) task-"), "task \(task.id) has no row")
            if let wait = task.waitSite { #expect(frame.line(row).contains(LongFixtures.short(wait))) }
        }
    }

    @Test func theGroupsScreenKeepsSitesWholeAndActiveGroupsKeepTheirSpawnSite() throws {
        var state = LongFixtures.state()
        state.apply(.key(.character("3")))
        let frame = Renderer.render(state)
        Self.expectWholeSites(frame, "groups")
        for (index, group) in LongFixtures.groups.enumerated() {
            let row = 3 + index  // the groups come in order under the header
            let site = group.key.waitSite ?? group.key.spawnSite
            #expect(frame.line(row).contains(LongFixtures.short(site)), "\(frame.line(row))")
        }
        let active = try #require(frame.row(containing: "(active)"))
        #expect(frame.line(active).contains(LongFixtures.short(LongFixtures.tasks[5].spawnSite)))
        #expect(!frame.line(active).hasSuffix(" -"))
    }

    @Test func theResourcesScreenKeepsEverySiteWhole() throws {
        var state = LongFixtures.state()
        state.apply(.key(.character("4")))
        let frame = Renderer.render(state)
        Self.expectWholeSites(frame, "resources")
        for (index, resource) in LongFixtures.resources.enumerated() {
            let row = 3 + index
            #expect(frame.line(row).contains(LongFixtures.short(resource.site)), "\(frame.line(row))")
            #expect(frame.line(row).contains("6 (finished)"))
        }
    }

    @Test func theOverviewAndWarningsNameTheirSitesWhole() {
        var state = LongFixtures.state()
        let overview = Renderer.render(state)
        Self.expectWholeSites(overview, "overview")
        for warning in LongFixtures.warnings {
            #expect(overview.text.contains(LongFixtures.short(warning.site!)), "overview lacks \(warning.rule)")
        }
        state.apply(.key(.character("5")))
        let warnings = Renderer.render(state)
        Self.expectWholeSites(warnings, "warnings")
        for warning in LongFixtures.warnings {
            #expect(warnings.text.contains(LongFixtures.short(warning.site!)), "warnings lack \(warning.rule)")
        }
    }

    @Test func theDetailKeepsItsSitesWhole() {
        var state = LongFixtures.state()
        state.apply(.key(.character("2")))
        state.apply(.key(.enter))
        let task = LongFixtures.tasks[0]
        state.apply(.detail(TaskDetail(task: task, parent: nil, children: Array(LongFixtures.tasks.dropFirst()))))
        let frame = Renderer.render(state)
        Self.expectWholeSites(frame, "detail")
        #expect(frame.text.contains(LongFixtures.short(task.waitSite!)))
        #expect(frame.text.contains(LongFixtures.short(task.spawnSite)))
    }

    @Test func theHelpFitsWhole() {
        var state = LongFixtures.state()
        state.apply(.key(.character("?")))
        let frame = Renderer.render(state)
        let text = HelpText.read(frame)
        for binding in KeyBinding.all {
            #expect(text.contains((binding.label + " " + binding.help).squeezed), "help lacks \(binding.label)")
        }
        #expect(frame.text.contains("? or Esc closes this"))
    }

    @Test func aLongExportPathIsReadWhole() {
        var state = LongFixtures.state()
        let path = "/home/someone/work/\(LongFixtures.directory)/taskscope-orders-4242-20261202T063000Z.json"
        state.apply(.exported(.success(path)))
        let frame = Renderer.render(state)
        let text = (0..<frame.height).map { frame.line($0).trimmingLeadingSpaces }.joined()
        #expect(text.contains("exported to" + path) || text.contains("exported to " + path))
        #expect(frame.line(23).contains("? help  q quit"))
    }

    @Test func pickerAndSearchFit() {
        var state = LongFixtures.state()
        state.apply(.key(.character("w")))
        Self.expectWholeSites(Renderer.render(state), "picker")
        state.apply(.key(.escape))
        state.apply(.key(.character("/")))
        Self.expectWholeSites(Renderer.render(state), "search")
    }
}

extension String {
    fileprivate var squeezed: String {
        split(separator: " ").joined(separator: " ")
    }

    fileprivate var trimmingLeadingSpaces: String { String(drop { $0 == " " }) }
}

/// The table layout: least widths, wants, priorities.
@Suite struct TableLayoutTests {
    static let columns: [Column] = [
        Column(title: "ID", width: 4, right: true, priority: 9),
        .flexible("NAME", least: 6, want: 12, most: 30, priority: 4, weight: 2),
        Column(title: "AGE", width: 6, priority: 3),
        .flexible("SITE", least: 18, most: 40, priority: 8),
        .flexible("EXTRA", least: 10, most: 10, priority: 1),
    ]

    @Test func wideEnoughEveryColumnGrowsTowardItsMost() {
        let widths = Table.widths(Self.columns, in: 200)
        #expect(widths == [4, 30, 6, 40, 10])
    }

    @Test func narrowerTheLeastImportantGoFirstAndTheSiteKeepsItsLeast() {
        // 4 + 12 + 6 + 18 + 3 spaces = 43: EXTRA (10 more) does not fit beside the others' wants;
        // the 5 cells left go to NAME two at a time and SITE one at a time.
        #expect(Table.widths(Self.columns, in: 48) == [4, 16, 6, 19, 0])
        // AGE goes before NAME has its want, and NAME before the site its least.
        #expect(Table.widths(Self.columns, in: 36) == [4, 12, 0, 18, 0])
        #expect(Table.widths(Self.columns, in: 24) == [4, 0, 0, 19, 0])
    }

    @Test func droppedColumnsTakeNoRoomInARow() {
        var buffer = CellBuffer(width: 24, height: 1)
        let widths = Table.widths(Self.columns, in: 24)
        let site = Fit.site(SourceSite(file: "Dir/DemoLeaks.swift", line: 29), widths[3], glyphs: .unicode)
        Table.row(
            ["7", "name", "1m", site, "x"], columns: Self.columns, widths: widths, y: 0, style: .plain,
            glyphs: .unicode, into: &buffer)
        #expect(buffer.line(0) == "   7 DemoLeaks.swift:29")
    }
}

/// A site in a narrow cell: the directory goes first, whole directories from the left.
@Suite struct SiteFitTests {
    static let site = SourceSite(file: "Sources/Demo/Handlers/DemoLeaks.swift", line: 29, function: "spawn()")

    @Test func theDirectoryIsCutBeforeTheFileNameAndLine() {
        let fit = { (width: Int) in Fit.site(Self.site, width, glyphs: .unicode).trimmingTrailingSpaces() }
        #expect(
            Fit.site(Self.site, 60, function: true, glyphs: .unicode).hasPrefix(
                "Sources/Demo/Handlers/DemoLeaks.swift:29 spawn()"))
        #expect(fit(40) == "Sources/Demo/Handlers/DemoLeaks.swift:29")
        #expect(fit(39) == "…/Demo/Handlers/DemoLeaks.swift:29")
        #expect(fit(29) == "…/Handlers/DemoLeaks.swift:29")
        #expect(fit(28) == "…/DemoLeaks.swift:29")
        #expect(fit(19) == "DemoLeaks.swift:29")
        #expect(fit(18) == "DemoLeaks.swift:29")
        #expect(fit(12) == "DemoLeak…:29")
        #expect(Fit.siteMinimum(Self.site) == 18)
    }

    /// A request scope's spawn site names its route as its function: the route is what a group of
    /// requests is, so it comes first and stays whole while the middleware's file gives way.
    @Test func aRequestScopesRouteComesFirstAndStaysWhole() {
        let scope = SourceSite(
            file: "TaskScopeHummingbird/TaskScopeMiddleware.swift", line: 28, function: "GET /orders/{id}")
        #expect(scope.route == "GET /orders/{id}")
        #expect(Self.site.route == nil, "a Swift function's name is no route")
        let fit = { (width: Int) in Fit.site(scope, width, function: true, glyphs: .unicode).trimmingTrailingSpaces() }
        #expect(fit(80) == "GET /orders/{id}  TaskScopeHummingbird/TaskScopeMiddleware.swift:28")
        #expect(fit(60) == "GET /orders/{id}  TaskScopeMiddleware.swift:28")
        #expect(fit(28) == "GET /orders/{id}")
        #expect(fit(16) == "GET /orders/{id}")
        #expect(fit(10) == "GET /orde…")
        #expect(Fit.siteMinimum(scope) == 16)
        #expect(
            Fit.site(scope, 80, glyphs: .unicode).hasPrefix("TaskScopeHummingbird/TaskScopeMiddleware.swift:28"),
            "where no function is shown, the site is a site")
    }
}

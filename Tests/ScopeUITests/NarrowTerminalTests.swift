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

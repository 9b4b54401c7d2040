import ScopeProtocol
import Testing

@testable import ScopeUI

/// Sparklines that say their window and their scale, and numbers that agree with each other.
@Suite struct TrendsAndNumbersTests {
    static func samples(_ count: Int, every interval: Double = 1, _ make: (Int) -> HistorySample) -> [HistorySample] {
        (0..<count).map(make)
    }

    static func sample(
        _ index: Int, every interval: Double = 1, waits: [String: Int], sites: [String: Int] = [:]
    )
        -> HistorySample
    {
        HistorySample(
            time: 1_000 + Double(index) * interval, active: 3, waiting: waits.values.reduce(0, +),
            totals: .init(spawned: UInt64(index * 10), completed: UInt64(index * 5), cancelled: 0, failed: 0),
            waits: waits, sites: sites)
    }

    static func summary(waits: [String: Int], interval: Double = 1) -> Summary {
        Summary(
            pid: 4242, process: "orders", capturedAt: 1_300, uptime: 300,
            tasks: .init(active: 3, waiting: waits.values.reduce(0, +), finished: 1_024),
            totals: .init(spawned: 5_000, completed: 3_000, cancelled: 0, failed: 0), waits: waits,
            interval: interval)
    }

    @Test func aConstantOneAndAConstantThousandDoNotLookTheSame() throws {
        var state = Fixtures.state(width: 100, height: 30)
        let waits = ["few": 1, "many": 1_000]
        state.apply(.summary(Self.summary(waits: waits)))
        state.apply(.history((0..<40).map { Self.sample($0, waits: waits) }))
        let frame = Renderer.render(state)
        let few = try #require(frame.row(containing: "  few"))
        let many = try #require(frame.row(containing: "  many"))
        let trend = { (y: Int) in frame.line(y).filter { Glyphs.unicode.levels.contains($0) } }
        #expect(trend(few).allSatisfy { $0 == "▂" })  // the lowest level above zero
        #expect(trend(many).allSatisfy { $0 == "█" })
        #expect(trend(few).count == trend(many).count && !trend(few).isEmpty)
        // The scale the rows are drawn against is printed.
        #expect(frame.text.contains("TREND, 0-1,000"))
    }

    @Test func sparklinesDrawAgainstAGivenScaleAndLeaveGapsForTheUnknown() {
        #expect(Sparkline.render([1, 1], width: 2, scale: 1_000, glyphs: .unicode) == "▂▂")
        #expect(Sparkline.render([0, 0], width: 2, scale: 1_000, glyphs: .unicode) == "▁▁")
        #expect(Sparkline.render([1_000, 1_000], width: 2, scale: 1_000, glyphs: .unicode) == "██")
        #expect(Sparkline.render([500, nil, 0], width: 4, scale: 1_000, glyphs: .unicode) == " ▅ ▁")
        #expect(Sparkline.scale([[1, 2, nil], [7, nil]], width: 8) == 7)
        #expect(Sparkline.window(samples: 600, interval: 1) == "10m")
        #expect(Sparkline.window(samples: 45, interval: 1) == "45s")
        #expect(Sparkline.window(samples: 90, interval: 1) == "1m30s")
        #expect(Sparkline.window(samples: 360, interval: 10) == "1h")
    }

    @Test func trendsSayTheWindowTheyCover() throws {
        var state = Fixtures.state(width: 200, height: 50)
        state.apply(.summary(Self.summary(waits: ["db.query": 8], interval: 10)))
        state.apply(.history((0..<600).map { Self.sample($0, every: 10, waits: ["db.query": $0 % 9]) }))
        var frame = Renderer.render(state)
        #expect(frame.text.contains("trend, last 10m"))  // 60 cells of 10 s samples
        state.apply(.key(.character("3")))
        frame = Renderer.render(state)
        let footer = try #require(frame.row(containing: "groups;"))
        #expect(frame.line(footer).contains("trend: last 10m, one scale 0-8"))
    }

    @Test func activeGroupsGetATrendFromTheirSpawnSite() throws {
        var state = Fixtures.state(width: 120, height: 30)
        let site = "Orders/Main.swift:3"  // the (active) group's spawn site
        state.apply(
            .history(
                (0..<20).map { index in
                    Self.sample(index, waits: ["db.query": 8], sites: index < 5 ? [:] : [site: index * 10])
                }))
        state.apply(.key(.character("3")))
        let frame = Renderer.render(state)
        let active = try #require(frame.row(containing: "(active)"))
        let line = frame.line(active)
        #expect(line.contains("█"))  // rising to the top of the table's scale
        #expect(Set(line.filter { Glyphs.unicode.levels.contains($0) }).count >= 5)
        // Samples that did not keep the site are gaps, not zeros.
        let levels = line.filter { Glyphs.unicode.levels.contains($0) }
        #expect(levels.count == 15)
    }

    @Test func retainedFinishedTasksSayWhatTheyAreAndTrendTheCompletionRate() throws {
        var state = Fixtures.state(width: 100, height: 30)
        state.apply(.summary(Self.summary(waits: ["db.query": 8])))
        state.apply(.history((0..<30).map { Self.sample($0, waits: ["db.query": 8]) }))
        let frame = Renderer.render(state)
        let row = try #require(frame.row(containing: "finished (kept)"))
        #expect(frame.line(row).contains("1,024"))
        #expect(frame.line(row).contains("0-5/s done"))  // 5 completed per 1 s sample
    }

    @Test func sharesAddUpToAHundred() throws {
        #expect(Share.percentages([1, 1, 1]) == [34, 33, 33])
        #expect(Share.percentages([8, 3, 1]) == [67, 25, 8])
        #expect(Share.percentages([0, 0]) == [0, 0])
        let counts = [17, 5, 3, 1, 1, 1, 1]
        #expect(Share.percentages(counts).reduce(0, +) == 100)
        var state = Fixtures.state(width: 100, height: 40)
        state.apply(.summary(Self.summary(waits: ["a": 1, "b": 1, "c": 1])))
        let frame = Renderer.render(state)
        let shares = try ["a", "b", "c"].map { reason -> Int in
            let line = frame.line(try #require(frame.row(containing: "  \(reason)  ")))
            let percent = try #require(line.split(separator: " ").first { $0.hasSuffix("%") })
            return try #require(Int(percent.dropLast()))
        }
        #expect(shares.reduce(0, +) == 100)
    }

    @Test func aFinishedOwnerReadsAsTheTextReportSaysIt() throws {
        var state = Fixtures.state()
        var resources = Fixtures.resources
        resources[0].owner = 6
        resources[0].ownerFinished = true
        resources[1].owner = 7
        resources[1].ownerFinished = false
        state.apply(.resources(resources))
        state.apply(.key(.character("4")))
        let frame = Renderer.render(state)
        #expect(frame.line(try #require(frame.row(containing: "receipts"))).contains("6 (finished)"))
        #expect(!frame.text.contains("gone"))
        let pool = frame.line(try #require(frame.row(containing: "db-pool")))
        #expect(pool.contains(" 7 ") && !pool.contains("(finished)"))
    }

    /// A task's age comes from the clock its wait was measured by, so WAITING never exceeds AGE.
    @Test func aTasksAgeIsReadOnThePagesClock() throws {
        var state = Fixtures.state()
        state.apply(.key(.character("2")))
        let task = Fixtures.task(7, "load-order", inState: 150)  // created at 1,200; the summary was read at 1,300
        state.apply(.tasks(TaskPage(total: 1, offset: 0, tasks: [task], capturedAt: 1_360), for: state.taskQuery))
        var row = Renderer.render(state).line(3)
        #expect(row.contains("2m30s"))  // waiting
        #expect(row.contains("2m40s"))  // age: 1,360 - 1,200
        // An agent that does not send the page's time: the age is never less than the wait.
        state.apply(.tasks(TaskPage(total: 1, offset: 0, tasks: [task]), for: state.taskQuery))
        row = Renderer.render(state).line(3)
        #expect(row.contains("2m30s   2m30s"))
    }

    /// The checks on the way in keep such values out; these helpers must not trap even so.
    @Test func numbersAtTheEdgesOfTheirTypesDrawWithoutTrapping() {
        #expect(Number.format(Int.min) == "-9,223,372,036,854,775,808")
        #expect(Number.format(Int.max) == "9,223,372,036,854,775,807")
        #expect(Number.format(UInt64.max) == "9,223,372,036,854,775,807")
        #expect(
            Sparkline.window(samples: 60, interval: 1e300)
                == "\(1_000_000_000_000_000 / 3600)h\(1_000_000_000_000_000 / 60 % 60)m")
        #expect(Sparkline.window(samples: 60, interval: .nan) == "0s")
        #expect(Sparkline.window(samples: 60, interval: -1) == "0s")
        #expect(Share.percentages([Int.max, Int.max]) == [50, 50])
        let close = [
            HistorySample(
                time: 0, active: 0, waiting: 0, totals: .init(spawned: 0, completed: 0, cancelled: 0, failed: 0),
                waits: [:]),
            HistorySample(
                time: 1e-300, active: 0, waiting: 0, totals: .init(spawned: 9, completed: 9, cancelled: 0, failed: 0),
                waits: [:]),
        ]
        // Samples a hair apart: a rate beyond Int, clamped.
        #expect(OverviewView.finishedPerSecond(close) == [1_000_000_000_000_000])
    }
}

import ScopeProtocol

@testable import ScopeUI

/// Fixed states to render: a process with waiting tasks, a finished one, a leak.
enum Fixtures {
    static let hello = Hello(
        agentVersion: "0.1.0", pid: 4242, process: "orders", started: 1_000, interval: 1, maxLineBytes: 1 << 20)

    static let summary = Summary(
        pid: 4242, process: "orders", capturedAt: 1_300, uptime: 300,
        tasks: .init(active: 3, waiting: 12, finished: 40),
        totals: .init(spawned: 1_234, completed: 1_100, cancelled: 40, failed: 39),
        waits: ["db.query": 8, "channel.send": 3, "sleep": 1], interval: 1,
        warnings: ["orphaned-channel": 1, "stuck-wait": 1], resources: ["channel": 2])

    static let history: [HistorySample] = (0..<30).map { index in
        HistorySample(
            time: Double(1_270 + index), active: 3, waiting: index / 3,
            totals: .init(
                spawned: UInt64(1_000 + index * 8), completed: UInt64(900 + index * 7), cancelled: 40, failed: 39),
            waits: ["db.query": index / 4, "channel.send": 3])
    }

    static func task(
        _ id: UInt64, _ name: String, state: TaskState = .waiting, wait: String? = "db.query", inState: Double = 12
    ) -> TaskInfo {
        TaskInfo(
            id: id, name: name, parent: id == 1 ? nil : 1, state: state, outcome: state == .finished ? .completed : nil,
            wait: state == .waiting ? wait : nil,
            waitSite: state == .waiting ? SourceSite(file: "Orders/Repository.swift", line: 88) : nil,
            spawnSite: SourceSite(file: "Orders/Server.swift", line: 20, function: "handle()"), created: 1_200,
            inState: inState)
    }

    static let page = TaskPage(
        total: 3, offset: 0,
        tasks: [
            task(7, "load-order"), task(8, "charge-card", wait: "channel.send"), task(9, "old-job", state: .finished),
        ])

    static let warnings = [
        Warning(
            rule: .orphanedChannel, resource: 2, name: "receipts",
            site: SourceSite(file: "Orders/Receipts.swift", line: 14),
            reason: "channel.send", tasks: 3, taskIDs: [8, 10, 11],
            message: "channel \"receipts\" (Orders/Receipts.swift:14): 3 tasks blocked sending and no receiver left",
            hint: "keep a receiver"),
        Warning(
            rule: .stuckWait, site: SourceSite(file: "Orders/Repository.swift", line: 88), reason: "db.query", tasks: 8,
            taskIDs: [7], message: "8 tasks waiting on db.query at Orders/Repository.swift:88 for up to 2m00s",
            hint: "give it a timeout"),
    ]

    static let resources: [ResourceInfo] = {
        var orphan = ResourceInfo(
            id: 2, kind: .channel, name: "receipts", site: SourceSite(file: "Orders/Receipts.swift", line: 14),
            created: 1_100, state: "open")
        orphan.orphaned = true
        orphan.blockedSending = 3
        var pool = ResourceInfo(
            id: 3, kind: .semaphore, name: "db-pool", site: SourceSite(file: "Orders/DB.swift", line: 5),
            created: 1_000,
            state: "exhausted")
        pool.waiting = 8
        return [orphan, pool]
    }()

    static let groups = [
        SiteGroup(
            key: .init(
                reason: "db.query", waitSite: SourceSite(file: "Orders/Repository.swift", line: 88),
                spawnSite: SourceSite(file: "Orders/Server.swift", line: 20, function: "handle()")),
            count: 8, longest: 120, sampleIDs: [7, 12, 13]),
        SiteGroup(
            key: .init(reason: nil, waitSite: nil, spawnSite: SourceSite(file: "Orders/Main.swift", line: 3)),
            count: 3, longest: 300, sampleIDs: [1, 2, 3]),
    ]

    /// A state with every kind of data, at a size.
    static func state(width: Int = 80, height: Int = 24, glyphs: Glyphs = .unicode) -> UIState {
        var state = UIState(width: width, height: height, glyphs: glyphs)
        state.apply(.connected(hello))
        state.apply(.summary(summary))
        state.apply(.history(history))
        state.apply(.warnings(warnings))
        state.apply(.resources(resources))
        state.apply(.groups(groups))
        state.apply(.tasks(page, for: state.taskQuery))
        return state
    }
}

/// A process with long task names, long resource names and sites deep in long directories:
/// what 80x24 must still identify.
enum LongFixtures {
    static let directory = "Sources/AVeryLongModuleNameForTheTest/Subsystem/Handlers/Internal"

    static func site(_ file: String, _ line: Int, function: String? = nil) -> SourceSite {
        SourceSite(file: "\(directory)/\(file).swift", line: line, function: function)
    }

    static let tasks: [TaskInfo] = (0..<6).map { index in
        TaskInfo(
            id: UInt64(100 + index),
            name: "task-\(index)-with-a-name-much-longer-than-any-column-could-hold-at-eighty",
            parent: 1, state: index == 5 ? .active : .waiting,
            wait: index == 5 ? nil : "a.long.wait.reason.label.\(index)",
            waitSite: index == 5 ? nil : site("DemoLeaksWaitSite\(index)", 160 + index),
            spawnSite: site("DemoLeaksSpawnSite\(index)", 20 + index, function: "spawnSomethingWithALongName()"),
            created: 1_000, inState: 250)
    }

    static let groups: [SiteGroup] = tasks.map { task in
        SiteGroup(key: SiteGroup.Key(task), count: 600, longest: 202, sampleIDs: [task.id])
    }

    static let resources: [ResourceInfo] = (0..<4).map { index in
        var resource = ResourceInfo(
            id: UInt64(index + 1), kind: index == 0 ? .continuation : .channel,
            name: "resource-\(index)-with-a-very-long-name-that-will-not-fit",
            site: site("DemoLeaksResource\(index)", 40 + index), created: 1_000, state: "open")
        resource.orphaned = index == 0
        resource.owner = 6
        resource.ownerFinished = true
        return resource
    }

    static let warnings: [Warning] = [
        Warning(
            rule: .orphanedChannel, resource: 2, name: resources[1].name, site: resources[1].site,
            reason: "channel.send", tasks: 600, taskIDs: [100, 101],
            message:
                "channel \"\(resources[1].name)\" (\(resources[1].site)): 600 tasks blocked sending and no receiver left",
            hint: "keep a receiver until every sender is done"),
        Warning(
            rule: .runawaySpawn, site: tasks[5].spawnSite, tasks: 600, taskIDs: [],
            message: "spawn site \(tasks[5].spawnSite) has 600 live tasks, up 590 in the last 2m00s",
            hint: "bound the concurrency"),
    ]

    /// Every file name and line the fixture has: the only `X.swift:N` a frame may show.
    static let shortSites: Set<String> = {
        var sites = Set<String>()
        for task in tasks {
            sites.insert(short(task.spawnSite))
            if let wait = task.waitSite { sites.insert(short(wait)) }
        }
        for resource in resources { sites.insert(short(resource.site)) }
        return sites
    }()

    static func short(_ site: SourceSite) -> String {
        "\(site.file.split(separator: "/").last ?? ""):\(site.line)"
    }

    static func state(width: Int = 80, height: Int = 24) -> UIState {
        var state = UIState(width: width, height: height)
        state.apply(.connected(Fixtures.hello))
        state.apply(.summary(Fixtures.summary))
        state.apply(.history(Fixtures.history))
        state.apply(.warnings(warnings))
        state.apply(.resources(resources))
        state.apply(.groups(groups))
        state.apply(.tasks(TaskPage(total: tasks.count, offset: 0, tasks: tasks), for: state.taskQuery))
        return state
    }
}

/// Reading the help overlay back whatever its layout: one column, or two side by side.
enum HelpText {
    /// The help box's rows read column by column, squeezed: wrapped help reads as one line.
    static func read(_ frame: CellBuffer) -> String {
        guard let top = frame.row(containing: "keys"), let bottom = frame.row(containing: "? or Esc closes this") else {
            return ""
        }
        let left = Array(frame.line(top)).firstIndex(where: { $0 != " " }) ?? 0
        let right = Array(frame.line(top)).lastIndex(where: { $0 != " " }) ?? frame.width - 1
        let middle = (left + right) / 2
        let rows = ((top + 1)..<bottom).map { Array(frame.line($0)) }
        func text(_ range: (Int) -> Range<Int>) -> String {
            rows.map { row in
                let bounds = range(row.count)
                return String(row[bounds.clamped(to: 0..<row.count)]).replacing("│", with: " ")
                    .replacing("|", with: " ")
            }.joined(separator: " ")
        }
        let whole = text { _ in (left + 1)..<right }
        let columns = text { _ in (left + 1)..<middle } + " " + text { _ in middle..<right }
        return (whole + " || " + columns).split(separator: " ").joined(separator: " ")
    }
}

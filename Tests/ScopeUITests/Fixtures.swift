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

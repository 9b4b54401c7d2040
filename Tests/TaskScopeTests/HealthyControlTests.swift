import ScopeProtocol
import Testing

@testable import TaskScope

/// Healthy programs that waited long, or spawned many tasks at once, with the default rule
/// settings: no warning of any kind, over ten minutes of an injected clock. Beside each, the
/// leak that looks like it (tasks piling up at a site, a site's tasks growing throughout the
/// window), which must still be reported, and quickly.
@Suite(.timeLimit(.minutes(1))) struct HealthyControlTests {
    static let second: UInt64 = 1_000_000_000

    /// A registry on a manual clock, and rules with the default settings.
    struct World {
        let time = ManualTime()
        let registry: Registry
        let rules = LeakRules(settings: TaskScope.RuleSettings())

        init() { registry = Registry(clock: AgentClock(manual: time)) }

        func spawn(_ name: String, line: Int = 1) -> TaskRecord {
            registry.spawn(name: name, parentID: 0, file: "App/Healthy.swift", line: line, function: "f()")
        }

        func wait(_ record: TaskRecord, on reason: String, line: Int) -> WaitToken {
            registry.beginWait(record, reason: reason, file: "App/Waits.swift", line: line)
        }

        func warnings() -> [Warning] { rules.evaluate(registry: registry, samples: []) }

        /// Advances the clock a second at a time for `seconds`, evaluating the rules each second
        /// (as the agent's passes do), `step` before each evaluation; returns every warning seen.
        func run(seconds: Int, _ step: (Int) -> Void = { _ in }) -> [Warning] {
            var seen: [Warning] = []
            for tick in 0..<seconds {
                step(tick)
                time.advance(by: HealthyControlTests.second)
                seen += warnings()
            }
            return seen
        }
    }

    /// Go's NoLeakGlobal: a listener waiting on a global channel, for as long as the process runs.
    @Test func aListenerWaitingOnAGlobalChannelForTenMinutesIsNotALeak() {
        let world = World()
        let listener = world.spawn("listener")
        _ = world.wait(listener, on: WaitReason.channelReceive, line: 10)
        let seen = world.run(seconds: 600)
        #expect(seen.isEmpty, "\(seen.first?.message ?? "")")
    }

    /// Go's DaisyChain: 99 tasks, each waiting for the next, the last one slow.
    @Test func aChainOfTasksWaitingOnASlowTailIsNotALeak() {
        let world = World()
        let chain = (0..<99).map { world.spawn("link-\($0)", line: 20) }
        for link in chain { _ = world.wait(link, on: WaitReason.taskJoin, line: 21) }
        let seen = world.run(seconds: 600)
        #expect(seen.isEmpty, "\(seen.first?.message ?? "")")
    }

    /// Tasks that come to a site one a second and never leave: reported within 20 seconds.
    @Test func tasksPilingUpAtASiteAreReportedQuickly() throws {
        let world = World()
        var firstSeen: Int?
        var tick = 0
        while tick < 60, firstSeen == nil {
            let task = world.spawn("request-\(tick)", line: 30)
            _ = world.wait(task, on: "reply", line: 31)
            world.time.advance(by: Self.second)
            if world.warnings().contains(where: { $0.rule == .stuckWait }) { firstSeen = tick }
            tick += 1
        }
        let at = try #require(firstSeen, "stuck-wait never fired")
        #expect(at <= 20)
        let warning = try #require(world.warnings().first { $0.rule == .stuckWait })
        #expect(warning.reason == "reply")
        #expect(warning.site == SourceSite(file: "App/Waits.swift", line: 31))
        // The tasks that have waited long enough to count (a quarter of the window) are its tasks.
        #expect(warning.tasks >= 3 && warning.tasks <= at + 1)
        #expect(warning.message.contains("piled up"))
        // It stopped growing, and its tasks are still there: still reported, all of them.
        #expect(world.run(seconds: 120).last { $0.rule == .stuckWait }?.tasks == at + 1)
        // A tasks query for the warning lists exactly its tasks.
        let last = try #require(world.warnings().first { $0.rule == .stuckWait })
        let filter = RuleFilter(
            rule: .stuckWait, settings: TaskScope.RuleSettings(), warnings: [last], orphaned: [],
            clock: world.registry.clock)
        let page = world.registry.page(TaskQuery(tasksOf: last, limit: 1_000), rule: filter)
        #expect(page.total == last.tasks)
        #expect(Set(last.taskIDs).isSubset(of: page.tasks.map(\.id)))
    }

    /// The fixed twin: the same arrivals, each task getting its reply within a few seconds.
    @Test func tasksThatComeAndGoAtASiteAreNotALeak() {
        let world = World()
        var open: [(TaskRecord, WaitToken, Int)] = []
        let seen = world.run(seconds: 600) { tick in
            let task = world.spawn("request-\(tick)", line: 40)
            open.append((task, world.wait(task, on: "reply", line: 41), tick))
            for (record, token, began) in open where tick - began >= 3 {
                world.registry.endWait(record, token)
                world.registry.finish(record, outcome: .completed)
            }
            open.removeAll { tick - $0.2 >= 3 }
        }
        #expect(seen.isEmpty, "\(seen.first?.message ?? "")")
    }

    /// An idle pool whose workers get a job now and then: their long waits end, so no pile-up.
    @Test func anIdlePoolThatGetsAJobNowAndThenIsNotALeak() {
        let world = World()
        let workers = (0..<8).map { world.spawn("worker-\($0)", line: 50) }
        var tokens = workers.map { world.wait($0, on: "jobs", line: 51) }
        let seen = world.run(seconds: 600) { tick in
            // One worker a time, every 7 seconds, takes a job and comes back to wait.
            guard tick % 7 == 0 else { return }
            let index = (tick / 7) % workers.count
            world.registry.endWait(workers[index], tokens[index])
            tokens[index] = world.wait(workers[index], on: "jobs", line: 51)
        }
        #expect(seen.isEmpty, "\(seen.first?.message ?? "")")
    }

    /// Waits declared long-lived in code are never stuck, however many pile up.
    @Test func aWaitDeclaredLongIsNeverStuck() {
        let world = World()
        let reason = "events-\(UInt64.random(in: 0...UInt64.max))"
        TaskScope.declareLongWait(reason, fileID: "App/Waits.swift", line: 60)
        let seen = world.run(seconds: 600) { tick in
            guard tick < 60 else { return }
            _ = world.wait(world.spawn("subscriber-\(tick)", line: 61), on: reason, line: 60)
        }
        #expect(seen.isEmpty, "\(seen.first?.message ?? "")")
        // The same pile-up at a line not declared long is reported.
        let other = World()
        let piled = other.run(seconds: 60) { tick in
            _ = other.wait(other.spawn("subscriber-\(tick)", line: 61), on: reason, line: 62)
        }
        #expect(piled.contains { $0.rule == .stuckWait && $0.reason == reason })
    }

    // MARK: A one-off burst is not a runaway

    static let site = "App/Pool.swift:1"

    static func samples(_ counts: [Int]) -> [HistorySample] {
        counts.enumerated().map { index, count in
            HistorySample(
                time: Double(index), active: count, waiting: 0,
                totals: .init(spawned: 0, completed: 0, cancelled: 0, failed: 0), waits: [:], sites: [site: count])
        }
    }

    /// A registry holding `count` live tasks spawned at `site`.
    static func pool(_ count: Int) -> (Registry, [TaskRecord]) {
        let registry = Registry()
        let records = (0..<count).map { _ in
            registry.spawn(name: "worker", parentID: 0, file: "App/Pool.swift", line: 1, function: "f()")
        }
        return (registry, records)
    }

    @Test(arguments: [TaskScope.RuleSettings(), TaskScope.RuleSettings(runawayWindow: 5, runawayGrowth: 40)])
    func aFixedPoolStartedAtOnceIsNotARunaway(settings: TaskScope.RuleSettings) {
        let (registry, records) = Self.pool(100)
        // Nothing, then the hundred workers at once (straddling two samples), then steady.
        let counts = Array(repeating: 0, count: 20) + [60] + Array(repeating: 100, count: 40)
        let rules = LeakRules(settings: settings)
        for end in 2...counts.count {
            let warnings = rules.evaluate(registry: registry, samples: Self.samples(Array(counts.prefix(end))))
            #expect(!warnings.contains { $0.rule == .runawaySpawn }, "after \(end) samples")
        }
        withExtendedLifetime(records) {}
    }

    @Test func aSiteGrowingThroughoutItsWindowIsStillARunaway() {
        let (registry, records) = Self.pool(300)
        let rules = LeakRules(settings: TaskScope.RuleSettings())
        let counts = (0..<30).map { $0 * 10 }
        let warnings = rules.evaluate(registry: registry, samples: Self.samples(counts))
        #expect(warnings.contains { $0.rule == .runawaySpawn && $0.tasks == 300 })
        withExtendedLifetime(records) {}
    }
}

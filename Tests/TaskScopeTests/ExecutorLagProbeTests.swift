import Dispatch
import NIOCore
import NIOEmbedded
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// The cooperative pool's lag: how late the probe's job runs, one probe out at a time, a probe
/// still waiting counted from when it was sent, and each sample taking the worst since the last.
@Suite struct ExecutorLagProbeTests {
    /// A queue of jobs that run only when the test says: a pool whose threads are all blocked.
    final class HeldQueue: Sendable {
        private let jobs = Mutex<[@Sendable () -> Void]>([])
        var count: Int { jobs.withLock { $0.count } }
        func enqueue(_ job: @escaping @Sendable () -> Void) { jobs.withLock { $0.append(job) } }
        func runAll() {
            for job in jobs.withLock({ jobs in
                defer { jobs = [] }; return jobs
            }) { job() }
        }
    }

    static let millisecond: UInt64 = 1_000_000

    @Test func aStalledPoolGetsOneProbeWhoseWaitIsTheLag() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let probe = ExecutorLagProbe(clock: AgentClock(manual: time), enqueue: queue.enqueue)
        probe.fire()
        for _ in 0..<9 {  // a second of 100 ms ticks with the pool stalled
            time.advance(by: 100 * Self.millisecond)
            probe.fire()
        }
        #expect(probe.sent == 1, "one probe out at a time, not one per tick")
        #expect(queue.count == 1)
        #expect(probe.current(now: time.now) == 900 * Self.millisecond, "the waiting probe's age")
        #expect(probe.takeWorst(now: time.now) == 900 * Self.millisecond)

        time.advance(by: 100 * Self.millisecond)
        queue.runAll()  // the pool is free again: the probe ran a second late
        #expect(probe.current(now: time.now) == 1_000 * Self.millisecond)
        #expect(probe.takeWorst(now: time.now) == 1_000 * Self.millisecond)

        // A free pool: the next probes run at once, and each sample starts from zero.
        probe.fire()
        queue.runAll()
        #expect(probe.sent == 2)
        #expect(probe.takeWorst(now: time.now) == 0)
        #expect(probe.current(now: time.now) == 0)
    }

    @Test func aSampleKeepsTheWorstLagOfItsInterval() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let probe = ExecutorLagProbe(clock: AgentClock(manual: time), enqueue: queue.enqueue)
        for lag in [5, 300, 20] as [UInt64] {
            probe.fire()
            time.advance(by: lag * Self.millisecond)
            queue.runAll()
        }
        #expect(probe.current(now: time.now) == 20 * Self.millisecond, "now: the last probe's")
        #expect(probe.takeWorst(now: time.now) == 300 * Self.millisecond, "the sample: the worst of its interval")
        #expect(probe.takeWorst(now: time.now) == 0, "taken once")
    }

    @Test func theSamplerRecordsTheLagInEachSample() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let registry = Registry(clock: AgentClock(manual: time))
        let probe = ExecutorLagProbe(clock: registry.clock, enqueue: queue.enqueue)
        let sampler = Sampler(capacity: 10, interval: .seconds(1), lagProbe: probe)
        probe.fire()
        time.advance(by: 250 * Self.millisecond)
        sampler.sample(registry)
        queue.runAll()
        sampler.sample(registry)
        #expect(sampler.samples.map(\.lag) == [0.25, 0.25], "waiting, then ran: 250 ms late")
        sampler.sample(registry)
        #expect(sampler.samples.last?.lag == 0)
        let unmeasured = Sampler(capacity: 1, interval: .seconds(1))
        unmeasured.sample(registry)
        #expect(unmeasured.samples.count == 1 && unmeasured.samples[0].lag == nil, "no probe, no lag")
    }

    /// A healthy pool is probed once a tick (a second); a busy one every interval until it is
    /// healthy again: the probe's wake-ups are what it costs an idle process.
    @Test func probesComeEveryIntervalOnlyWhileThePoolIsBusy() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let probe = ExecutorLagProbe(clock: AgentClock(manual: time), enqueue: queue.enqueue)
        let loop = EmbeddedEventLoop()
        let interval = TimeAmount.milliseconds(100)

        probe.tick(on: loop, every: interval)
        queue.runAll()  // at once: a healthy pool
        loop.advanceTime(by: .seconds(1))
        #expect(probe.sent == 1, "healthy: nothing between ticks")

        probe.tick(on: loop, every: interval)
        time.advance(by: 5 * Self.millisecond)
        queue.runAll()  // 5 ms late: the pool is busy, which the next tick sees
        probe.tick(on: loop, every: interval)
        time.advance(by: 5 * Self.millisecond)
        queue.runAll()
        for _ in 0..<3 {
            loop.advanceTime(by: interval)
            time.advance(by: 5 * Self.millisecond)
            queue.runAll()
        }
        #expect(probe.sent == 6, "busy: one every interval")
        loop.advanceTime(by: interval)
        queue.runAll()  // on time again
        #expect(probe.sent == 7)
        loop.advanceTime(by: interval)
        loop.advanceTime(by: .seconds(1))
        #expect(probe.sent == 7, "healthy again: back to the tick")
    }

    /// A stall shorter than the tick, in a pool that was idle: seen while it lasts, once the probe
    /// sent into it has waited the threshold, not only if a tick happens to come by then.
    @Test func aStallShorterThanATickIsSeenWhenTheProbeHasWaitedTheThreshold() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let probe = ExecutorLagProbe(clock: AgentClock(manual: time), enqueue: queue.enqueue)
        let loop = EmbeddedEventLoop()
        let began = Mutex<[UInt64]>([])
        let ended = Mutex<[UInt64]>([])
        probe.watchStalls(
            threshold: .milliseconds(250), began: { at in began.withLock { $0.append(at) } },
            ended: { _, at in ended.withLock { $0.append(at) } })

        probe.tick(on: loop, every: .milliseconds(100))  // sent into a stall
        let sent = time.now
        time.advance(by: 249 * Self.millisecond)
        loop.advanceTime(by: .milliseconds(249))
        #expect(began.withLock { $0 }.isEmpty, "not yet the threshold")
        time.advance(by: 1 * Self.millisecond)
        loop.advanceTime(by: .milliseconds(1))
        #expect(began.withLock { $0 } == [sent], "seen at the threshold, with when the probe was sent")
        time.advance(by: 150 * Self.millisecond)
        queue.runAll()
        #expect(ended.withLock { $0 } == [time.now], "and its end when the probe ran")

        // A probe that waits less than the threshold is no stall.
        loop.advanceTime(by: .seconds(1))
        probe.tick(on: loop, every: .milliseconds(100))
        time.advance(by: 200 * Self.millisecond)
        queue.runAll()
        loop.advanceTime(by: .milliseconds(300))
        #expect(began.withLock { $0 }.count == 1)
    }

    /// A stall that lasts is reported again every two seconds, with the same start, and the stall
    /// log keeps the tasks of every capture of it: a first capture may come before the tasks that
    /// block the pool have taken its threads.
    @Test func aLastingStallIsReportedAgainAndItsCapturesAddUp() {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let queue = HeldQueue()
        let probe = ExecutorLagProbe(clock: AgentClock(manual: time), enqueue: queue.enqueue)
        let loop = EmbeddedEventLoop()
        let began = Mutex<[UInt64]>([])
        probe.watchStalls(
            threshold: .milliseconds(250), began: { at in began.withLock { $0.append(at) } }, ended: { _, _ in })
        probe.tick(on: loop, every: .milliseconds(100))
        let sent = time.now
        for _ in 0..<45 {  // 4.5 s stalled, the loop ticking every 100 ms
            time.advance(by: 100 * Self.millisecond)
            loop.advanceTime(by: .milliseconds(100))
            probe.tick(on: loop, every: .milliseconds(100))
        }
        #expect(began.withLock { $0 } == [sent, sent, sent], "at 250 ms, then every 2 s while it lasts")

        let log = StallLog()
        let site = SourceSite(file: "a.swift", line: 1)
        log.began(sent, tasks: [])
        log.began(
            sent,
            tasks: [StallLog.StalledTask(id: 7, name: "resize", spawnSite: site, activeSince: 5, blockedIn: ["wait"])])
        #expect(log.stall?.tasks.map(\.id) == [7], "the later capture's tasks join the stall's")
        log.began(sent &+ 1, tasks: [])
        #expect(log.stall?.tasks.isEmpty == true, "another stall starts afresh")
    }

    /// A capture runs off the event loop and may end after its stall has: the stall is noted at
    /// once, its end kept, the tasks joined when the capture ends; a capture of an older stall
    /// does not bring it back.
    @Test func aCaptureThatEndsAfterItsStallKeepsTheEndAndAddsItsTasks() async throws {
        let log = StallLog()
        let clock = AgentClock()
        let rule = BlockedExecutorRule(threshold: .milliseconds(250))
        let site = SourceSite(file: "a.swift", line: 1)
        let release = DispatchSemaphore(value: 0)
        let done = Atomic<Bool>(false)
        log.capture(1_000, submit: { DispatchQueue.global().async(execute: $0) }) {
            release.wait()
            defer { done.store(true, ordering: .releasing) }
            return StallLog.Capture(
                tasks: [StallLog.StalledTask(id: 7, name: "resize", spawnSite: site, activeSince: 5, seen: true)],
                untracked: ["blocked in read <- Log.flush", "blocked in read <- Log.flush"])
        }
        let reading = try #require(rule.warnings(log, clock: clock, now: 1_000 + 500_000_000).first)
        #expect(reading.message.contains("the tasks holding it are being read"), "\(reading.message)")
        log.ended(1_000, at: 1_000 + 600_000_000)
        release.signal()
        try await eventually("the capture ends") { done.load(ordering: .acquiring) }
        try await eventually("its tasks join the stall") { log.stall?.tasks.map(\.id) == [7] }
        #expect(log.stall?.ended == 1_000 + 600_000_000, "the end noted before the capture ended is kept")
        let named = try #require(rule.warnings(log, clock: clock, now: 1_000 + 700_000_000).first)
        #expect(named.message.hasPrefix("the cooperative pool stalled for 600ms"), "\(named.message)")
        #expect(named.taskIDs == [7])
        #expect(
            named.message.hasSuffix("; untracked code blocked in read <- Log.flush (2 threads)"), "\(named.message)")

        log.began(2_000, tasks: [])
        log.began(1_000, tasks: [StallLog.StalledTask(id: 8, name: "late", spawnSite: site, activeSince: 5)])
        #expect(log.stall?.began == 2_000 && log.stall?.tasks.isEmpty == true, "an older stall's capture is dropped")
    }
}

/// A capture that cannot read the threads guesses: the tracked tasks active since the stall
/// began or before, oldest first, at most ``StallLog/taskLimit``. Only the oldest few are kept
/// while the tasks are passed (a bounded heap); the full sort is the reference.
@Suite struct StallGuessTests {
    @Test(arguments: [1, StallLog.taskLimit, StallLog.taskLimit + 1, 40])
    func theGuessesAreTheOldestTasksActiveThroughTheStall(active: Int) {
        let millisecond: UInt64 = 1_000_000
        let time = ManualTime(start: 1_000 * millisecond)
        let registry = Registry(clock: AgentClock(manual: time))
        let began: UInt64 = 1_000 * millisecond
        var generator = SystemRandomNumberGenerator()
        var records: [TaskRecord] = []
        for index in 0..<active {
            // Active since a moment before the stall, in no order; some at the same moment.
            time.set(began - UInt64.random(in: 0...20, using: &generator) * millisecond)
            records.append(registry.spawn(name: "t\(index)", parentID: 0, file: "G.swift", line: 1, function: "g()"))
        }
        // Neither a task that began after the stall nor one waiting through it is a guess.
        time.set(began + millisecond)
        _ = registry.spawn(name: "later", parentID: 0, file: "G.swift", line: 2, function: "g()")
        time.set(began - 100 * millisecond)
        let waiting = registry.spawn(name: "waiting", parentID: 0, file: "G.swift", line: 3, function: "g()")
        _ = registry.beginWait(waiting, reason: "db", file: "G.swift", line: 4)
        time.set(began + 2 * millisecond)

        let capture = StallLog.capture(registry, began: began, signals: false, sampling: false)
        let expected = records.sorted { ($0.phase.since, $0.id) < ($1.phase.since, $1.id) }
            .prefix(StallLog.taskLimit)
        #expect(capture.tasks.map(\.id) == expected.map(\.id))
        #expect(capture.tasks.map(\.activeSince) == expected.map(\.phase.since))
        #expect(capture.tasks.allSatisfy { !$0.seen }, "guessed, not seen on a thread")
        #expect(capture.tasks.count == min(active, StallLog.taskLimit))
    }
}

/// A capture that reads the threads names the tasks it finds on them and says where untracked
/// code held the others. The tasks the agent knows are gathered a moment before the threads are
/// read: a task that enters its record in between (a child starting on a loaded machine) is
/// still its record's, named once, not counted again as an untracked thread.
@Suite struct StallSampleTests {
    static let millisecond: UInt64 = 1_000_000

    /// `owned` tracked tasks active through a stall, on threads 1..., the first keyed before the
    /// capture and the rest only while the threads are read; one untracked task on the next thread.
    func capture(owned: Int) -> (StallLog.Capture, records: [TaskRecord], keysSeen: Set<UInt>) {
        let time = ManualTime(start: 1_000 * Self.millisecond)
        let registry = Registry(clock: AgentClock(manual: time))
        let began: UInt64 = 1_000 * Self.millisecond
        var records: [TaskRecord] = []
        for index in 0..<owned {
            time.set(began - UInt64(owned - index) * Self.millisecond)
            records.append(registry.spawn(name: "b\(index)", parentID: 0, file: "B.swift", line: 1, function: "b()"))
        }
        time.set(began + Self.millisecond)
        func key(_ index: Int) -> Int { 0x10_0000 + index * 0x1000 }
        registry.enter(records[0], taskKey: key(0))
        let keysSeen = Mutex<Set<UInt>>([])
        let capture = StallLog.capture(registry, began: began, signals: false) { keys in
            keysSeen.withLock { $0 = keys }
            for index in 1..<owned { registry.enter(records[index], taskKey: key(index)) }
            var sample = CooperativeThreads.Sample()
            for index in 0..<owned {
                sample.running.append(
                    .init(thread: Int32(index + 1), task: UInt(key(index)), addresses: [], isKnown: index == 0))
            }
            sample.running.append(.init(thread: Int32(owned + 1), task: 0xdead_0000, addresses: [], isKnown: false))
            return sample
        }
        return (capture, records, keysSeen.withLock { $0 })
    }

    @Test func aTaskKeyedWhileTheThreadsAreReadIsNamedOnceAndNotUntracked() {
        let (capture, records, keys) = capture(owned: 2)
        #expect(keys == [0x10_0000], "the second task entered its record after the keys were gathered")
        #expect(capture.tasks.map(\.id) == records.prefix(StallLog.taskLimit).map(\.id))
        #expect(capture.tasks.allSatisfy { $0.seen })
        #expect(capture.unnamedUntracked.map(\.thread) == [3], "only the thread no record owns")
    }

    /// More owned threads than a stall names: those left out are still not untracked code.
    @Test func ownedThreadsBeyondTheLimitAreNotUntrackedEither() {
        let (capture, records, _) = capture(owned: StallLog.taskLimit + 2)
        #expect(capture.tasks.map(\.id) == records.prefix(StallLog.taskLimit).map(\.id), "the oldest first")
        #expect(capture.unnamed.count == StallLog.taskLimit)
        #expect(capture.unnamedUntracked.map(\.thread) == [Int32(StallLog.taskLimit + 3)])
    }
}

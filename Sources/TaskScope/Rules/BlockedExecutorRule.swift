import Foundation
import ScopeProtocol
import Synchronization

/// The last stall of the cooperative pool the executor lag probe saw, with the tracked tasks
/// that were running without a wait through it, for `blocked-executor`.
///
/// A probe that has waited the rule's threshold starts one capture on the agent's query threads
/// (no cooperative thread is needed, none being free): the tracked tasks active since before the
/// probe was sent, longest first, as many as the pool has threads. Tasks queued for a thread look
/// the same as tasks holding one (taskscope sees waits, not threads), so the oldest are named:
/// a task that has run without a wait since before the stall began is the likeliest to block it.
final class StallLog: Sendable {
    struct StalledTask: Sendable, Equatable {
        var id: UInt64
        var name: String
        var spawnSite: SourceSite
        /// Monotonic nanoseconds since when it had been running without a wait.
        var activeSince: UInt64
        /// The native frames its thread was blocked in, innermost first, when sampled.
        var blockedIn: [String] = []
        /// Whether its thread was seen running it on a CPU (a loop without a wait).
        var onCPU = false
        /// Whether its thread was seen running it (not guessed from how long it has run).
        var seen = false
    }

    struct Stall: Sendable {
        /// When the probe that waited was sent (monotonic nanoseconds).
        var began: UInt64
        /// When it ran, once it has.
        var ended: UInt64?
        var tasks: [StalledTask] = []
        /// Whether a capture has looked at it yet.
        var captured = false
        /// Where untracked tasks held the pool's threads ("blocked in …"), with how many threads
        /// each, at most ``taskLimit`` places.
        var untracked: [String: Int] = [:]
    }

    /// What one look at the pool found.
    struct Capture: Sendable {
        var tasks: [StalledTask] = []
        /// Where each thread running an untracked task was ("blocked in …"), one entry a thread.
        var untracked: [String] = []
        /// The threads whose frames are still to be named: of the tasks (by id), and of untracked
        /// code.
        var unnamed: [(id: UInt64, thread: CooperativeThreads.Running)] = []
        var unnamedUntracked: [CooperativeThreads.Running] = []
    }

    private let last = Mutex<Stall?>(nil)
    /// When a capture last ran (monotonic nanoseconds).
    private let lastCapture = Mutex<UInt64>(0)
    /// Captures at most this often: a process loaded past its cores sees a stall at almost every
    /// probe, and each capture is a pass over the tasks on a query thread.
    static let captureInterval: UInt64 = 1_000_000_000

    /// Whether a stall seen at `now` may be captured (one a second at most); a stall that may not
    /// is left out, and the last one captured stands for it.
    func mayCapture(now: UInt64) -> Bool {
        lastCapture.withLock { last in
            guard last == 0 || now &- min(last, now) >= Self.captureInterval else { return false }
            last = max(now, 1)
            return true
        }
    }

    /// Where frames are named, one capture at a time: a serial queue of its own (overcommitting:
    /// it gets a thread when the cooperative pool has none), since naming builds symbol tables the
    /// first time (seconds in a large debug binary), which must hold up neither the agent's query
    /// threads nor the host's pool.
    private static let naming = DispatchQueue(label: "taskscope.stall-frames")
    /// Whether this log's capture is queued or running.
    private let capturing = Atomic<Bool>(false)

    /// Notes the stall that began at `began` at once (so that its end, which may come before the
    /// capture does, is not lost), then runs `capture` through `submit` (the query threads, as
    /// any pass over the tasks) and adds the tasks it finds, their frames once named on a queue
    /// of their own; unless this log's previous capture is not done (then the stall is captured
    /// again later while it lasts).
    func capture(
        _ began: UInt64, submit: (@escaping @Sendable () -> Void) -> Void,
        _ capture: @escaping @Sendable () -> Capture
    ) {
        noteCapture(began, Capture(), captured: false)
        guard capturing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        submit { [self] in
            let found = capture()
            noteCapture(began, found, captured: true)
            guard !found.unnamed.isEmpty || !found.unnamedUntracked.isEmpty else {
                capturing.store(false, ordering: .releasing)
                return
            }
            Self.naming.async { [self] in
                let frames = Dictionary(
                    found.unnamed.map { ($0.id, CooperativeThreads.frames(of: $0.thread)) },
                    uniquingKeysWith: { first, _ in first })
                let untracked = found.unnamedUntracked.map { thread in
                    StallLog.place(CooperativeThreads.frames(of: thread), onCPU: thread.onCPU)
                }
                last.withLock { last in
                    guard var stall = last, stall.began == began else { return }
                    for index in stall.tasks.indices {
                        if let named = frames[stall.tasks[index].id] { stall.tasks[index].blockedIn = named }
                    }
                    Self.merge(untracked, into: &stall)
                    last = stall
                }
                capturing.store(false, ordering: .releasing)
            }
        }
    }

    /// How many tasks a stall names at most: the pool's threads.
    static let taskLimit = max(1, min(16, ProcessInfo.processInfo.activeProcessorCount))

    var stall: Stall? { last.withLock { $0 } }

    /// Notes a stall that began at `began`, with the tasks running through it (a capture); a
    /// stall captured again while it lasts keeps the tasks of every capture, at most ``taskLimit``.
    func began(_ began: UInt64, tasks: [StalledTask]) {
        noteCapture(began, Capture(tasks: tasks), captured: true)
    }

    private func noteCapture(_ began: UInt64, _ capture: Capture, captured: Bool) {
        last.withLock { last in
            if let later = last, later.began > began { return }  // a capture of a stall now over
            var stall = last.flatMap { $0.began == began ? $0 : nil } ?? Stall(began: began, ended: nil)
            stall.captured = stall.captured || captured
            let known = Set(stall.tasks.map(\.id))
            stall.tasks += capture.tasks.filter { !known.contains($0.id) }
            Self.merge(capture.untracked, into: &stall)
            stall.tasks = Array(StallLog.seenFirst(stall.tasks).prefix(StallLog.taskLimit))
            last = stall
        }
    }

    /// Notes that the probe sent at `began` ran at `ended`.
    func ended(_ began: UInt64, at ended: UInt64) {
        last.withLock { last in
            if last?.began == began { last?.ended = ended }
        }
    }

    /// Adds where untracked code held threads (one entry a thread) to a stall's places.
    private static func merge(_ untracked: [String], into stall: inout Stall) {
        for (place, threads) in Dictionary(untracked.map { ($0, 1) }, uniquingKeysWith: +)
        where stall.untracked[place] != nil || stall.untracked.count < StallLog.taskLimit {
            stall.untracked[place] = max(stall.untracked[place] ?? 0, threads)
        }
    }

    /// Tasks seen on the threads before those only guessed, each kind oldest first.
    static func seenFirst(_ tasks: [StalledTask]) -> [StalledTask] {
        tasks.sorted { ($0.seen ? 0 : 1, $0.activeSince) < ($1.seen ? 0 : 1, $1.activeSince) }
    }

    /// The tasks that hold the cooperative threads through the stall that began at `began`: read
    /// from the threads themselves where the agent can (``CooperativeThreads``; `signals`: a
    /// thread on a CPU may be sent a SIGPROF for its frames), and for threads it could not read,
    /// the tracked tasks active since `began` or before, oldest first; at most ``taskLimit``.
    /// `sampling`: whether the threads may be read at all (tests of the guesses turn it off).
    ///
    /// Cost: a pass over the live tasks (two more when the threads are read, at most every
    /// ``CooperativeThreads/minimumInterval`` a process); only the oldest ``taskLimit`` guesses are
    /// kept while it passes.
    ///
    /// `readThreads` stands in for ``CooperativeThreads/sample(taskKeys:signals:untrackedLimit:)``
    /// in tests: given the keys of the tasks the agent knows, what the threads were running.
    static func capture(
        _ registry: Registry, began: UInt64, signals: Bool, sampling: Bool = true,
        readThreads: ((Set<UInt>) -> CooperativeThreads.Sample?)? = nil
    ) -> Capture {
        var seen: [StalledTask] = []
        var unnamed: [(id: UInt64, thread: CooperativeThreads.Running)] = []
        var untracked: [CooperativeThreads.Running] = []
        var guesses = taskLimit
        if sampling, readThreads != nil || CooperativeThreads.maySample {
            var keys = Set<UInt>()
            registry.forEachRecord(live: true, finished: false) { record in
                let key = record.taskKey.load(ordering: .relaxed)
                if key != 0 { keys.insert(UInt(bitPattern: key)) }
                return true
            }
            let read =
                readThreads ?? { CooperativeThreads.sample(taskKeys: $0, signals: signals, untrackedLimit: taskLimit) }
            if let sample = read(keys) {
                // Matched now, named later: naming builds symbol tables the first time, and by
                // the time it ends the tasks may have finished.
                let matched = named(registry, running: sample.running)
                let owned = Set(matched.map(\.1.thread))
                seen = matched.prefix(taskLimit).map(\.0)
                unnamed = matched.prefix(taskLimit).map { ($0.0.id, $0.1) }
                // Untracked: no record owns the thread's task, now that they are matched. A task that
                // entered its record after the keys were gathered (a child starting on a loaded
                // machine) is its record's, not a second, untracked thread.
                untracked = sample.running.filter { !$0.isKnown && !owned.contains($0.thread) }
                guesses = sample.unknown
            }
        }
        guard guesses > 0 else { return Capture(tasks: seen, unnamed: unnamed, unnamedUntracked: untracked) }
        let named = Set(seen.map(\.id))
        var found: [(since: UInt64, record: TaskRecord)] = []
        registry.forEachRecord(live: true, finished: false) { record in
            let phase = record.phase
            if !record.adopted, phase.isActive, phase.since <= began, !named.contains(record.id) {
                found.append((phase.since, record))
            }
            return true
        }
        // The oldest few only: a loaded process may have thousands active.
        let guessed = found.smallest(guesses) { ($0.since, $0.record.id) < ($1.since, $1.record.id) }.map {
            stalled($0.record, since: $0.since)
        }
        return Capture(
            tasks: Array((seen + guessed).prefix(taskLimit)), unnamed: unnamed, unnamedUntracked: untracked)
    }

    /// Where a thread was: "blocked in f <- g", "busy on a CPU in f <- g", "busy on a CPU", or
    /// nothing when its frames are not known.
    static func place(_ frames: [String], onCPU: Bool) -> String {
        let path = frames.joined(separator: " <- ")
        if onCPU { return "busy on a CPU" + (path.isEmpty ? "" : " in " + path) }
        return path.isEmpty ? "" : "blocked in " + path
    }

    /// The tracked or adopted tasks among those the threads were running, each with its thread,
    /// the longest running first; all of them (the caller keeps ``taskLimit``).
    static func named(
        _ registry: Registry, running: [CooperativeThreads.Running]
    ) -> [(StalledTask, CooperativeThreads.Running)] {
        let byTask = Dictionary(running.map { (Int(bitPattern: $0.task), $0) }, uniquingKeysWith: { first, _ in first })
        var found: [(StalledTask, CooperativeThreads.Running)] = []
        registry.forEachRecord(live: true, finished: false) { record in
            let key = record.taskKey.load(ordering: .relaxed)
            if let thread = byTask[key], record.isOwned(byTaskKey: key) {
                var task = stalled(record, since: record.phase.since)
                task.onCPU = thread.onCPU
                task.seen = true
                found.append((task, thread))
            }
            return true
        }
        return found.sorted { $0.0.activeSince < $1.0.activeSince }
    }

    private static func stalled(_ record: TaskRecord, since: UInt64) -> StalledTask {
        StalledTask(
            id: record.id, name: record.name,
            spawnSite: SourceSite(
                file: record.spawnFile, line: record.spawnLine,
                function: record.spawnFunction.isEmpty ? nil : record.spawnFunction),
            activeSince: since)
    }
}

/// `blocked-executor`, a suspect: the cooperative pool stalled (a job waited the threshold or
/// more for a thread, 250 ms by default), reported while the stall lasts and for a minute after,
/// naming the tracked tasks that ran without a wait through it.
struct BlockedExecutorRule {
    let threshold: Duration
    /// How long after its end a stall is still reported.
    static let memory: UInt64 = 60_000_000_000

    func warnings(_ log: StallLog, clock: AgentClock, now: UInt64) -> [Warning] {
        guard let stall = log.stall else { return [] }
        let end = stall.ended ?? now
        let lasted = end &- min(stall.began, end)
        guard lasted >= threshold.nanoseconds, stall.ended.map({ now &- min($0, now) < Self.memory }) ?? true
        else { return [] }
        let how = DurationText.format(Double(lasted) / 1e9)
        let when = stall.ended == nil ? "has stalled for \(how) and still is" : "stalled for \(how)"
        let named = stall.tasks.map { task in
            let running = DurationText.format(Double(end &- min(task.activeSince, end)) / 1e9)
            let place = StallLog.place(task.blockedIn, onCPU: task.onCPU)
            let frames = place.isEmpty ? "" : ", " + place
            return "task \(task.id) \"\(task.name)\" (spawned at \(task.spawnSite)) ran \(running) without a wait"
                + frames
        }
        let untracked = stall.untracked.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { place, threads in
            (place.isEmpty ? "running" : place) + (threads > 1 ? " (\(threads) threads)" : "")
        }
        let who: String
        if !stall.captured {
            who = "the tasks holding it are being read"
        } else if named.isEmpty && untracked.isEmpty {
            who = "no tracked task was running through it (untracked code blocked it)"
        } else if named.isEmpty {
            who = "untracked code held its threads: " + untracked.joined(separator: "; ")
        } else {
            who = (named + untracked.map { "untracked code " + $0 }).joined(separator: "; ")
        }
        return [
            Warning(
                rule: .blockedExecutor, site: stall.tasks.first?.spawnSite, tasks: stall.tasks.count,
                taskIDs: stall.tasks.map(\.id), since: clock.wall(stall.began),
                message: "the cooperative pool \(when) (a job waited that long for a thread): \(who)",
                hint: "do not block in async code (DispatchSemaphore.wait, sleep, synchronous I/O, long loops "
                    + "without a yield): await instead, or move the blocking work to a thread of its own")
        ]
    }
}

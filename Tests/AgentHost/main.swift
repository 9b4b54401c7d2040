// taskscope-agent-host: a process that embeds the agent and keeps a workload
// running beside it, for the tests that attack the agent from outside (fuzzing,
// load) and check that the host neither crashes nor computes anything wrong.
//
//     taskscope-agent-host serve SOCKET   serve and work until SIGTERM, then exit normally
//     taskscope-agent-host exit SOCKET    serve, then return from main at once
//
// It prints `ready PID` once serving. On SIGUSR1 it stops its workload and prints
// `stopped spawned=N wrong=W`; on SIGTERM it exits (status 0 when nothing was wrong)
// without calling TaskScope.stop(), so the socket's removal at exit is what is tested.
// When the process that started it dies (a test run that failed or was killed before
// stopping it), it exits by itself within a second or so (status 4).
//
// For the load tests, the environment sets:
//     TASKSCOPE_HOST_NOFILE=N        the soft descriptor limit, before the agent starts
//     TASKSCOPE_HOST_MAX_CLIENTS=N   the agent's maxClients
//     TASKSCOPE_HOST_PROGRESS=1      print `progress spawned=N` every 100 ms, the host's own count
//     TASKSCOPE_HOST_HOG_LEAVE=N     how many descriptors SIGUSR2 leaves free (default 0)
//     TASKSCOPE_HOST_BLOCK_MS=N      once, a second after `ready`, block every cooperative thread
//                                    for N ms (a synchronous sleep in async code) and print `blocked`
//     TASKSCOPE_HOST_BLOCK_HOW=H     how: `sleep` (usleep, the default), `semaphore`
//                                    (DispatchSemaphore.wait) or `spin` (a loop on a CPU)
//     TASKSCOPE_HOST_BLOCK_UNTRACKED=1  the blocking tasks are plain (untracked) group children
//     TASKSCOPE_HOST_SIGNALS=1       the agent may signal blocked threads (samplesBlockedThreads)
//     TASKSCOPE_HOST_PARK=N          park N tracked tasks three async calls deep (Shop.checkout ->
//                                    reserveStock -> queryDatabase, waiting on "db.query"), for good
// and SIGUSR2 makes the host take every descriptor it can (`hogging N`), then, on the next
// SIGUSR2, give them back (`released`).

import Foundation
import Synchronization
import TaskScope

/// A line on stdout, written at once (a pipe would buffer `print`).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
guard arguments.count == 3, ["serve", "exit"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: taskscope-agent-host serve|exit SOCKET\n".utf8))
    exit(2)
}
Host.exitWithParent()
let environment = ProcessInfo.processInfo.environment
if let nofile = environment["TASKSCOPE_HOST_NOFILE"].flatMap(Int.init) {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = rlim_t(nofile)
    guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
        FileHandle.standardError.write(Data("taskscope-agent-host: setrlimit: \(errno)\n".utf8))
        exit(1)
    }
}
do {
    var configuration = TaskScope.Configuration(
        socketPath: arguments[2], sampleInterval: .milliseconds(100), retention: .init(count: 256),
        maxLineBytes: 64 << 10)
    if let clients = environment["TASKSCOPE_HOST_MAX_CLIENTS"].flatMap(Int.init) { configuration.maxClients = clients }
    configuration.samplesBlockedThreads = environment["TASKSCOPE_HOST_SIGNALS"] == "1"
    try TaskScope.start(configuration)
} catch {
    FileHandle.standardError.write(Data("taskscope-agent-host: \(error)\n".utf8))
    exit(1)
}
// The signals are handled before the host says it is ready, so that a test may send one at once.
Host.handleSignals()
say("ready \(getpid())")
if arguments[1] == "exit" { exit(0) }

/// The workload and its tallies, shared with the signal handlers (outside the main actor).
enum Host {
    static let spawned = Atomic<Int>(0)
    static let wrong = Atomic<Int>(0)
    static let running = Atomic<Bool>(true)
    static let terminated = Mutex<CheckedContinuation<Void, Never>?>(nil)
    /// Whether SIGTERM came (written under `terminated`'s lock, so that main's wait sees it).
    nonisolated(unsafe) static var terminating = false
    /// Signals received and not yet acted on, counted by their handlers.
    static let pauses = Atomic<Int>(0)
    static let hogs = Atomic<Int>(0)
    static let terms = Atomic<Int>(0)
    /// Descriptors taken by SIGUSR2, to leave the agent none.
    static let hogged = Mutex<[Int32]?>(nil)

    /// One round: tracked tasks that compute sums, pass them through a tracked channel,
    /// wait on labelled waits, and are joined by a tracked group; the total is checked.
    static func round(_ number: Int) async {
        let width = 40
        let (sender, receiver) = TrackedChannel<Int>.make(capacity: 4, name: "results-\(number % 8)")
        let total = await withTrackedTaskGroup(of: Int.self) { group in
            for index in 0..<width {
                spawned.add(1, ordering: .relaxed)
                group.addTask("worker-\(index % 5)") {
                    let value = await TaskScope.waiting(on: "compute") { (0...index).reduce(0, +) }
                    try? await sender.send(value)
                    return 0
                }
            }
            spawned.add(1, ordering: .relaxed)
            group.addTask("collector") {
                var sum = 0
                for _ in 0..<width { sum += (try? await receiver.receive()) ?? 0 }
                return sum
            }
            var sum = 0
            while let value = await group.next() { sum += value }
            return sum
        }
        let expected = (0..<width).map { $0 * ($0 + 1) / 2 }.reduce(0, +)
        if total != expected { wrong.add(1, ordering: .relaxed) }
    }

    /// Ends the process when its parent is gone: an orphan is handed to another parent, so
    /// `getppid()` changes, checked once a second. (Not `PR_SET_PDEATHSIG`: that fires when the
    /// thread that started the host ends, and the test runner's pool threads come and go.)
    static func exitWithParent() {
        let parent = getppid()
        Thread.detachNewThread {
            while getppid() == parent { sleep(1) }
            // No one reads its output or stops it now: end at once, without exit's handlers.
            _exit(4)
        }
    }

    /// SIGUSR1 stops the workload; SIGUSR2 toggles hogging; SIGTERM stops the workload and ends
    /// the process. The handlers are installed at once and only count (an atomic add, safe in a
    /// handler); a thread of their own acts on the counts. (A DispatchSource registers later, on
    /// libdispatch's manager thread: a signal a test sends as soon as it reads `ready` could come
    /// before, while the signal was still ignored, and be lost.)
    static func handleSignals() {
        // Initialized here, not first in a handler.
        _ = (pauses.load(ordering: .relaxed), hogs.load(ordering: .relaxed), terms.load(ordering: .relaxed))
        signal(SIGUSR1) { _ in Host.pauses.add(1, ordering: .relaxed) }
        signal(SIGUSR2) { _ in Host.hogs.add(1, ordering: .relaxed) }
        signal(SIGTERM) { _ in Host.terms.add(1, ordering: .relaxed) }
        Thread.detachNewThread {
            while true {
                if pauses.exchange(0, ordering: .relaxed) > 0 { running.store(false, ordering: .relaxed) }
                for _ in 0..<hogs.exchange(0, ordering: .relaxed) { toggleHogging() }
                if terms.exchange(0, ordering: .relaxed) > 0 {
                    running.store(false, ordering: .relaxed)
                    terminated.withLock { waiting in
                        terminating = true
                        waiting?.resume()
                        waiting = nil
                    }
                }
                usleep(5_000)
            }
        }
    }

    /// Takes every descriptor there is (so that the agent's accepts fail with EMFILE), or gives
    /// them back.
    static func toggleHogging() {
        hogged.withLock { hogged in
            if let taken = hogged {
                for fd in taken { close(fd) }
                hogged = nil
                say("released")
            } else {
                var taken: [Int32] = []
                while true {
                    let fd = open("/dev/null", O_RDONLY)
                    guard fd >= 0 else { break }
                    taken.append(fd)
                }
                let leave = ProcessInfo.processInfo.environment["TASKSCOPE_HOST_HOG_LEAVE"].flatMap(Int.init) ?? 0
                for fd in taken.suffix(leave) { close(fd) }
                taken.removeLast(min(leave, taken.count))
                hogged = taken
                say("hogging \(taken.count)")
            }
        }
    }

    /// Prints the host's own count of spawned tasks every 100 ms, while it works.
    static func reportProgress() {
        Thread.detachNewThread {
            while running.load(ordering: .relaxed) {
                say("progress spawned=\(spawned.load(ordering: .relaxed))")
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Rounds until stopped; the workload's task is untracked, so the registry counts the workers alone.
    static func work() async {
        var number = 0
        while running.load(ordering: .relaxed) {
            await round(number)
            number += 1
        }
        say("stopped spawned=\(spawned.load(ordering: .relaxed)) wrong=\(wrong.load(ordering: .relaxed))")
    }
}

if environment["TASKSCOPE_HOST_PROGRESS"] == "1" { Host.reportProgress() }
if let block = environment["TASKSCOPE_HOST_BLOCK_MS"].flatMap(UInt32.init) {
    // The bug `blocked-executor` is about: synchronous blocking in async code, on every thread of
    // the cooperative pool at once, so that every task waits.
    Task.detached {
        try? await Task.sleep(for: .seconds(1))
        if environment["TASKSCOPE_HOST_BLOCK_UNTRACKED"] == "1" {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
                    group.addTask { Blocker.block(milliseconds: block) }
                }
            }
        } else {
            await withTrackedTaskGroup(of: Void.self) { group in
                for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
                    group.addTask("blocker") { Blocker.block(milliseconds: block) }
                }
            }
        }
        say("blocked")
    }
}
/// The ways async code blocks a cooperative thread, as `TASKSCOPE_HOST_BLOCK_HOW` picks.
enum Blocker {
    @inline(never) static func block(milliseconds: UInt32) {
        switch environment["TASKSCOPE_HOST_BLOCK_HOW"] ?? "sleep" {
        case "semaphore": waitOnSemaphore(milliseconds)
        case "spin": spin(milliseconds)
        default: usleep(milliseconds * 1000)
        }
    }

    @inline(never) static func waitOnSemaphore(_ milliseconds: UInt32) {
        _ = DispatchSemaphore(value: 0).wait(timeout: .now() + .milliseconds(Int(milliseconds)))
    }

    @inline(never) static func spin(_ milliseconds: UInt32) {
        let end = ContinuousClock.now + .milliseconds(milliseconds)
        var turns = 0
        while ContinuousClock.now < end { turns &+= 1 }
        if turns == -1 { say("never") }
    }
}

/// Where the parked tasks wait, three async calls deep, in functions a stack must name in order.
enum Shop {
    static let (never, neverEnds) = AsyncStream<Int>.makeStream()

    @inline(never) static func checkout(_ order: Int) async -> Int {
        let stock = await reserveStock(order)
        return stock + 1
    }

    @inline(never) static func reserveStock(_ order: Int) async -> Int {
        let rows = await queryDatabase(order)
        return rows + 1
    }

    @inline(never) static func queryDatabase(_ order: Int) async -> Int {
        await TaskScope.waiting(on: "db.query") {
            for await value in never { return value + order }
            return order
        }
    }
}
if let park = environment["TASKSCOPE_HOST_PARK"].flatMap(Int.init) {
    for order in 0..<park { Task.tracked("checkout") { _ = await Shop.checkout(order) } }
}
let workload = Task.detached { await Host.work() }
await withCheckedContinuation { continuation in
    Host.terminated.withLock { waiting in
        if Host.terminating { continuation.resume() } else { waiting = continuation }
    }
}
await workload.value
exit(Host.wrong.load(ordering: .relaxed) == 0 ? 0 : 3)

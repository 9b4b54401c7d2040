// taskscope-bench: what taskscope costs, measured side by side with what it
// replaces, as ratios from one run. Build and run with -c release:
//
//     swift build -c release && .build/release/taskscope-bench [--quick] [--hot-path | --queries | --stall] [--scale N] [--markdown FILE]
//     .build/release/taskscope-bench --stacks COUNT
//
// Not a test: the machine is shared and noisy; read the ratios, not the times.

import Foundation
import ScopeClient
import ScopeProtocol
import ScopeUI
import TaskScope

let arguments = CommandLine.arguments
let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()

// Child modes, run in a fresh process so that resident memory means something.
if arguments.count >= 4, arguments[1] == "--memory-child" {
    let count = Int(arguments[3]) ?? 0
    let parking = Parking()
    let before = Measure.residentBytes()
    if arguments[2] == "tracked" {
        Population.spawnTracked(count, parking: parking)
    } else {
        Population.spawnPlain(count, parking: parking)
    }
    await Population.waitUntilParked(count, parking: parking)
    print(Measure.residentBytes() - before)
    exit(0)
}
// Spawn and join, run by the parent under `taskset -c 0`: `--pinned-child COUNT ROUNDS` prints
// the ratio and both times. With both threads of the pool on one core, no thread waits to be
// woken, and the ratio repeats to a few hundredths where the two-core one moves by tenths.
if arguments.count >= 4, arguments[1] == "--pinned-child" {
    let count = Int(arguments[2]) ?? 20_000
    let spawn = await Measure.compare(rounds: Int(arguments[3]) ?? 11) {
        await Workloads.spawnPlain(count)
    } candidate: {
        await Workloads.spawnTracked(count)
    }
    print(spawn.ratio, spawn.candidate / Double(count), spawn.baseline / Double(count))
    exit(0)
}
// One workload alone, for a profiler: `valgrind --tool=callgrind taskscope-bench --profile wait`.
if arguments.count >= 3, arguments[1] == "--profile" {
    guard arguments.count <= 4, let count = arguments.count == 4 ? Int(arguments[3]) : 100_000, count > 0 else {
        FileHandle.standardError.write(Data("taskscope-bench: --profile CASE [COUNT], COUNT a positive number\n".utf8))
        exit(2)
    }
    switch arguments[2] {
    case "wait": _ = await Task.tracked("profile") { await Workloads.awaitLabelled(count) }.value
    case "plain-wait": _ = await Task.tracked("profile") { await Workloads.awaitPlain(count) }.value
    case "spawn": await Workloads.spawnTracked(count)
    case "plain-spawn": await Workloads.spawnPlain(count)
    case "group": await Workloads.groupTracked(count)
    case "plain-group": await Workloads.groupPlain(count)
    case "warnings":
        // The rules over `count` parked tasks, stuck past a threshold of zero, ten times.
        setenv("TASKSCOPE_STUCK_WAIT", "0", 1)
        let parking = Parking()
        Population.spawnTracked(count, parking: parking)
        await Population.waitUntilParked(count, parking: parking)
        for _ in 0..<10 { _ = TaskScope.warnings() }
    case "group-in-tracked": await Task.tracked("profile") { await Workloads.groupTracked(count) }.value
    case "pingpong": try await Workloads.pingPongTracked(count, capacity: 0)
    case "buffered-pingpong": try await Workloads.pingPongTracked(count, capacity: 1)
    case "plain-pingpong": await Workloads.pingPongStreams(count)
    case "snapshot-head": try await StackBench.profileHead(count)
    case "snapshot-head-deep": try await StackBench.profileHead(count, depth: 24)
    default:
        FileHandle.standardError.write(Data("taskscope-bench: unknown profile case \(arguments[2])\n".utf8))
        exit(2)
    }
    exit(0)
}
// The idle agent: `--idle-child SECONDS [TASKS [no-lag-probe]]` prints the share of a core it used.
if arguments.count >= 3, arguments[1] == "--idle-child" {
    let seconds = Double(arguments[2]) ?? 10
    let tasks = arguments.count >= 4 ? Int(arguments[3]) ?? 10_000 : 10_000
    let parking = Parking()
    let directory = "/tmp/taskscope-bench-idle-\(getpid())"
    var configuration = TaskScope.Configuration(socketPath: "\(directory)/agent.sock")
    // `--idle-child SECONDS TASKS no-lag-probe`: the same without the executor lag probe, to price it.
    if arguments.count >= 5, arguments[4] == "no-lag-probe" { configuration.executorLagInterval = nil }
    _ = try TaskScope.start(configuration)
    Population.spawnTracked(tasks, parking: parking)
    await Population.waitUntilParked(tasks, parking: parking)
    try await Task.sleep(for: .seconds(2))
    let start = Measure.cpuSeconds()
    try await Task.sleep(for: .seconds(seconds))
    print((Measure.cpuSeconds() - start) / seconds)
    TaskScope.stop()
    try? FileManager.default.removeItem(atPath: directory)
    exit(0)
}

// Async stacks: `--stacks COUNT` parks COUNT tracked tasks three calls deep and times the agent's
// `stacks` request for all of them, its memory, a full snapshot export with stacks against one
// without (by the CLI, when built beside this program), and the host's work meanwhile. A process
// of its own per population, so that resident memory is that population's.
if arguments.count >= 2, arguments[1] == "--stacks" {
    guard arguments.count == 3, let count = Int(arguments[2]), count > 0 else {
        FileHandle.standardError.write(Data("taskscope-bench: --stacks COUNT, COUNT a positive number\n".utf8))
        exit(2)
    }
    let report = try await StackBench.run(
        count, cli: executable.deletingLastPathComponent().appendingPathComponent("taskscope").path)
    print("")
    print(report.markdown())
    exit(0)
}

let usage = """
    usage: taskscope-bench [--quick] [--hot-path | --queries | --stall] [--scale N] [--markdown FILE]
           taskscope-bench --profile CASE [COUNT]
           taskscope-bench --stacks COUNT
    """
/// The options of a measuring run, or exit with the usage on anything else.
func parseOptions(_ arguments: ArraySlice<String>) -> (flags: Set<String>, scale: Int?, markdown: String?) {
    var flags: Set<String> = []
    var scale: Int?
    var markdown: String?
    var rest = arguments
    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("taskscope-bench: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
    while let argument = rest.popFirst() {
        switch argument {
        case "--quick", "--hot-path", "--queries", "--stall": flags.insert(argument)
        case "--scale":
            guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else {
                fail("--scale needs a positive number of tasks")
            }
            scale = value
        case "--markdown":
            guard let value = rest.popFirst(), !value.hasPrefix("--") else { fail("--markdown needs a file") }
            markdown = value
        case "-h", "--help":
            print(usage)
            exit(0)
        default: fail("unknown argument \(argument)")
        }
    }
    if flags.intersection(["--hot-path", "--queries", "--stall"]).count > 1 {
        fail("--hot-path, --queries and --stall exclude each other")
    }
    return (flags, scale, markdown)
}
let options = parseOptions(arguments.dropFirst())
let quick = options.flags.contains("--quick")
/// Only the hot-path cases (spawns and waits): a quick check while working on them.
let hotPathOnly = options.flags.contains("--hot-path")
/// Only the case of the host's work while queries run (with many live tasks).
let stallOnly = options.flags.contains("--stall")
/// Only the cases with many live tasks (queries, export, UI frames, the host's work meanwhile).
let queriesOnly = options.flags.contains("--queries") || stallOnly
let scales: [Int] = options.scale.map { [$0] } ?? (quick ? [100_000] : [100_000, 1_000_000])
let rounds = quick ? 5 : 11

/// What a run of this program in a fresh process with `arguments` prints; on CPU 0 alone
/// with `pinned` (through `taskset`, from util-linux).
func childOutput(_ arguments: [String], pinned: Bool = false) throws -> String {
    let process = Process()
    if pinned {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", "0", executable.path] + arguments
    } else {
        process.executableURL = executable
        process.arguments = arguments
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
var report = Report()

// 1. Spawn and join.
if !queriesOnly {
    let count = quick ? 5_000 : 20_000
    let spawn = await Measure.compare(rounds: rounds) {
        await Workloads.spawnPlain(count)
    } candidate: {
        await Workloads.spawnTracked(count)
    }
    report.add(
        "spawn+join, Task.tracked vs Task {}",
        String(
            format: "%.2fx (%@ vs %@ each)", spawn.ratio,
            format(spawn.candidate / Double(count)), format(spawn.baseline / Double(count))),
        target: "≤ 1.25x", met: spawn.ratio <= 1.25)
    let group = await Measure.compare(rounds: rounds) {
        await Workloads.groupPlain(count)
    } candidate: {
        await Workloads.groupTracked(count)
    }
    report.add(
        "group children, tracked vs untracked",
        String(
            format: "%.2fx (%@ vs %@ each)", group.ratio,
            format(group.candidate / Double(count)), format(group.baseline / Double(count))),
        target: "≤ 1.25x", met: group.ratio <= 1.25)
    // The same on one core, in a child process: no target, for comparing builds.
    let pinned =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset")
        ? try childOutput(["--pinned-child", "\(count)", "\(rounds)"], pinned: true).split(separator: " ")
            .compactMap { Double($0) } : []
    if pinned.count == 3 {
        report.add(
            "spawn+join on one core (pinned), Task.tracked vs Task {}",
            String(format: "%.2fx (%@ vs %@ each)", pinned[0], format(pinned[1]), format(pinned[2])),
            target: "(no target: repeats, for comparing builds)", met: nil)
    } else {
        print("(no spawn+join on one core: it needs /usr/bin/taskset)")
    }
}

// 2. A labelled wait.
if !queriesOnly {
    let count = quick ? 200_000 : 1_000_000
    // The task runs off the main actor (`Task.tracked`, like `Task {}`, inherits the caller's actor).
    let wait = await Task.tracked("bench-waits") { await Workloads.compareWaits(count, rounds: rounds) }.value
    let added = (wait.candidate - wait.baseline) / Double(count)
    report.add("labelled wait, added per wait", format(max(0, added)), target: "≤ 100 ns", met: added <= 100e-9)
}
if hotPathOnly {
    print(report.markdown())
    exit(0)
}

// 3. Channels.
if !queriesOnly {
    let count = quick ? 20_000 : 100_000
    let pingPongChannel = try await Measure.compare(rounds: rounds) {
        await Workloads.pingPongAsyncChannel(count)
    } candidate: {
        try await Workloads.pingPongTracked(count, capacity: 0)
    }
    report.add(
        "ping-pong throughput (unbuffered), TrackedChannel / AsyncChannel",
        String(format: "%.2fx", 1 / pingPongChannel.ratio),
        target: "≥ 1.0x", met: 1 / pingPongChannel.ratio >= 1.0)
    let pingPongStream = try await Measure.compare(rounds: rounds) {
        await Workloads.pingPongStreams(count)
    } candidate: {
        try await Workloads.pingPongTracked(count, capacity: 1)
    }
    // An AsyncStream buffers, so it is measured against a buffered channel: a rendezvous is a
    // different promise (the sender waits for the receiver) and costs a suspension more per value.
    report.add(
        "ping-pong throughput (buffered), TrackedChannel / AsyncStream pair",
        String(format: "%.2fx", 1 / pingPongStream.ratio),
        target: "≥ 0.8x", met: 1 / pingPongStream.ratio >= 0.8)
    let fanInChannel = try await Measure.compare(rounds: rounds) {
        await Workloads.fanInAsyncChannel(count)
    } candidate: {
        try await Workloads.fanInTracked(count, capacity: 0)
    }
    report.add(
        "fan-in throughput (4 to 1, unbuffered), TrackedChannel / AsyncChannel",
        String(format: "%.2fx", 1 / fanInChannel.ratio), target: "≥ 1.0x", met: 1 / fanInChannel.ratio >= 1.0)
    let fanInStream = try await Measure.compare(rounds: rounds) {
        await Workloads.fanInStream(count)
    } candidate: {
        try await Workloads.fanInTracked(count, capacity: 1_024)
    }
    report.add(
        "fan-in throughput (4 to 1, buffered 1024), TrackedChannel / AsyncStream",
        String(format: "%.2fx", 1 / fanInStream.ratio),
        target: "≥ 0.8x", met: 1 / fanInStream.ratio >= 0.8)
}

// 4 and 5. Many live tasks: queries, export, memory, and UI frames.
let cli = executable.deletingLastPathComponent().appendingPathComponent("taskscope").path
let directory = "/tmp/taskscope-bench-\(getpid())"
let socket = "\(directory)/agent.sock"
_ = try TaskScope.start(
    TaskScope.Configuration(socketPath: socket, rules: TaskScope.RuleSettings(stuckWait: .seconds(3600))))
var alive = 0
let parking = Parking()
for scale in scales {
    let label = scale >= 1_000_000 ? "\(scale / 1_000_000)M" : "\(scale / 1_000)k"
    let spawnStart = ContinuousClock.now
    Population.spawnTracked(scale - alive, parking: parking)
    await Population.waitUntilParked(scale, parking: parking)
    alive = scale
    print("(\(label) tasks parked in \(ContinuousClock.now - spawnStart))")
    let connection = try await ScopeConnection.connect(to: socket, requestTimeout: .seconds(120))

    // The host's own work while each query runs: tracked spawn+join latency, and a 1 ms
    // ticker's worst gap, against the same with no query running, in rounds that alternate
    // idle and each query (the machine is shared: medians of the rounds, ratios within one).
    let stallQueries: [(String, () async throws -> Void)] = [
        (
            "page, text filter + name sort",
            {
                _ = try await connection.tasks(TaskQuery(text: "worker", sort: .name, offset: 0, limit: 100))
            }
        ),
        ("groups", { _ = try await connection.groups() }),
        ("rule pass (warnings, every task asked)", { await Stall.onThread { _ = TaskScope.warnings() } }),
        (
            "snapshot export",
            {
                // By the CLI in its own process, as a client is: decoding in this one would take
                // the host's threads, which is the client's cost, not the agent's.
                if FileManager.default.isExecutableFile(atPath: cli) {
                    await Stall.run(cli, ["snapshot", socket, "-o", "\(directory)/stall-snapshot.json"])
                } else {
                    let file = try AtomicFile(path: "\(directory)/stall-snapshot.json")
                    try await SnapshotExporter.export(from: connection, format: .json, to: file)
                    file.abandon()
                }
            }
        ),
    ]
    var stallReport = Report()
    try await Stall.report(stallQueries, label, rounds: quick ? 1 : 3, into: &stallReport)
    report.rows += stallReport.rows
    if stallOnly {
        connection.close()
        continue
    }
    var summaries: [Double] = []
    for _ in 0..<10 { summaries.append(try await Measure.time { _ = try await connection.summary() }) }
    report.add(
        "\(label) tasks: summary", format(Measure.median(summaries)), target: "< 50 ms",
        met: Measure.median(summaries) < 0.05)
    var pages: [Double] = []
    for _ in 0..<5 {
        pages.append(
            try await Measure.time {
                _ = try await connection.tasks(TaskQuery(wait: "db.query", sort: .wait, offset: 0, limit: 100))
            })
    }
    report.add(
        "\(label) tasks: filtered sorted page of 100", format(Measure.median(pages)), target: "< 250 ms",
        met: Measure.median(pages) < 0.25)
    var warnings: [Double] = []
    for _ in 0..<3 { warnings.append(try await Measure.time { _ = try await connection.warnings() }) }
    report.add(
        "\(label) tasks: warnings", format(Measure.median(warnings)), target: "< 250 ms",
        met: Measure.median(warnings) < 0.25)

    // A full export by the CLI, in its own process: wall time and its peak memory.
    if FileManager.default.isExecutableFile(atPath: cli) {
        let output = "\(directory)/snapshot.json"
        let export = try await CLIExport.run(cli, socket: socket, output: output)
        report.add(
            "\(label) tasks: full export by the CLI",
            String(format: "%@, CLI peak %.0f MiB", format(export.seconds), export.peak / 1_048_576),
            target: "< 5 s, < 1 GiB", met: export.seconds < 5 && export.peak < 1_073_741_824 && export.succeeded)
        try? FileManager.default.removeItem(atPath: output)
    } else {
        print("(no \(cli): build the CLI with -c release too to measure exports)")
    }

    // A UI frame with these tasks behind it: the state holds one screen of them.
    var state = UIState(width: 200, height: 60)
    state.apply(.summary(try await connection.summary()))
    state.apply(.history(try await connection.history().samples))
    state.apply(.warnings(try await connection.warnings()))
    state.apply(.groups(try await connection.groups().groups))
    state.apply(.tasks(try await connection.tasks(state.taskQuery), for: state.taskQuery))
    for screen in [Screen.overview, .tasks] {
        state.screen = screen
        let frames = 200
        let seconds = await Measure.time { for _ in 0..<frames { _ = Renderer.render(state) } }
        report.add(
            "\(label) tasks: UI frame, \(screen.title)", format(seconds / Double(frames)), target: "< 5 ms",
            met: seconds / Double(frames) < 0.005)
    }
    connection.close()
}
parking.releaseAll()
TaskScope.stop()
try? FileManager.default.removeItem(atPath: directory)

// Memory per tracked task: resident memory with tracking minus without, in fresh processes.
if !queriesOnly {
    let count = quick ? 100_000 : 1_000_000
    let tracked = Double(try childOutput(["--memory-child", "tracked", "\(count)"])) ?? .nan
    let plain = Double(try childOutput(["--memory-child", "plain", "\(count)"])) ?? .nan
    let perTask = (tracked - plain) / Double(count)
    report.add(
        "agent memory per tracked task",
        String(format: "%.0f bytes (%.0f vs %.0f per task)", perTask, tracked / Double(count), plain / Double(count)),
        target: "≤ 256 bytes", met: perTask <= 256)
}

// 6. The idle agent: CPU it uses with 10,000 tasks parked and nobody attached.
if !queriesOnly {
    // A whole minute: the rules run about every second, and a shorter window weighs one
    // slow pass over the tasks (the machine is shared) too much.
    let share = Double(try childOutput(["--idle-child", quick ? "5" : "60"])) ?? .nan
    report.add(
        "idle agent CPU (10k tasks, nobody attached)",
        String(format: "%.3f%% of a core (%.1f ms per minute)", share * 100, share * 60_000),
        target: "< 0.1%", met: share < 0.001)
}

if let markdown = options.markdown {
    try report.markdown().write(toFile: markdown, atomically: true, encoding: .utf8)
}
print("")
print(report.markdown())

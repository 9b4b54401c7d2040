import Foundation
import ScopeClient
import ScopeProtocol
import Synchronization
import TaskScope

/// Tasks parked three async calls deep in a labelled wait, as AgentHost's `Shop` parks them:
/// what a `stacks` request reads.
enum Shop {
    @inline(never) static func checkout(_ order: Int, parking: Parking) async -> Int {
        let stock = await reserveStock(order, parking: parking)
        return stock + 1
    }

    @inline(never) static func reserveStock(_ order: Int, parking: Parking) async -> Int {
        let rows = await queryDatabase(order, parking: parking)
        return rows + 1
    }

    @inline(never) static func queryDatabase(_ order: Int, parking: Parking) async -> Int {
        await TaskScope.waiting(on: "db.query") {
            await parking.park()
            return order
        }
    }

    /// Recurses `depth` async calls, then waits in `queryDatabase`: a stack as deep as a
    /// service's request handlers.
    @inline(never) static func nested(_ depth: Int, _ order: Int, parking: Parking) async -> Int {
        if depth == 0 { return await queryDatabase(order, parking: parking) }
        return await nested(depth - 1, order, parking: parking) + 1
    }

    /// `count` tracked tasks, each parked in `checkout` → `reserveStock` → `queryDatabase`.
    static func park(_ count: Int, parking: Parking) {
        for order in 0..<count { Task.tracked("checkout") { _ = await checkout(order, parking: parking) } }
    }
}

/// The async stacks of `count` parked tasks, read by the agent over its socket:
/// `--stacks COUNT`, in a process of its own so that resident memory is this population's.
enum StackBench {
    /// Measures `count` parked tasks' stacks; snapshot exports too when `cli` is the CLI's
    /// executable (the export runs in a process of its own, as a client's does).
    static func run(_ count: Int, cli: String, stallRounds: Int = 3) async throws -> Report {
        var report = Report()
        let label = count >= 1_000_000 ? "\(count / 1_000_000)M" : count >= 1_000 ? "\(count / 1_000)k" : "\(count)"
        let parking = Parking()
        let empty = Measure.residentBytes()
        let spawnStart = ContinuousClock.now
        Shop.park(count, parking: parking)
        await Population.waitUntilParked(count, parking: parking)
        let parked = Measure.residentBytes()
        print("(\(label) tasks parked three calls deep in \(ContinuousClock.now - spawnStart))")
        report.add(
            "\(label) tasks: resident memory per parked tracked task",
            String(format: "%.0f bytes", Double(parked - empty) / Double(count)))

        let agent = try await ServedAgent.start(name: "stacks", waiting: count)
        defer { agent.stop() }
        let (socket, connection) = (agent.socket, agent.connection)

        // The first request builds the symbol and line tables of the modules its stacks are in.
        let before = Measure.residentBytes()
        var list = StackList()
        let first = try await Measure.time { list = try await connection.stacks(StackQuery()) }
        let after = Measure.residentBytes()
        try check(list, count: count)
        var warm: [Double] = []
        for _ in 0..<5 { warm.append(try await Measure.time { list = try await connection.stacks(StackQuery()) }) }
        try check(list, count: count)
        let afterWarm = Measure.residentBytes()
        let target = "< 10 µs a task (100k in < 1 s)"
        report.add(
            "\(label) tasks: stacks request, first (tables built)",
            "\(format(first)), \(format(first / Double(count))) a task", target: target,
            met: first / Double(count) < 10e-6)
        let median = Measure.median(warm)
        report.add(
            "\(label) tasks: stacks request, warm (median of 5)",
            "\(format(median)), \(format(median / Double(count))) a task", target: target,
            met: median / Double(count) < 10e-6)
        report.add(
            "\(label) tasks: agent resident memory before / after the first stacks request / after 5 more",
            String(
                format: "%.1f / %.1f / %.1f MiB (+%.1f MiB, then %+.1f MiB)", mebibytes(before), mebibytes(after),
                mebibytes(afterWarm), mebibytes(after - before), mebibytes(afterWarm - after)))
        if let stack = list.groups.first.flatMap({ list.stack($0.stack) }) {
            print("(the stack of \(list.groups[0].count) tasks:)")
            for frame in stack.frames {
                let place = frame.file.map { " at \($0):\(frame.line ?? 0)" } ?? ""
                print("    \(frame.function ?? "?") (\(frame.module))\(place)")
            }
        }

        // The host's own work while stacks are read over and over (and snapshots exported, with
        // stacks and without), against the same idle, in rounds that alternate (as `--stall`
        // measures the other queries).
        var queries: [(String, () async throws -> Void)] = [
            ("stacks requests", { _ = try await connection.stacks(StackQuery()) })
        ]
        if FileManager.default.isExecutableFile(atPath: cli) {
            let output = "\(directory)/snapshot.json"
            try await compareExports(
                label, count: count, cli: cli, socket: socket, output: output, rounds: stallRounds, into: &report)
            queries.append(
                ("snapshot exports without stacks", { await Stall.run(cli, ["snapshot", socket, "-o", output]) }))
            let withStacks = ["snapshot", socket, "-o", output, "--stacks"]
            queries.append(("snapshot exports with stacks", { await Stall.run(cli, withStacks) }))
        } else {
            print("(no \(cli): build the CLI with -c release too to measure snapshot exports)")
        }
        try await Stall.report(queries, label, rounds: stallRounds, into: &report)
        parking.releaseAll()
        return report
    }

    /// A full snapshot export by the CLI with stacks (`snapshot --stacks`) against the same export
    /// without, alternating which goes first round by round: the median time of each and of the
    /// rounds' ratios, the CLI's peak memory, and the agent's: this process's peak resident memory
    /// above what it was before the export. The export with stacks is checked: the three calls in
    /// its head, a stack for every parked task.
    static func compareExports(
        _ label: String, count: Int, cli: String, socket: String, output: String, rounds: Int,
        into report: inout Report
    ) async throws {
        defer { try? FileManager.default.removeItem(atPath: output) }
        var plain: [ExportRun] = []
        var stacked: [ExportRun] = []
        for round in 0..<rounds {
            if round % 2 == 0 {
                plain.append(try await export(cli, socket: socket, output: output, stacks: false, count: count))
                stacked.append(try await export(cli, socket: socket, output: output, stacks: true, count: count))
            } else {
                stacked.append(try await export(cli, socket: socket, output: output, stacks: true, count: count))
                plain.append(try await export(cli, socket: socket, output: output, stacks: false, count: count))
            }
        }
        let ratio = Measure.median(zip(stacked, plain).map { $0.export.seconds / $1.export.seconds })
        let rows = [
            ("without stacks", plain, ""),
            ("with stacks (snapshot --stacks)", stacked, String(format: ", %.2fx without", ratio)),
        ]
        for (name, runs, compared) in rows {
            let seconds = Measure.median(runs.map(\.export.seconds))
            let peak = runs.map(\.export.peak).max() ?? .nan
            let agent = Measure.median(runs.map(\.agentPeak))
            let each = runs.map { format($0.export.seconds) }.joined(separator: ", ")
            report.add(
                "\(label) tasks: full export by the CLI, \(name), median of \(runs.count)",
                String(
                    format: "%@ (%@)%@, CLI peak %.0f MiB, agent +%.1f MiB at its peak", format(seconds), each,
                    compared, peak / 1_048_576, agent / 1_048_576),
                target: "< 5 s, < 1 GiB", met: seconds < 5 && peak < 1_073_741_824)
        }
    }

    /// One export by the CLI, and how far this process's (the agent's) resident memory peaked
    /// above where it was before it.
    struct ExportRun {
        var export: CLIExport.Result
        var agentPeak: Double
    }

    /// Exports a snapshot by the CLI into `output`, checked when taken with `stacks`.
    static func export(
        _ cli: String, socket: String, output: String, stacks: Bool, count: Int
    ) async throws -> ExportRun {
        let peakKnown = Measure.resetPeakResident()
        let before = Measure.residentBytes()
        let result = try await CLIExport.run(cli, socket: socket, output: output, stacks: stacks)
        let peak = peakKnown ? Double(Measure.peakResidentBytes() - before) : .nan
        guard result.succeeded else { throw StackBenchError.export("taskscope snapshot failed") }
        if stacks { try checkExport(output, count: count) }
        return ExportRun(export: result, agentPeak: peak)
    }

    /// The snapshot at `path`, taken with stacks, names the three calls in its head and gives a
    /// stack to every parked task (and to any other waiting one: the agent's self-test probe).
    static func checkExport(_ path: String, count: Int) throws {
        let calls = ["Shop.queryDatabase", "Shop.reserveStock", "Shop.checkout"]
        let (stacked, head) = try CLIExport.count(#","stack":"#, in: path, inHead: [#""stacks":["#] + calls)
        guard head, stacked >= count else {
            throw StackBenchError.export(
                "\(stacked) tasks with a stack of \(count) parked, the head \(head ? "names" : "lacks") the calls")
        }
    }

    /// Every parked task is in one group of one stack naming the three calls, none unreadable.
    static func check(_ list: StackList, count: Int) throws {
        let parked = list.groups.filter { $0.reason == "db.query" }.map(\.count).reduce(0, +)
        let names = list.groups.first.flatMap { list.stack($0.stack) }?.frames.compactMap(\.function) ?? []
        let calls = ["Shop.queryDatabase", "Shop.reserveStock", "Shop.checkout"]
        guard parked == count, list.unreadable == 0,
            calls.allSatisfy({ call in names.contains { $0.contains(call) } })
        else {
            throw StackBenchError.wrongStacks(
                "\(parked) of \(count) tasks read, \(list.unreadable) unreadable, "
                    + "\(list.total) groups, first stack: \(names.joined(separator: " <- "))")
        }
    }

    private static func mebibytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
}

enum StackBenchError: Error, CustomStringConvertible {
    case unavailable(String)
    case wrongStacks(String)
    case export(String)

    var description: String {
        switch self {
        case .unavailable(let reason): "stacks are unavailable: \(reason)"
        case .wrongStacks(let detail): "the stacks read are not the parked tasks': \(detail)"
        case .export(let detail): "the snapshot with stacks is wrong: \(detail)"
        }
    }
}

/// The agent of this process serving its parked tasks, connected to, with its stack self-test
/// over.
struct ServedAgent {
    let directory: String
    let socket: String
    let connection: ScopeConnection

    /// Starts the agent on a socket of its own (`name` tells benchmarks apart) and waits until it
    /// counts `count` waiting tasks and can read their stacks.
    static func start(name: String, waiting count: Int) async throws -> ServedAgent {
        let directory = "/tmp/taskscope-bench-\(name)-\(getpid())"
        let socket = "\(directory)/agent.sock"
        _ = try TaskScope.start(
            TaskScope.Configuration(socketPath: socket, rules: TaskScope.RuleSettings(stuckWait: .seconds(3600))))
        let agent = ServedAgent(
            directory: directory, socket: socket,
            connection: try await ScopeConnection.connect(to: socket, requestTimeout: .seconds(600)))
        do {
            while try await agent.connection.summary().tasks.waiting < count {
                try await Task.sleep(for: .milliseconds(20))
            }
            // The self-test (a probe parked, the main module's symbols read for it) is over
            // before the memory is read: a request for a task that does not exist answers once
            // it is, and names no stack.
            let deadline = ContinuousClock.now + .seconds(30)
            while let reason = try await agent.connection.stacks(StackQuery(ids: [UInt64.max])).unavailable {
                guard ContinuousClock.now < deadline else { throw StackBenchError.unavailable(reason) }
                try await Task.sleep(for: .milliseconds(100))
            }
        } catch {
            agent.stop()
            throw error
        }
        return agent
    }

    func stop() {
        connection.close()
        TaskScope.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension StackBench {
    /// For a profiler: `--profile snapshot-head COUNT` parks COUNT tasks three calls deep and
    /// streams five snapshots with stacks and five without over the socket, printing how long
    /// each took to its head (with stacks: the stacks read) and to its end.
    /// `--profile snapshot-head-deep COUNT` parks them 24 calls deep instead.
    static func profileHead(_ count: Int, depth: Int = 0) async throws {
        let parking = Parking()
        if depth == 0 {
            Shop.park(count, parking: parking)
        } else {
            for order in 0..<count {
                Task.tracked("nested") { _ = await Shop.nested(depth, order, parking: parking) }
            }
        }
        await Population.waitUntilParked(count, parking: parking)
        let agent = try await ServedAgent.start(name: "head", waiting: count)
        defer { agent.stop() }
        let connection = agent.connection
        for round in 0..<5 {
            for stacks in [true, false] {
                let start = ContinuousClock.now
                let head = Mutex<Duration?>(nil)
                _ = try await connection.snapshot(SnapshotOptions(stacks: stacks)) { _, _ in
                    head.withLock { if $0 == nil { $0 = ContinuousClock.now - start } }
                }
                let total = ContinuousClock.now - start
                print("round \(round) stacks \(stacks): head \(head.withLock { $0 }!), whole \(total)")
            }
        }
    }
}

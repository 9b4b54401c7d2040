import Foundation
import ScopeClient
import ScopeProtocol
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

    /// `count` tracked tasks, each parked in `checkout` → `reserveStock` → `queryDatabase`.
    static func park(_ count: Int, parking: Parking) {
        for order in 0..<count { Task.tracked("checkout") { _ = await checkout(order, parking: parking) } }
    }
}

/// The async stacks of `count` parked tasks, read by the agent over its socket:
/// `--stacks COUNT`, in a process of its own so that resident memory is this population's.
enum StackBench {
    static func run(_ count: Int, stallRounds: Int = 3) async throws -> Report {
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

        let directory = "/tmp/taskscope-bench-stacks-\(getpid())"
        let socket = "\(directory)/agent.sock"
        _ = try TaskScope.start(
            TaskScope.Configuration(socketPath: socket, rules: TaskScope.RuleSettings(stuckWait: .seconds(3600))))
        defer {
            TaskScope.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let connection = try await ScopeConnection.connect(to: socket, requestTimeout: .seconds(600))
        defer { connection.close() }
        while try await connection.summary().tasks.waiting < count { try await Task.sleep(for: .milliseconds(20)) }
        // The self-test (a probe parked, the main module's symbols read for it) is over before the
        // memory is read: a request for a task that does not exist answers once it is, and
        // names no stack.
        let deadline = ContinuousClock.now + .seconds(30)
        while let reason = try await connection.stacks(StackQuery(ids: [UInt64.max])).unavailable {
            guard ContinuousClock.now < deadline else { throw StackBenchError.unavailable(reason) }
            try await Task.sleep(for: .milliseconds(100))
        }

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

        // The host's own work while stacks are read over and over, against the same idle, in
        // rounds that alternate (as `--stall` measures the other queries).
        var idleRuns: [Stall.Result] = []
        var stackRuns: [Stall.Result] = []
        for _ in 0..<stallRounds {
            idleRuns.append(try await Stall.measure(seconds: 1, nil))
            stackRuns.append(try await Stall.measure(seconds: 1) { _ = try await connection.stacks(StackQuery()) })
        }
        let idle = Stall.median(idleRuns)
        let during = Stall.median(stackRuns)
        let ratio = Measure.median(zip(stackRuns, idleRuns).map { $0.p99 / $1.p99 })
        report.add(
            "\(label) tasks: idle host, spawn+join p50 / p99 / max, 1 ms ticker worst gap",
            "\(format(idle.p50)) / \(format(idle.p99)) / \(format(idle.worst)), \(format(idle.worstGap))")
        report.add(
            "\(label) tasks: host during stacks requests (\(during.queries)x)",
            String(
                format: "%@ / %@ (%.1fx idle p99) / %@, %@", format(during.p50), format(during.p99), ratio,
                format(during.worst), format(during.worstGap)),
            target: "p99 ≤ 2x idle, gap < 10 ms", met: ratio <= 2 && during.worstGap < 0.010)
        parking.releaseAll()
        return report
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

    var description: String {
        switch self {
        case .unavailable(let reason): "stacks are unavailable: \(reason)"
        case .wrongStacks(let detail): "the stacks read are not the parked tasks': \(detail)"
        }
    }
}

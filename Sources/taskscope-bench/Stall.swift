import Foundation
import Synchronization
import TaskScope

/// What the host's own work sees while a query runs: the latency of a tracked spawn+join
/// every 200 µs or so, and the worst gap between the wake-ups of a 1 ms ticker (a task sleeping
/// 1 ms at a time), both in this process beside the agent.
enum Stall {
    /// The host's spawn+join latency and the ticker's worst gap while each of `queries` runs over
    /// and over, in `rounds` rounds of a second that alternate idle and each query: the rounds'
    /// medians, the ratio to idle taken within a round.
    static func report(
        _ queries: [(String, () async throws -> Void)], _ label: String, rounds: Int, into report: inout Report
    ) async throws {
        var idleRuns: [Result] = []
        var queryRuns = [[Result]](repeating: [], count: queries.count)
        for _ in 0..<rounds {
            idleRuns.append(try await measure(seconds: 1, nil))
            for (index, (_, query)) in queries.enumerated() {
                queryRuns[index].append(try await measure(seconds: 1, query))
            }
        }
        let idle = median(idleRuns)
        // Each round's figures too: on a shared machine a neighbour's burst lands in one round.
        for (name, runs) in [("idle", idleRuns)] + zip(queries.map(\.0), queryRuns).map({ ($0, $1) }) {
            print(
                "(\(name), round by round: p99 \(runs.map { format($0.p99) }.joined(separator: " / ")), "
                    + "worst gap \(runs.map { format($0.worstGap) }.joined(separator: " / ")))")
        }
        report.add(
            "\(label) tasks: idle host, spawn+join p50 / p99 / max, 1 ms ticker worst gap",
            "\(format(idle.p50)) / \(format(idle.p99)) / \(format(idle.worst)), \(format(idle.worstGap))")
        for (index, (name, _)) in queries.enumerated() {
            let during = median(queryRuns[index])
            let ratio = Measure.median(zip(queryRuns[index], idleRuns).map { $0.p99 / $1.p99 })
            report.add(
                "\(label) tasks: host during \(name) (\(during.queries)x)",
                String(
                    format: "%@ / %@ (%.1fx idle p99) / %@, %@", format(during.p50), format(during.p99), ratio,
                    format(during.worst), format(during.worstGap)),
                target: "p99 ≤ 2x idle, gap < 10 ms", met: ratio <= 2 && during.worstGap < 0.010)
        }
    }

    struct Result {
        var p50: Double
        var p99: Double
        /// The slowest spawn+join: a bound on how long any lock the query took kept the host waiting.
        var worst: Double
        var worstGap: Double
        var queries: Int
    }

    /// Runs `query` over and over for at least `seconds` (at least once) while the host's
    /// spawn+join loop and the ticker run; with `query` nil, the idle baseline.
    static func measure(seconds: Double, _ query: (() async throws -> Void)?) async throws -> Result {
        let stop = StopFlag()
        let host = Task.detached { () -> [Double] in
            var latencies: [Double] = []
            latencies.reserveCapacity(400_000)
            while !stop.isSet {
                let start = ContinuousClock.now
                await Task.tracked("host-work") {}.value
                latencies.append(elapsed(ContinuousClock.now - start))
                // Paced, as a host's work is: back to back, a spawn held up behind a pass would be
                // one sample among a million, and the spawns after it would follow the pass from
                // shard to shard (the ids go round the shards) unseen in the percentiles.
                try? await Task.sleep(for: .microseconds(200))
            }
            return latencies
        }
        let ticker = Task.detached { () -> Double in
            var worst = 0.0
            var last = ContinuousClock.now
            while !stop.isSet {
                try? await Task.sleep(for: .milliseconds(1))
                let now = ContinuousClock.now
                worst = max(worst, elapsed(now - last))
                last = now
            }
            return worst
        }
        let start = ContinuousClock.now
        var queries = 0
        repeat {
            if let query {
                try await query()
                queries += 1
            } else {
                try? await Task.sleep(for: .milliseconds(100))
            }
        } while elapsed(ContinuousClock.now - start) < seconds
        stop.set()
        let latencies = await host.value.sorted()
        let worstGap = await ticker.value
        func percentile(_ fraction: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))]
        }
        return Result(
            p50: percentile(0.5), p99: percentile(0.99), worst: latencies.last ?? .nan, worstGap: worstGap,
            queries: queries)
    }

    /// The median of each figure over `runs`, and their queries added up.
    static func median(_ runs: [Result]) -> Result {
        Result(
            p50: Measure.median(runs.map(\.p50)), p99: Measure.median(runs.map(\.p99)),
            worst: Measure.median(runs.map(\.worst)), worstGap: Measure.median(runs.map(\.worstGap)),
            queries: runs.map(\.queries).reduce(0, +))
    }

    /// Runs `executable` with `arguments` and waits for it to exit, without taking a thread.
    static func run(_ executable: String, _ arguments: [String]) async {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in done.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                done.resume()
            }
        }
    }

    /// Runs `body` on a thread of its own (not the cooperative pool's), as a query the agent
    /// serves from its own thread would run.
    static func onThread(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                body()
                done.resume()
            }
            thread.start()
        }
    }

    private static func elapsed(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A flag one task sets and others poll.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

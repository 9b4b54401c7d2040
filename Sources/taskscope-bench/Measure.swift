import Foundation

/// Timing side by side: rounds alternate between the baseline and the
/// candidate, so the machine's drift hits both, and the result is the median
/// of the per-round ratios.
enum Measure {
    /// Seconds `body` takes.
    static func time(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    struct Comparison {
        var baseline: Double
        var candidate: Double
        var ratio: Double
    }

    /// Runs `baseline` and `candidate` alternately for `rounds` rounds (after one
    /// warm-up each) and returns the median times and the median ratio.
    static func compare(
        rounds: Int, baseline: () async throws -> Void, candidate: () async throws -> Void
    ) async rethrows -> Comparison {
        _ = try await time(baseline)
        _ = try await time(candidate)
        var base: [Double] = []
        var cand: [Double] = []
        var ratios: [Double] = []
        for round in 0..<rounds {
            // Alternate which goes first, too.
            let (a, b): (Double, Double)
            if round % 2 == 0 {
                a = try await time(baseline)
                b = try await time(candidate)
            } else {
                b = try await time(candidate)
                a = try await time(baseline)
            }
            base.append(a)
            cand.append(b)
            ratios.append(b / a)
        }
        return Comparison(baseline: median(base), candidate: median(cand), ratio: median(ratios))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Resident memory of this process, in bytes (from /proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Forgets this process's peak resident memory (`/proc/self/clear_refs`, Linux 4.0 and
    /// later), so that ``peakResidentBytes()`` reads the peak from now on; false where it cannot.
    static func resetPeakResident() -> Bool {
        guard let file = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? file.close() }
        return (try? file.write(contentsOf: Data("5".utf8))) != nil
    }

    /// The peak resident memory of this process (VmHWM in /proc/self/status), in bytes.
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return kibibytes * 1024
    }

    /// CPU seconds (user + system) this process has used.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// The results table.
struct Report {
    struct Row {
        var name: String
        var value: String
        var target: String
        var met: Bool?
    }

    var rows: [Row] = []

    mutating func add(_ name: String, _ value: String, target: String = "", met: Bool? = nil) {
        rows.append(Row(name: name, value: value, target: target, met: met))
        let mark = met.map { $0 ? "  ok" : "  MISSED" } ?? ""
        print("\(name): \(value)\(target.isEmpty ? "" : "  (target \(target))")\(mark)")
        fflush(nil)
    }

    func markdown() -> String {
        var lines = ["| case | result | target | |", "| --- | --- | --- | --- |"]
        for row in rows {
            lines.append(
                "| \(row.name) | \(row.value) | \(row.target) | \(row.met.map { $0 ? "met" : "missed" } ?? "") |")
        }
        return lines.joined(separator: "\n")
    }
}

func format(_ seconds: Double) -> String {
    if seconds < 1e-6 { return String(format: "%.0f ns", seconds * 1e9) }
    if seconds < 1e-3 { return String(format: "%.2f µs", seconds * 1e6) }
    if seconds < 1 { return String(format: "%.2f ms", seconds * 1e3) }
    return String(format: "%.2f s", seconds)
}

import Foundation
import Testing

@testable import ScopeProtocol

/// Numbers from an agent or a file: formatting never traps, and values out of range are
/// refused where they enter, with the field named.
@Suite struct WireValidationTests {
    @Test(arguments: [
        (1e300, ">99999d"), (Double.greatestFiniteMagnitude, ">99999d"), (Double.infinity, ">99999d"),
        (DurationText.longest, ">99999d"), (DurationText.longest - 86_400, "99998d00h"),
        (9.3e18, ">99999d"), (-1e300, "0ms"), (-Double.infinity, "0ms"), (Double.nan, "0ms"), (-5, "0ms"),
        (0.85, "850ms"), (12.34, "12.3s"), (312, "5m12s"), (7380, "2h03m"), (273_600, "3d04h"),
    ])
    func durationsOfAnySizeFormatWithoutTrapping(seconds: Double, text: String) {
        #expect(DurationText.format(seconds) == text)
    }

    /// The sample document, through JSON, with one field set to `value` at `path`.
    private func document(setting path: [String], to value: Any) throws -> Data {
        let data = try JSONEncoder().encode(SnapshotDocumentTests.sampleDocument())
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func set(_ keys: ArraySlice<String>, in node: Any) -> Any {
            guard let key = keys.first else { return value }
            if var array = node as? [Any], let index = Int(key) {
                array[index] = set(keys.dropFirst(), in: array[index])
                return array
            }
            var dictionary = node as? [String: Any] ?? [:]
            dictionary[key] = set(keys.dropFirst(), in: dictionary[key] as Any)
            return dictionary
        }
        object = try #require(set(path[...], in: object) as? [String: Any])
        return try JSONSerialization.data(withJSONObject: object)
    }

    private func refusal(_ data: Data) -> String? {
        do {
            _ = try SnapshotDocument.decode(data)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func snapshotNumbersOutOfRangeAreRefusedWithTheFieldNamed() throws {
        #expect(
            refusal(try document(setting: ["capturedAt"], to: 1e300))
                == "not a valid snapshot: capturedAt is 1e300, not a time")
        #expect(
            refusal(try document(setting: ["capturedAt"], to: -1))
                == "not a valid snapshot: capturedAt is -1.0, not a time")
        #expect(
            refusal(try document(setting: ["summary", "uptime"], to: 1e300))
                == "not a valid snapshot: summary.uptime is 1e300, not a duration")
        #expect(
            refusal(try document(setting: ["tasks", "0", "inState"], to: 1e300))
                == "not a valid snapshot: tasks[0].inState is 1e300, not a duration")
        #expect(
            refusal(try document(setting: ["tasks", "0", "inState"], to: -3))
                == "not a valid snapshot: tasks[0].inState is -3.0, not a duration")
        #expect(
            refusal(try document(setting: ["summary", "tasks", "active"], to: -1))
                == "not a valid snapshot: summary.tasks.active is -1, not a count")
        #expect(
            refusal(try document(setting: ["summary", "totals", "spawned"], to: UInt64.max))
                == "not a valid snapshot: summary.totals.spawned is 18446744073709551615, not a running total")
        #expect(
            refusal(try document(setting: ["history", "interval"], to: 1e300))
                == "not a valid snapshot: history.interval is 1e300, not a duration")
        #expect(
            refusal(try document(setting: ["summary", "waits", "sleep"], to: Int.min))
                == "not a valid snapshot: summary.waits.sleep is \(Int.min), not a count")
        #expect(
            refusal(try document(setting: ["process", "started"], to: 1e12))
                == "not a valid snapshot: process.started is 1000000000000.0, not a time")
    }

    @Test func numbersAtTheEdgesOfTheirRangesAreAccepted() throws {
        #expect(refusal(try document(setting: ["capturedAt"], to: WireRange.time.upperBound)) == nil)
        #expect(refusal(try document(setting: ["capturedAt"], to: 0)) == nil)
        #expect(refusal(try document(setting: ["summary", "tasks", "active"], to: WireRange.count.upperBound)) == nil)
        #expect(
            refusal(try document(setting: ["summary", "totals", "spawned"], to: WireRange.total.upperBound)) == nil)
        #expect(refusal(try document(setting: ["tasks", "0", "inState"], to: 0)) == nil)
        #expect(refusal(try document(setting: ["tasks", "0", "inState"], to: WireRange.duration.upperBound)) == nil)
    }

    @Test func aHelloOutOfRangeNamesItsField() {
        var hello = Hello(agentVersion: "1", pid: 1, process: "p", started: 1e300, interval: 1, maxLineBytes: 1)
        #expect(throws: WireValueError(field: "started", value: "1e300", expected: "a time")) { try hello.validate() }
        hello.started = 1_700_000_000
        #expect(throws: Never.self) { try hello.validate() }
        hello.interval = -1
        #expect(throws: WireValueError(field: "interval", value: "-1.0", expected: "a duration")) {
            try hello.validate()
        }
    }

    @Test func repliesNameTheFieldInsideTheirLists() {
        let site = SourceSite(file: "f", line: 1)
        let good = TaskInfo(id: 1, name: "t", state: .active, spawnSite: site, created: 5, inState: 5)
        var bad = good
        bad.cancelledAt = .infinity
        #expect(throws: WireValueError(field: "tasks[1].cancelledAt", value: "inf", expected: "a time")) {
            try TaskPage(total: 2, offset: 0, tasks: [good, bad]).validate()
        }
        let group = SiteGroup(key: .init(reason: nil, waitSite: nil, spawnSite: site), count: 1, longest: .nan)
        #expect(throws: WireValueError(field: "groups[0].longest", value: "nan", expected: "a duration")) {
            try GroupList(total: 1, groups: [group]).validate()
        }
        var warning = Warning(rule: .stuckWait, tasks: -2, taskIDs: [], message: "m", hint: "h")
        #expect(throws: WireValueError(field: "warnings[0].tasks", value: "-2", expected: "a count")) {
            try WarningList(warnings: [warning]).validate()
        }
        warning.tasks = 2
        #expect(throws: Never.self) { try WarningList(warnings: [warning]).validate() }
    }
}

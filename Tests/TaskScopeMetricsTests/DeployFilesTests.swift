import Foundation
import MetricsTestKit
import ScopeProtocol
import Testing

@testable import TaskScope
@testable import TaskScopeMetrics

/// The Prometheus alerts and the Grafana dashboard in `deploy/` speak of what TaskScopeMetrics
/// publishes: every series they name is one the publisher records, and the alert for definite
/// leaks names exactly the definite rules. (`promtool test rules` checks when each alert fires.)
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func matches(of pattern: String, in text: String) throws -> [String] {
        let expression = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return expression.matches(in: text, range: range).compactMap { match in
            let group = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
            return Range(group, in: text).map { String(text[$0]) }
        }
    }

    /// The series names one tick of every kind makes the publisher record.
    static func published() -> Set<String> {
        let metrics = TestMetrics()
        let publisher = MetricsPublisher(options: .init(), factory: metrics)
        let warnings = LeakRule.allCases.map { rule in
            Warning(rule: rule, name: "n", tasks: 1, taskIDs: [1], message: "m", hint: "h")
        }
        var tick = MetricsPublisherTests.tick(
            active: 1, waiting: 1, waits: ["sleep": 1], spawned: 3, completed: 1, warnings: warnings,
            channels: [("jobs", 1)])
        tick.executorLag = 0.001
        publisher.publish(tick)
        return Set(metrics.recorders.map(\.label) + metrics.counters.map(\.label))
    }

    @Test(arguments: ["deploy/prometheus/taskscope.rules.yml", "deploy/grafana/taskscope-dashboard.json"])
    func everySeriesNamedIsPublished(path: String) throws {
        let named = Set(try Self.matches(of: "taskscope_[a-z_]+", in: try Self.text(path)))
        let published = Self.published()
        #expect(!named.isEmpty)
        #expect(named.subtracting(published).isEmpty, "named but never published: \(named.subtracting(published))")
    }

    @Test(arguments: ["deploy/prometheus/taskscope.rules.yml", "deploy/grafana/taskscope-dashboard.json"])
    func theDefiniteLeakSelectorsNameEveryDefiniteRule(path: String) throws {
        let definite = Set(LeakRule.allCases.filter { $0.severity == .definite }.map(\.rawValue))
        let selectors = try Self.matches(of: #"rule=~\\?"([a-z|-]+)\\?""#, in: try Self.text(path))
        let lists = selectors.map { Set($0.split(separator: "|").map(String.init)) }
        // The selector that names the first definite rule names all of them, and no suspect.
        let definiteLists = lists.filter { $0.contains(LeakRule.orphanedChannel.rawValue) }
        #expect(!definiteLists.isEmpty)
        for list in definiteLists { #expect(list == definite) }
        // Every rule named anywhere is a rule.
        let known = Set(LeakRule.allCases.map(\.rawValue))
        #expect(lists.allSatisfy { $0.isSubset(of: known) }, "\(lists)")
    }
}

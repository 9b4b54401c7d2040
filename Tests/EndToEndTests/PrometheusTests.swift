import Foundation
import TestSupport
import Testing

/// A real Prometheus server scraping the README's example service, queried over its HTTP API.
@Suite(.serialized, .timeLimit(.minutes(2))) struct PrometheusTests {
    static var example: String {
        CLI.executable.deletingLastPathComponent().appendingPathComponent("taskscope-metrics-example").path
    }

    @Test(
        .enabled(
            if: PrometheusServer.isInstalled,
            "prometheus is not installed (scripts/test installs Debian's prometheus package when it can)"))
    func prometheusSeesTheLeakedTaskCountRise() async throws {
        let directory = try makeTemporaryDirectory("prom")
        defer { removeTree(directory) }
        let service = try await BackgroundProcess(Self.example, [], environment: ["TASKSCOPE_DIR": directory])
        let ready = try await service.line(startingWith: "ready ")
        let servicePort = try #require(Int(ready.dropFirst("ready ".count)))

        let prometheus = try await PrometheusServer(scraping: servicePort, in: directory)

        var values: [Double] = []
        try await eventually("Prometheus reports the leaked task count rising", timeout: .seconds(60)) {
            guard let value = try await prometheus.query("taskscope_leaked_tasks") else { return false }
            if values.last != value { values.append(value) }
            return values.count >= 2 && values.last! > values.first!
        }
        #expect(values.allSatisfy { $0 >= 0 })
        // The other metrics are there too.
        let spawned = try await prometheus.query("taskscope_tasks_spawned_total")
        #expect((spawned ?? 0) > 0)
        #expect(try await prometheus.query(#"taskscope_warnings{rule="orphaned-channel"}"#) ?? 0 > 0)
        try await prometheus.stop()
        _ = try await service.stop(with: SIGTERM)
    }
}

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
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"),
            "prometheus is not installed (scripts/test installs Debian's prometheus package when it can)"))
    func prometheusSeesTheLeakedTaskCountRise() async throws {
        let directory = try makeTemporaryDirectory("prom")
        defer { removeTree(directory) }
        let service = try await BackgroundProcess(Self.example, [], environment: ["TASKSCOPE_DIR": directory])
        let ready = try await service.line(startingWith: "ready ")
        let servicePort = try #require(Int(ready.dropFirst("ready ".count)))

        // Loopback only, scraping every second, keeping its data in the test's directory.
        let prometheusPort = try Self.freePort()
        let config = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: taskscope
                static_configs:
                  - targets: ["127.0.0.1:\(servicePort)"]
            """
        try config.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = try await BackgroundProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ])

        var values: [Double] = []
        try await eventually("Prometheus reports the leaked task count rising", timeout: .seconds(60)) {
            guard let value = try await Self.query("taskscope_leaked_tasks", port: prometheusPort) else { return false }
            if values.last != value { values.append(value) }
            return values.count >= 2 && values.last! > values.first!
        }
        #expect(values.allSatisfy { $0 >= 0 })
        // The other metrics are there too.
        let spawned = try await Self.query("taskscope_tasks_spawned_total", port: prometheusPort)
        #expect((spawned ?? 0) > 0)
        #expect(try await Self.query(#"taskscope_warnings{rule="orphaned-channel"}"#, port: prometheusPort) ?? 0 > 0)
        _ = try await prometheus.stop(with: SIGTERM, timeout: .seconds(20))
        _ = try await service.stop(with: SIGTERM)
    }

    /// The value of an instant query's first result, through Prometheus's HTTP API; `nil` when it has none yet.
    static func query(_ expression: String, port: Int) async throws -> Double? {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let reply = try await Program.run(
            "/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)"])
        guard reply.status == 0,
            let object = try? JSONSerialization.jsonObject(with: Data(reply.stdout.utf8)) as? [String: Any],
            let data = object["data"] as? [String: Any], let results = data["result"] as? [[String: Any]],
            let value = results.first?["value"] as? [Any], value.count == 2, let text = value[1] as? String
        else { return nil }
        return Double(text)
    }

    /// A TCP port on loopback that nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw ConditionTimedOut(description: "no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

import Foundation
import TestSupport

/// A real Prometheus (Debian's), on loopback, scraping one service's `/metrics` every second and
/// keeping its data in a test's directory; queried over its HTTP API.
final class PrometheusServer: Sendable {
    static let path = "/usr/bin/prometheus"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    let port: Int
    private let process: BackgroundProcess

    init(scraping servicePort: Int, in directory: String) async throws {
        port = try Self.freePort()
        let config = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: taskscope
                static_configs:
                  - targets: ["127.0.0.1:\(servicePort)"]
            """
        try config.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        process = try await BackgroundProcess(
            Self.path,
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)",
            ])
    }

    /// The value of an instant query's first result; `nil` when it has none yet.
    func query(_ expression: String) async throws -> Double? {
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

    func stop() async throws {
        _ = try await process.stop(with: SIGTERM, timeout: .seconds(20))
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

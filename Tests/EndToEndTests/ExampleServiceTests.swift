#if Hummingbird
import Foundation
import ScopeClient
import ScopeProtocol
import TestSupport
import Testing

/// The example order service (Examples/OrderService: Hummingbird, service-lifecycle, tracing,
/// metrics) driven over loopback with curl, and read through the real CLI and a real Prometheus:
/// the requests its leaky error path strands show up by route, grow between two snapshots, raise a
/// definite warning, are found by their trace id, and are counted in `taskscope_leaked_tasks`.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ExampleServiceTests {
    static var example: String {
        CLI.executable.deletingLastPathComponent().appendingPathComponent("taskscope-example-service").path
    }

    static let route = "GET /orders/{id}"

    /// The service, started in `directory` on a free port; returns it and its port.
    static func start(in directory: String, leak: Bool) async throws -> (BackgroundProcess, Int) {
        let service = try await BackgroundProcess(
            example, ["--port", "0", "--socket", "\(directory)/orders.sock"] + (leak ? ["--leak"] : []))
        let line = try await service.line(startingWith: "listening on ", timeout: .seconds(30))
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0) }, "\(line)")
        return (service, port)
    }

    /// Requests the orders `ids` at once with curl, giving each `seconds`; returns the status codes
    /// by id (`0` for a request that got no answer in time).
    static func order(
        _ ids: [Int], port: Int, seconds: Int = 2, headers: [String] = []
    ) async throws -> [Int: Int] {
        var arguments = [
            "-s", "-Z", "--parallel-immediate", "--parallel-max", "64", "--max-time", "\(seconds)", "-w",
            "%{url} %{http_code}\\n",
        ]
        for header in headers { arguments += ["-H", header] }
        for id in ids { arguments += ["-o", "/dev/null", "http://127.0.0.1:\(port)/orders/\(id)"] }
        let result = try await Program.run("/usr/bin/curl", arguments, timeout: .seconds(seconds + 30))
        var codes: [Int: Int] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let id = fields[0].split(separator: "/").last.flatMap({ Int($0) }),
                let code = Int(fields[1])
            else { continue }
            codes[id] = code
        }
        return codes
    }

    static func snapshot(_ socket: String, _ arguments: [String] = []) async throws -> SnapshotDocument {
        let result = try await CLI.run(["snapshot", socket] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try SnapshotDocument.decode(Data(result.stdout.utf8))
    }

    /// The requests of the order route waiting for their payment's reply.
    static func stranded(_ document: SnapshotDocument) -> [TaskInfo] {
        document.tasks.filter { $0.name == route && $0.state == .waiting && $0.wait == WaitReason.continuation }
    }

    @Test func theLeakingRoutesRequestsAppearGrowRaiseADefiniteWarningAndAreFoundByTrace() async throws {
        let directory = try makeTemporaryDirectory("orders")
        defer { removeTree(directory) }
        let (service, port) = try await Self.start(in: directory, leak: true)
        let socket = "\(directory)/orders.sock"

        // Prometheus, scraping the service's /metrics every second, from before the first leak
        // (scripts/test installs Debian's prometheus; without it, this part says so and is left out).
        let prometheus = PrometheusServer.isInstalled ? try await PrometheusServer(scraping: port, in: directory) : nil
        var leaked: [Double] = []
        if let prometheus {
            try await eventually("Prometheus has scraped the service", timeout: .seconds(60)) {
                guard let value = try await prometheus.query("taskscope_leaked_tasks") else { return false }
                leaked.append(value)
                return true
            }
        } else {
            print("prometheus is not installed: the scrape of taskscope_leaked_tasks is not checked")
        }

        // Orders 1...20: the gateway declines 13, whose request the leaky error path strands. Order
        // 26 (declined too) comes with a W3C traceparent, as from a traced client.
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        async let traced = Self.order(
            [26], port: port, headers: ["traceparent: 00-\(trace)-00f067aa0ba902b7-01"])
        let first = try await Self.order(Array(1...20), port: port)
        #expect(try await traced[26] == 0, "the declined order is never answered")
        #expect(first[13] == 0 && first.filter { $0.value == 200 }.count == 19, "\(first.sorted { $0.key < $1.key })")
        let before = "\(directory)/before.json"
        #expect(try await CLI.run(["snapshot", socket, "-o", before]).status == 0)

        // Orders 27...60: 39 and 52 are declined and stranded too.
        let second = try await Self.order(Array(27...60), port: port)
        #expect(second[39] == 0 && second[52] == 0 && second.filter { $0.value == 200 }.count == 32)
        let after = "\(directory)/after.json"
        #expect(try await CLI.run(["snapshot", socket, "-o", after]).status == 0)

        // The route's stranded requests, by route and wait reason, in each snapshot.
        let old = try SnapshotDocument.decode(Data(contentsOf: URL(fileURLWithPath: before)))
        let new = try SnapshotDocument.decode(Data(contentsOf: URL(fileURLWithPath: after)))
        #expect(Self.stranded(old).count == 2)
        #expect(Self.stranded(new).count == 4)
        #expect(Self.stranded(new).allSatisfy { $0.spawnSite.function == Self.route }, "grouped by route")

        // `diff` sees the group of the route's requests waiting on their reply grow by two.
        let diffed = try await CLI.run(["diff", before, after, "--json"])
        #expect(diffed.status == 0, "\(diffed.stderr)")
        let diff = try JSONDecoder().decode(SnapshotDiff.self, from: Data(diffed.stdout.utf8))
        let grown = diff.changed.first { $0.spawnSite.function == Self.route && $0.reason == WaitReason.continuation }
        #expect(grown?.before == 2 && grown?.after == 4, "\(diff.changed)")
        let diffText = try await CLI.run(["diff", before, after])
        let grownLine = diffText.stdout.split(separator: "\n").first { $0.contains(WaitReason.continuation) }
        #expect(grownLine?.hasPrefix("    +2       2      4") == true, "\(diffText.stdout)")
        #expect(grownLine?.hasSuffix(Self.route) == true, "the route names the group: \(diffText.stdout)")

        // One definite warning, naming the stranded requests.
        let warning = try #require(new.warnings.first { $0.rule == .leakedContinuation }, "\(new.warnings)")
        #expect(warning.severity == .definite)
        #expect(warning.tasks == 4, "\(warning.message)")
        #expect(Set(warning.taskIDs).isSubset(of: Set(Self.stranded(new).map(\.id))))
        let text = try await CLI.run(["snapshot", socket, "--format", "text"])
        #expect(text.stdout.contains("definite leaked-continuation"), "\(text.stdout)")

        // The traced request's tasks, by its trace id: its scope, stranded, and its children.
        let ofTrace = try await Self.snapshot(socket, ["--trace", trace.uppercased()])
        #expect(ofTrace.trace == trace)
        #expect(ofTrace.tasks.allSatisfy { $0.trace == trace })
        let scope = try #require(ofTrace.tasks.first { $0.name == Self.route }, "\(ofTrace.tasks.map(\.name))")
        #expect(scope.wait == WaitReason.continuation)
        #expect(ofTrace.tasks.contains { $0.name == "price lookup" && $0.parent == scope.id })
        #expect(
            !new.tasks.filter { $0.name == Self.route && $0.trace != nil && $0.trace != trace }.isEmpty,
            "requests without a traceparent start traces of their own")

        // In the UI at 80x24: the Groups screen names the route, and `/` with the trace id's start
        // leaves the traced request's tasks; Enter opens the request and shows its trace whole.
        let terminal = try await Tmux(
            width: 80, height: 24, directory: directory, environment: ["LANG": "C.UTF-8", "TERM": "screen"])
        try await terminal.waitForPrompt()
        try await terminal.type("\(CLI.executable.path) attach \(socket)")
        try await terminal.waitForScreen("the overview with the leak") { $0.contains("leaked-continuation") }
        try await terminal.send("3")
        try await terminal.waitForScreen("the route's group") {
            $0.split(separator: "\n").contains { $0.contains("continuation") && $0.contains(Self.route) }
        }
        try await terminal.send("2")
        try await terminal.send("/")
        try await terminal.send(String(trace.prefix(12)), literal: true)
        try await terminal.send("Enter")
        let found = try await terminal.waitForScreen("the trace's tasks") {
            $0.contains("of \(ofTrace.tasks.count);") && $0.contains("price lookup")
        }
        #expect(found.contains(Self.route))
        try await terminal.send("g")
        try await terminal.send("Enter")
        try await terminal.waitForScreen("a task of the trace, its trace id whole") {
            $0.contains("trace       \(trace)")
        }
        try await terminal.send("q")
        try await terminal.close()

        // Prometheus sees the leaked task count rise.
        if let prometheus {
            try await eventually("Prometheus reports taskscope_leaked_tasks rising", timeout: .seconds(60)) {
                guard let value = try await prometheus.query("taskscope_leaked_tasks") else { return false }
                leaked.append(value)
                return value >= 4 && value > leaked.first!
            }
            try await prometheus.stop()
        }
        _ = try await service.stop(with: SIGTERM, timeout: .seconds(20))
    }

    @Test func withTheErrorPathFixedADeclinedOrderIsAnsweredAndNothingLeaks() async throws {
        let directory = try makeTemporaryDirectory("orders")
        defer { removeTree(directory) }
        let (service, port) = try await Self.start(in: directory, leak: false)
        let codes = try await Self.order(Array(10...30), port: port)
        #expect(codes[13] == 402 && codes[26] == 402, "the declined orders are answered: \(codes)")
        #expect(codes.filter { $0.value == 200 }.count == 19)
        let document = try await Self.snapshot("\(directory)/orders.sock")
        #expect(Self.stranded(document).isEmpty)
        #expect(document.warnings.filter { $0.severity == .definite }.isEmpty, "\(document.warnings)")
        // A graceful shutdown with nothing stranded ends at once, its socket removed.
        #expect(try await service.stop(with: SIGTERM, timeout: .seconds(10)) == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/orders.sock"))
    }
}
#endif

// An order service as taskscope's users write them: Hummingbird behind swift-service-lifecycle,
// traced with swift-distributed-tracing, scraped by Prometheus. Each request is a tracked scope
// (TaskScopeMiddleware); its handler waits on a labelled database call, starts a tracked child,
// and hands the payment to a worker pool over a tracked channel, the gateway guarded by a tracked
// semaphore. With --leak, the payment workers' error path has the bug this example is about: a
// declined payment's reply is dropped, and the request waits for it forever.
//
//   swift run --traits Hummingbird taskscope-example-service --port 8080 --leak
//   curl localhost:8080/orders/7; curl localhost:8080/orders/13    (13 is declined)
//   taskscope attach $(pgrep -f taskscope-example-service)
import ArgumentParser
import Foundation

#if Hummingbird
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TaskScope
import TaskScopeHummingbird
import TaskScopeMetrics
import TaskScopeServiceLifecycle
import Tracing
#endif

@main
struct OrderService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskscope-example-service",
        abstract: "An order service that taskscope watches: Hummingbird, service-lifecycle, tracing, metrics.")

    @Option(help: "The TCP port to serve HTTP on, on 127.0.0.1 (0 picks a free one, printed at start).")
    var port = 8080

    @Option(help: "The taskscope socket's path (default: the agent's, under $XDG_RUNTIME_DIR or /tmp).")
    var socket: String?

    @Flag(help: "The payment workers' error path drops a declined payment's reply: each such request waits forever.")
    var leak = false

    @Flag(help: "Track tasks but do not start the taskscope agent (for the benchmark).")
    var noAgent = false

    @Option(help: "Microseconds each simulated database, pricing or gateway call takes (0: a yield).")
    var ioDelay = 1_000

    @Option(help: "Payment workers, and the gateway's permits.")
    var workers = 4

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard (0...10_000_000).contains(ioDelay) else { throw ValidationError("--io-delay must be 0...10000000") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1...256") }
    }

    #if Hummingbird
    func run() async throws {
        var logger = Logger(label: "order-service")
        logger.logLevel = .info
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        InstrumentationSystem.bootstrap(PropagatingTracer())

        let shop = Shop(delay: .microseconds(ioDelay), workers: workers, leaky: leak)
        let router = Router()
        // Tracing first: each request's scope then starts inside its span and records its trace id.
        router.add(middleware: TracingMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: TaskScopeMiddleware())
        router.get("/orders/{id}") { _, context -> String in
            let id = try context.parameters.require("id", as: Int.self)
            return try await shop.order(id)
        }
        router.get("/health") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> String in
            String(decoding: metrics.emitToBuffer(), as: UTF8.self)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                // Tests and scripts read the port from this line.
                print("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)")
                fflush(nil)
            },
            logger: logger)

        // A group shuts its services down last first: the deadline starts its clock, the server
        // drains its requests, the workers stop, and the agent watches to the end.
        var services: [any Service] = [shop, app, ShutdownDeadline(grace: .seconds(3), logger: logger)]
        if !noAgent {
            services.insert(
                TaskScopeService(configuration: TaskScope.Configuration(socketPath: socket), logger: logger), at: 0)
            TaskScopeMetrics.start()
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
    #else
    func run() async throws {
        throw ValidationError(
            "taskscope-example-service needs Hummingbird: build it with --traits Hummingbird")
    }
    #endif
}

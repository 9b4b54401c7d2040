#if Hummingbird
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import ScopeClient
import ScopeProtocol
import TaskScope
import TaskScopeMetrics
import TestSupport
import Testing

/// The README's router: a request that comes with a W3C `traceparent` is a scope named by its
/// route that records the trace, found by the trace id over the agent's socket; and /metrics
/// serves taskscope's series.
@Suite(.timeLimit(.minutes(1))) struct ReadmeRouterTests {
    @Test func aTracedRequestsScopeIsFoundByItsTraceAndMetricsAreServed() async throws {
        let directory = try makeTemporaryDirectory("hb-readme")
        defer { removeTree(directory) }
        let trace = TestTracing.newTraceID()
        _ = TestTracing.context(trace: trace)  // bootstraps the test instrument (W3C propagation)
        let metrics = PrometheusCollectorRegistry()
        try await GlobalAgent.exclusively {
            let agent = try #require(
                try TaskScope.start(.init(socketPath: "\(directory)/agent.sock", firstRequestTimeout: .seconds(60))))
            defer { TaskScope.stop() }
            TaskScopeMetrics.start(factory: PrometheusMetricsFactory(registry: metrics))
            defer { TaskScopeMetrics.stop() }
            try await Application(router: buildRouter(metrics: metrics)).test(.router) { client in
                let response = try await client.execute(
                    uri: "/users/7", method: .get,
                    headers: [HTTPField.Name("traceparent")!: "00-\(trace)-00f067aa0ba902b7-01"])
                #expect(String(buffer: response.body) == "user 7")
                let connection = try await ScopeConnection.connect(to: agent)
                defer { connection.close() }
                var byTrace = TaskQuery()
                byTrace.trace = trace
                let page = try await connection.tasks(byTrace)
                #expect(page.tasks.map(\.name) == ["GET /users/{id}"], "\(page.tasks)")
                #expect(page.tasks.first?.outcome == .completed)
                try await eventually("taskscope's series are on /metrics") {
                    let scraped = try await client.execute(uri: "/metrics", method: .get)
                    return String(buffer: scraped.body).contains("taskscope_tasks_spawned_total")
                }
            }
        }
    }
}
#endif

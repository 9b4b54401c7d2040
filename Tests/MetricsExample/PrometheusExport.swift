// The README's metrics example, compiled and run by the Prometheus test (scripts/test checks that the two match).
import Metrics
import Prometheus
import TaskScope
import TaskScopeMetrics

/// Starts taskscope and its metrics, exported to Prometheus; returns the registry to serve.
func startMonitoring() throws -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    try TaskScope.start()
    TaskScopeMetrics.start(TaskScopeMetrics.Options(topChannels: 10))
    return registry
}

/// The body of `GET /metrics`, for whatever HTTP server the service runs.
func metricsPage(_ registry: PrometheusCollectorRegistry) -> [UInt8] {
    registry.emitToBuffer()
}

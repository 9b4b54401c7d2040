// README "In a service": the Hummingbird router, with tracing, taskscope's scopes and metrics.
// Compiled with the package's Hummingbird trait; scripts/test checks README.md's copy against it.
#if Hummingbird
import Hummingbird
import Prometheus
import TaskScope
import TaskScopeHummingbird

func buildRouter(metrics: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: TracingMiddleware())  // first: each request's scope starts in its span
    router.add(middleware: TaskScopeMiddleware())
    router.get("/users/{id}") { _, context in
        let id = try context.parameters.require("id", as: Int.self)
        try await TaskScope.waiting(on: "db.query") { try await Task.sleep(for: .milliseconds(1)) }
        return "user \(id)"
    }
    router.get("/metrics") { _, _ in String(decoding: metrics.emitToBuffer(), as: UTF8.self) }
    return router
}
#endif

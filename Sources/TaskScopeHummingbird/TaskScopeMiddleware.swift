#if Hummingbird
import Hummingbird
import TaskScope

/// A Hummingbird router middleware that makes each request a tracked scope (see
/// `TaskScope.scope`), named by its method and route pattern: `GET /users/{id}`, the same for
/// every user. The route is the scopes' spawn function as well, so that the UI's Groups and
/// `snapshot` put requests in flight together by route and wait. A request no route matched is named
/// `GET (no route)` rather than by its path, which a client chooses.
///
/// ```swift
/// let router = Router()
/// router.add(middleware: TaskScopeMiddleware())
/// ```
///
/// The scope ends when the handler returns its response (a streamed body is written after).
/// Cost per request: one tracked scope (a record and a task-local binding) and one string.
/// Built with the package's `Hummingbird` trait.
public struct TaskScopeMiddleware<Context: RequestContext>: RouterMiddleware {
    /// A middleware for every route added to the router after it.
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route = "\(request.method) \(context.endpointPath ?? "(no route)")"
        // The route is the scope's function too, so that requests in flight group by route.
        return try await TaskScope.scope(route, function: route) { try await next(request, context) }
    }
}
#endif

#if Hummingbird
import Hummingbird
import HummingbirdTesting
import ScopeClient
import ScopeProtocol
import TaskScope
import TaskScopeHummingbird
import TestSupport
import Testing

/// Requests through a router with `TaskScopeMiddleware` are tracked tasks named by their route
/// while their handlers run, as an agent sees them.
@Suite(.timeLimit(.minutes(1))) struct TaskScopeMiddlewareTests {
    static func unique(_ base: String) -> String { "\(base)\(UInt64.random(in: 0...UInt64.max))" }

    @Test func aRequestInFlightIsATaskNamedByItsRoute() async throws {
        let directory = try makeTemporaryDirectory("hb")
        defer { removeTree(directory) }
        let segment = Self.unique("users")
        let reason = Self.unique("db.query")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        defer { open.finish() }
        let router = Router()
        router.add(middleware: TaskScopeMiddleware())
        router.get("/\(segment)/{id}") { _, context in
            let id = try context.parameters.require("id")
            await TaskScope.waiting(on: reason) { for await _ in gate {} }
            return "user \(id), tracked: \(TaskScope.currentTaskID != nil)"
        }
        router.get("/\(segment)/{id}/orders") { _, _ in
            await TaskScope.waiting(on: reason) { for await _ in gate {} }
            return "orders"
        }
        // The process-wide agent, which the middleware's scopes report to, to this test alone.
        try await GlobalAgent.exclusively {
            let agent = try #require(
                try TaskScope.start(.init(socketPath: "\(directory)/agent.sock", firstRequestTimeout: .seconds(60))))
            defer { TaskScope.stop() }
            try await Application(router: router).test(.router) { client in
                async let answer = client.execute(uri: "/\(segment)/7", method: .get)
                async let firstOrders = client.execute(uri: "/\(segment)/7/orders", method: .get)
                async let secondOrders = client.execute(uri: "/\(segment)/8/orders", method: .get)
                let connection = try await ScopeConnection.connect(to: agent)
                defer { connection.close() }
                let (user, orders) = ("GET /\(segment)/{id}", "GET /\(segment)/{id}/orders")
                try await eventually("the requests wait as tasks named by their routes") {
                    let page = try await connection.tasks(TaskQuery(wait: reason))
                    return page.tasks.map(\.name).sorted() == [user, orders, orders]
                }
                // Grouped by route: the middleware's one line, one group per route.
                let groups = try await connection.groups(GroupQuery(wait: reason)).groups
                let byRoute = Dictionary(
                    groups.map { ($0.key.spawnSite.function ?? "", $0.count) }, uniquingKeysWith: +)
                #expect(byRoute == [user: 1, orders: 2], "\(groups)")
                open.finish()
                #expect(try await firstOrders.status == .ok)
                #expect(try await secondOrders.status == .ok)
                let response = try await answer
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "user 7, tracked: true")
                let unmatched = try await client.execute(uri: "/nowhere", method: .get)
                #expect(unmatched.status == .notFound)
            }
        }
    }
}
#endif

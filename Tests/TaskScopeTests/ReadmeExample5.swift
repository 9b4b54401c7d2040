// The "In a service" example of README.md, verbatim below this comment (scripts/test
// checks that the two agree), so that the README's code always compiles.

import TaskScope

/// A request handler as a web framework calls it, on a task the framework started: the
/// request is a tracked task while it runs, named by its route.
func showUser(id: Int, route: String, database: TrackedSemaphore) async throws -> String {
    try await TaskScope.scope(route) {
        try await database.withPermit {
            try await TaskScope.waiting(on: "db.query") { try await Task.sleep(for: .milliseconds(5)) }
        }
        return "user \(id)"
    }
}

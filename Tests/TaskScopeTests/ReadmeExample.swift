// The embedding example of README.md, verbatim below this comment (scripts/test
// checks that the two agree), so that the README's code always compiles.

import TaskScope

struct User: Sendable { var id: Int }

func fetchUser(_ id: Int) async throws -> User {
    try await TaskScope.waiting(on: "db.query") {
        try await Task.sleep(for: .milliseconds(5))  // stands in for a real query
        return User(id: id)
    }
}

func startService() throws {
    try TaskScope.start()  // serves the socket; idempotent; TASKSCOPE_DISABLE=1 turns it off

    Task.tracked("refresher") {
        while !Task.isCancelled {
            _ = try? await fetchUser(42)
            try? await TaskScope.sleep(for: .seconds(1))  // wait reason: sleep
        }
    }
}

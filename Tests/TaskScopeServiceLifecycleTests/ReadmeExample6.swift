// The service-lifecycle example of README.md, verbatim below this comment (scripts/test
// checks that the two agree), so that the README's code always compiles.

import Logging
import ServiceLifecycle
import TaskScopeServiceLifecycle

/// The agent beside the service's other services: it serves while the group runs, and its
/// socket is removed on SIGTERM's graceful shutdown.
func runServices(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
        services: [TaskScopeService(logger: logger)] + services, gracefulShutdownSignals: [.sigterm],
        logger: logger)
    try await group.run()
}

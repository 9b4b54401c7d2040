#if Hummingbird
import Foundation
import Logging
import ServiceLifecycle
import TaskScope

/// Ends the process `grace` after the group starts to shut down. A leaked request never ends,
/// so the HTTP server's shutdown, which waits for every request in flight, would never end either
/// (and a cancelled one still waits on its dropped reply). A real service would rather not leak.
struct ShutdownDeadline: Service {
    let grace: Duration
    let logger: Logger

    func run() async throws {
        // Returns at the group's graceful shutdown, throws at its cancellation: either way, time's up soon.
        try? await gracefulShutdown()
        let (seconds, logger) = (Double(grace.components.seconds), logger)
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            logger.warning(
                "requests still in flight \(seconds) s after shutdown began (with --leak, the declined ones); exiting")
            exit(0)
        }
    }
}
#endif

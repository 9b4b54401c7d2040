import Logging
import ServiceLifecycle
import TaskScope

/// The taskscope agent as a swift-service-lifecycle `Service`: it starts serving when the
/// `ServiceGroup` runs it, and stops, its socket removed, on the group's graceful shutdown
/// (or when its task is cancelled).
///
/// ```swift
/// let group = ServiceGroup(
///     services: [TaskScopeService(logger: logger), httpServer], gracefulShutdownSignals: [.sigterm],
///     logger: logger)
/// try await group.run()
/// ```
///
/// A start that fails (an unwritable socket directory, say) is logged through `logger` and
/// thrown, as the group expects of a service; the agent's own messages go through `logger`
/// too. Tracking itself needs no service: `Task.tracked` records whether or not an agent
/// serves. Cost: that of `TaskScope.start()` and `TaskScope.stop()`, once each.
public struct TaskScopeService: Service {
    /// How the agent serves (socket, sampling, rule thresholds); its `logger` is replaced by
    /// the service's.
    public var configuration: TaskScope.Configuration
    /// Where the service's and the agent's messages go: usually the group's logger.
    public let logger: Logger

    /// A service that runs the agent with `configuration`, logging to `logger`.
    public init(configuration: TaskScope.Configuration = TaskScope.Configuration(), logger: Logger) {
        var configuration = configuration
        configuration.logger = logger
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until the group shuts down gracefully or the task is cancelled, then stops the
    /// agent and removes its socket.
    public func run() async throws {
        let path: String?
        do {
            path = try TaskScope.start(configuration)
        } catch {
            logger.error("taskscope agent could not start: \(error)")
            throw error
        }
        defer { TaskScope.stop() }
        if let path { logger.debug("taskscope agent runs as a service", metadata: ["socket": "\(path)"]) }
        // Returns when the group shuts down gracefully; throws when the task is cancelled.
        try? await gracefulShutdown()
    }
}

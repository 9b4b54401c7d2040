import Foundation
import Logging
import ScopeProtocol
import Synchronization

/// The taskscope agent: embed it in a process to make its tracked tasks
/// visible to `taskscope list`, `snapshot` and `attach`.
///
/// ```swift
/// try TaskScope.start()
/// Task.tracked("fetch-user") {
///     try await TaskScope.waiting(on: "db.query") { try await db.fetch(id) }
/// }
/// ```
///
/// Tracking works whether or not the agent is started; `start()` adds the
/// sampler and the socket server.
public enum TaskScope {
    /// The agent's version, sent in `hello` and written into snapshots.
    public static let version = "0.1.0"

    /// The environment variable that turns the agent off when set to `1` (or `true`, `yes`).
    public static let disableVariable = "TASKSCOPE_DISABLE"

    /// The registry every tracked task of this process is recorded in.
    static let registry = Registry()

    /// Whether `TASKSCOPE_DISABLE` turned taskscope off; read once. Always, in a build with the
    /// package's `Untracked` trait (a constant there, so that the checks fold away).
    #if Untracked
    static let isDisabledByEnvironment = true
    #else
    static let isDisabledByEnvironment: Bool = {
        guard let value = ProcessInfo.processInfo.environment[disableVariable]?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }()
    #endif

    /// The nearest tracked task the current code runs in or descends from (task-locals
    /// are inherited by child tasks), if any.
    @usableFromInline
    static let currentRecordLocal = TaskLocal<TaskRecord?>(wrappedValue: nil)

    /// The record in the task-local (see `currentRecordLocal`).
    static var currentRecord: TaskRecord? { currentRecordLocal.get() }

    /// The tracked task the current code runs in itself: not an ancestor's.
    static var ownRecord: TaskRecord? {
        guard let record = currentRecord, record.isOwned(byTaskKey: currentTaskKey()) else { return nil }
        return record
    }

    /// The identity of the current Swift task (0 outside any task): its address, read
    /// without hashing, since this runs on every wait.
    @inline(__always)
    static func currentTaskKey() -> Int {
        withUnsafeCurrentTask { task in
            // The optional's bits are the task's address (0 for none): read them without
            // unwrapping, which would copy the task reference (a retain and a release).
            if MemoryLayout<UnsafeCurrentTask?>.size == MemoryLayout<Int>.size {
                return unsafeBitCast(task, to: Int.self)
            }
            guard let task else { return 0 }
            return taskKey(of: task)
        }
    }

    /// The identity of `task`, as ``currentTaskKey()`` gives it.
    @inline(__always)
    static func taskKey(of task: UnsafeCurrentTask) -> Int {
        if MemoryLayout<UnsafeCurrentTask>.size == MemoryLayout<Int>.size {
            return unsafeBitCast(task, to: Int.self)
        }
        return task.hashValue
    }

    private static let running = Mutex<Agent?>(nil)

    /// The agent `start()` started, while it runs.
    static var runningAgent: Agent? { running.withLock { $0 } }

    /// Starts the agent: the sampler and the socket server.
    ///
    /// Idempotent: a second call while running does nothing and returns the
    /// running agent's socket path. Returns `nil`, and starts nothing, when
    /// `TASKSCOPE_DISABLE=1`. Cost: a thread for the agent's event loop and one
    /// socket; about a millisecond.
    ///
    /// - Throws: ``TaskScopeError`` saying what failed and where (for example
    ///   an unwritable socket directory). The host process is otherwise unaffected.
    @discardableResult
    public static func start(_ configuration: Configuration = Configuration()) throws(TaskScopeError) -> String? {
        if isDisabledByEnvironment {
            #if Untracked
            Logger(label: "taskscope").info("taskscope is built with the Untracked trait: nothing is tracked")
            #else
            Logger(label: "taskscope").info("taskscope is disabled by \(disableVariable)")
            #endif
            return nil
        }
        return try running.withLock { (agent: inout Agent?) throws(TaskScopeError) -> String? in
            if let agent { return agent.socketPath }
            registry.setRetention(configuration.retention)
            let started = try Agent.start(registry: registry, configuration: configuration)
            agent = started
            return started.socketPath
        }
    }

    /// Stops the agent: closes every connection, stops the sampler and removes the socket.
    /// Tracking goes on. Cost: waits for the event loop to close, a few milliseconds.
    public static func stop() {
        let agent = running.withLock { (agent: inout Agent?) -> Agent? in
            defer { agent = nil }
            return agent
        }
        agent?.stop()
    }

    /// The socket path the running agent serves on, or `nil` when it is not running.
    public static var socketPath: String? {
        running.withLock { $0?.socketPath }
    }

    /// The leak warnings of this process, evaluated now: definite leaks first,
    /// then suspects. Uses the running agent's rule settings and history, or
    /// the defaults (and no history, so no `runaway-spawn`) when it is not running.
    ///
    /// Cost: a pass over resources and live tasks.
    public static func warnings() -> [Warning] {
        if let agent = running.withLock({ $0 }) { return agent.evaluateWarnings(observingCancellation: true) }
        let settings = RuleSettings().applyingEnvironment(ProcessInfo.processInfo.environment)
        return LeakRules(settings: settings, piles: unattendedPiles).evaluate(registry: registry, samples: [])
    }

    /// How many tracked tasks are alive now (running or waiting; untracked tasks seen waiting
    /// on tracked primitives aside): for a health check or a metric, without linking the test
    /// libraries. Cost: one short lock of each of the registry's 64 shards, a sum over its
    /// spawn sites; no task visited.
    public static var liveTaskCount: Int {
        registry.shards.reduce(0) { total, shard in
            total + shard.state.withLock { state in state.spawnPoints.values.reduce(0) { $0 + $1.live } }
        }
    }

    /// The pile-ups `stuck-wait` watches when no agent runs, kept between calls of `warnings()`.
    private static let unattendedPiles = WaitPiles()

    /// The id of the tracked task the caller runs in, or `nil` outside tracked tasks.
    public static var currentTaskID: UInt64? { ownRecord?.id }
}

/// Why the agent could not start.
public struct TaskScopeError: Error, Sendable, CustomStringConvertible {
    /// What failed, including where: for example
    /// `cannot create socket directory /run/user/1000/taskscope: Permission denied`.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "taskscope: \(message)" }
}

import ScopeProtocol
import Synchronization

/// A ticker that fires every `interval` until ``stop()``, whose waits and
/// owner taskscope can see. Its owner is the tracked task that created it,
/// then the tracked task that last waited on it (ownership follows use), or
/// the one it is handed to. The orphaned-timer rule fires when it is still
/// armed, its owner has finished (or it never had a tracked one), and no task
/// has waited on it for three periods (and at least a second): a heartbeat
/// made by a setup task and consumed by a loop is healthy.
///
/// ```swift
/// let ticker = TrackedTicker(every: .seconds(1), name: "heartbeat")
/// defer { ticker.stop() }
/// for try await _ in ticker.ticks() { beat() }   // wait reason: timer
/// ```
public final class TrackedTicker: Sendable {
    let core: TimerCore
    /// Time between ticks.
    public let interval: Duration
    private let start: ContinuousClock.Instant

    /// Creates an armed ticker owned by the current tracked task.
    public init(every interval: Duration, name: String, fileID: String = #fileID, line: Int = #line) {
        self.interval = interval > .zero ? interval : .milliseconds(1)
        start = .now
        core = TimerCore(
            kind: .ticker, name: name, fileID: fileID, line: line, deadline: nil, period: self.interval)
    }

    /// The ticker's name.
    public var name: String { core.name }

    /// Waits for the next tick (reason `timer`). Returns `false`, at once or at
    /// the tick, when the ticker is stopped.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    @discardableResult
    public func tick(fileID: String = #fileID, line: Int = #line) async throws -> Bool {
        let ticksSoFar = Int((ContinuousClock.now - start) / interval)
        let deadline = start + interval * (ticksSoFar + 1)
        return try await !core.wait(until: deadline, fileID: fileID, line: line)
    }

    /// The ticks as a sequence of tick counts, ending when the ticker is stopped.
    public func ticks(fileID: String = #fileID, line: Int = #line) -> Ticks {
        Ticks(ticker: self, fileID: fileID, line: line)
    }

    /// Stops the ticker: it is disarmed, and current waits and sequences end at once.
    public func stop() { core.stop() }

    /// Whether ``stop()`` has been called.
    public var isStopped: Bool { core.isStopped }

    /// Makes the current tracked task (or the task with `taskID`) the owner,
    /// for a ticker created by one task and used by another.
    public func handOver(toTask taskID: UInt64? = TaskScope.currentTaskID) { core.handOver(to: taskID) }

    /// The ticks of a ticker.
    public struct Ticks: AsyncSequence, Sendable {
        public typealias Failure = any Error
        let ticker: TrackedTicker
        let fileID: String
        let line: Int

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(ticker: ticker, fileID: fileID, line: line)
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let ticker: TrackedTicker
            let fileID: String
            let line: Int
            var count = 0

            public mutating func next() async throws -> Int? {
                guard try await ticker.tick(fileID: fileID, line: line) else { return nil }
                count += 1
                return count
            }
        }
    }
}

/// A one-shot timer whose wait and owner taskscope can see: armed until its
/// deadline passes or it is cancelled. If its owner finishes while it is
/// armed, the orphaned-timer rule fires.
public final class TrackedTimer: Sendable {
    let core: TimerCore

    /// Creates a timer that fires `delay` from now, owned by the current tracked task.
    public init(after delay: Duration, name: String, fileID: String = #fileID, line: Int = #line) {
        core = TimerCore(kind: .timer, name: name, fileID: fileID, line: line, deadline: .now + delay)
    }

    /// The timer's name.
    public var name: String { core.name }

    /// Waits until the timer fires (`true`) or is cancelled (`false`); reason `timer`.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    @discardableResult
    public func wait(fileID: String = #fileID, line: Int = #line) async throws -> Bool {
        guard let deadline = core.deadline else { return false }
        return try await !core.wait(until: deadline, fileID: fileID, line: line)
    }

    /// Cancels the timer: it is disarmed and will not fire.
    public func cancel() { core.stop() }

    /// Whether the timer is still armed (neither fired nor cancelled).
    public var isArmed: Bool { !core.isStopped && ContinuousClock.now < (core.deadline ?? .now) }

    /// Makes the current tracked task (or the task with `taskID`) the owner.
    public func handOver(toTask taskID: UInt64? = TaskScope.currentTaskID) { core.handOver(to: taskID) }
}

import NIOCore
import ScopeProtocol
import Synchronization

/// A counting semaphore whose waits and holders taskscope can see: the
/// bounded-concurrency pattern that stops runaway spawning. Waiting for a
/// permit records `semaphore`; the resource lists which tasks hold permits,
/// and which of those have finished without returning them.
///
/// ```swift
/// let pool = TrackedSemaphore(permits: 8, name: "db-pool")
/// try await pool.withPermit { try await db.query(sql) }
/// ```
public final class TrackedSemaphore: Sendable, TrackedResource {
    let resourceID: UInt64
    var kind: ResourceKind { .semaphore }
    /// The semaphore's name.
    public let name: String
    /// Permits in all.
    public let permits: Int
    let site: SourceSite
    let created: UInt64
    private let registry: Registry
    private let state: Mutex<SemaphoreState>

    /// Creates a semaphore with `permits` permits, all available.
    public init(permits: Int, name: String, fileID: String = #fileID, line: Int = #line) {
        registry = TaskScope.registry
        resourceID = registry.resources.makeID()
        self.name = name
        self.permits = max(0, permits)
        site = SourceSite(file: fileID, line: line)
        created = registry.clock.now()
        state = Mutex(SemaphoreState(available: max(0, permits)))
        registry.resources.register(self)
    }

    deinit { registry.resources.unregister(resourceID) }

    /// Takes a permit, waiting (reason `semaphore`) until one is free.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting (no permit is taken).
    public func acquire(fileID: String = #fileID, line: Int = #line) async throws {
        try await acquire(scoped: false, fileID: fileID, line: line)
    }

    /// Takes a permit; `scoped` when `withPermit` takes it, to return it itself.
    private func acquire(scoped: Bool, fileID: String, line: Int) async throws {
        let holder = TaskScope.ownRecord  // a plain child task holds as nobody known
        let taken = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            state.hold(holder, scoped: scoped)
            return true
        }
        if taken { return }
        try await TaskScope.recordingWait(WaitReason.semaphore, resource: resourceID, fileID: fileID, line: line) {
            taskID in
            try await blockAcquiring(taskID: taskID, holder: holder, scoped: scoped)
        }
    }

    private func blockAcquiring(taskID: UInt64, holder: TaskRecord?, scoped: Bool) async throws {
        let waiterID = state.withLock { $0.makeWaiterID() }
        try await suspendCancellably { continuation in
            state.withLock { state in
                SuspensionStart.unlessCancelled {
                    guard state.available == 0 else {
                        state.available -= 1
                        state.hold(holder, scoped: scoped)
                        return false
                    }
                    state.waiters.append(
                        .init(
                            id: waiterID, taskID: taskID, holder: holder, scoped: scoped, continuation: continuation))
                    return true
                }
            }
        } withdraw: {
            state.withLock { state in
                state.waiters.firstIndex { $0.id == waiterID }.map { state.waiters.remove(at: $0).continuation }
            }
        }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one, or else
    /// adding it to the free permits: `DispatchSemaphore.signal()` and Go's release, so that a
    /// semaphore made with no permits works as a latch ("wait until the worker signals").
    ///
    /// Any task may release. When the releasing task holds a permit, it stops being listed as
    /// a holder; otherwise the release is a *signal* from a non-holder, counted in the report
    /// (`signals`), and no holder is struck off: holders are then not the only tasks that can
    /// free a permit, which rules proving a lost permit must take into account. Releasing more
    /// than was acquired raises the free count above `permits`, as it does for the semaphores
    /// this mirrors. Cost: one uncontended lock.
    public func release() {
        release(scoped: false)
    }

    private func release(scoped: Bool) {
        let releaser = TaskScope.ownRecord
        let next = state.withLock { state -> SemaphoreWaiter? in
            state.returnPermit(from: releaser, scoped: scoped)
            if let waiter = state.waiters.popFirst() {
                state.hold(waiter.holder, scoped: waiter.scoped)
                return waiter
            }
            state.available += 1
            return nil
        }
        next?.continuation.resume()
    }

    /// Runs `body` holding a permit, and returns it afterwards, whatever happens.
    public func withPermit<T>(
        fileID: String = #fileID, line: Int = #line, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async throws -> T {
        try await acquire(scoped: true, fileID: fileID, line: line)
        defer { release(scoped: true) }
        return try await body()
    }

    /// What the wait-for graph reads, from one moment (see ``WaitForGraph``).
    func facts() -> SemaphoreFacts {
        state.withLock { state in
            SemaphoreFacts(
                id: resourceID, name: name, site: site, available: state.available,
                queued: Set(state.waiters.lazy.map(\.taskID)), holders: state.holders.compactMap { $0 },
                running: Set(state.holders.lazy.compactMap { $0 }.filter { !$0.phase.isFinished }.map(\.id)),
                untrackedHolders: state.holders.lazy.filter { $0 == nil }.count,
                releasesByNonHolders: state.signals, permits: permits,
                handingHolders: state.handingHolders())
        }
    }

    /// Permits free right now.
    public var availablePermits: Int { state.withLock { $0.available } }

    func report(_ context: ReportContext) -> ResourceInfo {
        state.withLock { state in
            var info = ResourceInfo(
                id: resourceID, kind: .semaphore, name: name, site: site, created: context.wall(created),
                state: state.available > 0 ? "available" : "exhausted")
            info.capacity = permits
            info.buffered = state.available
            info.waiting = state.waiters.count
            info.waitingIDs = firstIDs(state.waiters.lazy.map(\.taskID).filter { $0 != 0 })
            let holders = state.holders.compactMap { $0 }
            info.holders = firstIDs(holders.map(\.id))
            info.finishedHolders = firstIDs(holders.filter(context.hasFinished).map(\.id))
            info.signals = state.signals
            return info
        }
    }
}

struct SemaphoreWaiter: Sendable {
    var id: UInt64
    var taskID: UInt64
    /// Whom the permit will be recorded for (the tracked task, or nobody known).
    var holder: TaskRecord?
    /// Whether `withPermit` waits (see ``SemaphoreState/scoped``).
    var scoped: Bool
    var continuation: UnsafeContinuation<Void, any Error>
}

struct SemaphoreState: Sendable {
    var available: Int
    var waiters = CircularBuffer<SemaphoreWaiter>()
    /// The tasks holding permits, with repetition (`nil` for untracked holders).
    var holders: [TaskRecord?] = []
    /// For each of `holders`, whether `withPermit` took it (its task returns it itself) rather
    /// than `acquire()` (it may be handed to another task to return).
    var scoped: [Bool] = []
    /// Releases by tasks that held no permit (a latch's signals, or a permit handed to
    /// another task to return).
    var signals = 0
    private var lastWaiterID: UInt64 = 0

    init(available: Int) { self.available = available }

    /// Strikes one permit of `releaser` (`nil`: an untracked task) off the holders, or counts
    /// the release as a signal when it holds none.
    mutating func returnPermit(from releaser: TaskRecord?, scoped: Bool) {
        // The permit of the same kind first: `withPermit` returns the one it took.
        let index =
            holders.indices.first { holders[$0] === releaser && self.scoped[$0] == scoped }
            ?? holders.firstIndex { $0 === releaser }
        if let index {
            holders.remove(at: index)
            self.scoped.remove(at: index)
        } else {
            signals += 1
        }
    }

    /// The ids of the running holders holding a permit taken with `acquire()`.
    func handingHolders() -> Set<UInt64> {
        var found: Set<UInt64> = []
        for (holder, scoped) in zip(holders, scoped) where !scoped {
            if let holder, !holder.phase.isFinished { found.insert(holder.id) }
        }
        return found
    }

    /// Notes a permit taken by `holder` (`nil`: an untracked task).
    mutating func hold(_ holder: TaskRecord?, scoped: Bool) {
        holders.append(holder)
        self.scoped.append(scoped)
    }

    mutating func makeWaiterID() -> UInt64 {
        lastWaiterID &+= 1
        return lastWaiterID
    }
}

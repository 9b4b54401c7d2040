import Synchronization

/// What fired in a select: the index of its case, and for a receive the value (`nil`: the
/// channel was finished).
@usableFromInline
struct SelectFired: Sendable {
    @usableFromInline let index: Int
    @usableFromInline let value: (any Sendable)?

    @inlinable
    init(index: Int, value: (any Sendable)?) {
        self.index = index
        self.value = value
    }
}

/// One select in flight, shared by the waiters it queued on its channels: the first case to
/// *claim* it wins, and the others find it claimed and drop their waiters.
///
/// Lock order: a channel's lock, then a signal's; two signals (two selects meeting on one
/// channel) in the order of their addresses. A signal's lock is never held while a channel's
/// is taken.
@usableFromInline
final class SelectSignal: Sendable {
    /// The waiting task's id (0 when it has none).
    let taskID: UInt64
    /// Whether the select has a timeout: then it never waits forever, whatever its channels.
    let hasTimeout: Bool
    /// For each case, whether its side of its channel is stranded (see ``isStranded``).
    let strandedProbes: [@Sendable () -> Bool]
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var claimed = false
        var continuation: UnsafeContinuation<SelectFired, any Error>?
        var result: Result<SelectFired, any Error>?
    }

    init(taskID: UInt64, hasTimeout: Bool, strandedProbes: [@Sendable () -> Bool]) {
        self.taskID = taskID
        self.hasTimeout = hasTimeout
        self.strandedProbes = strandedProbes
    }

    /// Claims the select for the caller, who must then ``complete(_:)`` it; `false` when
    /// another case claimed it first.
    @usableFromInline
    func claim() -> Bool {
        state.withLock { state in
            if state.claimed { return false }
            state.claimed = true
            return true
        }
    }

    var isClaimed: Bool { state.withLock { $0.claimed } }

    /// Claims two selects at once (one sending to the other on one channel), or neither.
    @usableFromInline
    static func claimPair(_ mine: SelectSignal, _ other: SelectSignal) -> PairClaim {
        let mineFirst = ObjectIdentifier(mine) < ObjectIdentifier(other)
        let (first, second) = mineFirst ? (mine, other) : (other, mine)
        return first.state.withLock { firstState in
            second.state.withLock { secondState in
                let mineClaimed = mineFirst ? firstState.claimed : secondState.claimed
                let otherClaimed = mineFirst ? secondState.claimed : firstState.claimed
                if mineClaimed { return .mineTaken }
                if otherClaimed { return .otherTaken }
                firstState.claimed = true
                secondState.claimed = true
                return .both
            }
        }
    }

    @usableFromInline
    enum PairClaim {
        case both, mineTaken, otherTaken
    }

    /// Delivers the outcome of the claimed select: resumes its task, or keeps the outcome for
    /// ``install(_:)`` or ``takeResult()``.
    @usableFromInline
    func complete(_ result: Result<SelectFired, any Error>) {
        let continuation = state.withLock { state -> UnsafeContinuation<SelectFired, any Error>? in
            guard let continuation = state.continuation else {
                state.result = result
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }

    /// Gives the signal the waiting task's continuation, before any case is queued.
    func install(_ continuation: UnsafeContinuation<SelectFired, any Error>) {
        let early = state.withLock { state -> Result<SelectFired, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// The outcome completed without a continuation (a select polled for its default case).
    func takeResult() -> Result<SelectFired, any Error>? {
        state.withLock { state in
            defer { state.result = nil }
            return state.result
        }
    }

    /// Whether the select waits forever: it has no timeout, it is not claimed, and every one
    /// of its cases waits on a side of a channel nobody can serve any more. Each probe takes
    /// its channel's lock alone, so this runs under no lock; the conditions it reads only ever
    /// become true (endpoints do not come back), so a `true` stays true.
    var isStranded: Bool {
        !hasTimeout && strandedProbes.allSatisfy { $0() } && !isClaimed
    }
}

/// How a task queued on a channel is resumed: a plain waiter's own continuation, or a case of
/// a select (resumed through its signal, once the case has claimed it).
@usableFromInline
enum WaiterContinuation<Value: Sendable>: Sendable {
    case task(UnsafeContinuation<Value, any Error>)
    case select(SelectSignal, index: Int)

    /// Claims a select's waiter for the caller (always true for a plain waiter); `false` when
    /// its select has already fired elsewhere, and the waiter is stale.
    @inlinable
    func claim() -> Bool {
        switch self {
        case .task: true
        case .select(let signal, _): signal.claim()
        }
    }

    /// The select this waiter belongs to, if any.
    @inlinable
    var signal: SelectSignal? {
        if case .select(let signal, _) = self { return signal }
        return nil
    }

    /// Whether it still waits (a select's waiter stops once its select has fired).
    var isWaiting: Bool { signal.map { !$0.isClaimed } ?? true }

    /// Resumes the waiter; a select gets `value` as what its case received.
    @inlinable
    func resume(returning value: Value) {
        switch self {
        case .task(let continuation): continuation.resume(returning: value)
        case .select(let signal, let index): signal.complete(.success(SelectFired(index: index, value: value)))
        }
    }

    @inlinable
    func resume(throwing error: any Error) {
        switch self {
        case .task(let continuation): continuation.resume(throwing: error)
        case .select(let signal, _): signal.complete(.failure(error))
        }
    }
}

extension WaiterContinuation where Value == Void {
    @inlinable
    func resume() { resume(returning: ()) }
}

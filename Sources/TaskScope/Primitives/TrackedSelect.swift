import ScopeProtocol

/// The cases of a ``trackedSelect(fileID:line:isolation:_:)``: Go's `select` over tracked
/// channels. Add cases in the builder closure; each case's handler makes the select's result.
///
/// ```swift
/// let outcome = try await trackedSelect { select in
///     select.receive(from: jobs) { job in job.map(Outcome.job) ?? .closed }
///     select.receive(from: quit) { _ in .quit }
///     select.timeout(.seconds(1)) { .idle }
/// }
/// ```
public struct TrackedSelect<Outcome> {
    struct Case {
        /// Tries the case; queues it as a waiter when `queue` is set and it cannot fire now.
        let attempt: (SelectSignal, _ index: Int, _ queue: Bool) -> SelectArmOutcome
        let withdraw: (SelectSignal) -> Void
        let stranded: @Sendable () -> Bool
        let resourceID: UInt64
        let handle: ((any Sendable)?) async throws -> Outcome
    }

    var cases: [Case] = []
    var timeout: (duration: Duration, handle: () async throws -> Outcome)?
    var fallback: (() async throws -> Outcome)?

    init() {}

    /// A case that receives from `receiver`: `handler` gets the value, or `nil` when the
    /// channel is finished and drained (Go's `v, ok := <-ch` with `ok` false).
    public mutating func receive<Element: Sendable>(
        from receiver: TrackedReceiver<Element>, _ handler: @escaping (Element?) async throws -> Outcome
    ) {
        let core = receiver.core
        cases.append(
            Case(
                // The case holds the endpoint while the select waits, as a plain receive does.
                attempt: { receiver.core.selectReceive($0, index: $1, queue: $2) }, withdraw: core.withdraw,
                stranded: { core.receiveIsStranded() }, resourceID: core.resourceID,
                handle: { value in try await handler(value.flatMap { $0 as? Element }) }))
    }

    /// A case that sends `value` to `sender`; `handler` runs once it is taken. When the
    /// channel is finished, the select throws ``TrackedChannelError/finished(channel:)``, as
    /// a send does.
    public mutating func send<Element: Sendable>(
        _ value: Element, to sender: TrackedSender<Element>, _ handler: @escaping () async throws -> Outcome
    ) {
        let core = sender.core
        cases.append(
            Case(
                attempt: { sender.core.selectSend(value, $0, index: $1, queue: $2) }, withdraw: core.withdraw,
                stranded: { core.sendIsStranded() }, resourceID: core.resourceID,
                handle: { _ in try await handler() }))
    }

    /// The case taken when no other fires within `duration` (Go's `case <-time.After(d)`).
    /// The last one given counts.
    public mutating func timeout(_ duration: Duration, _ handler: @escaping () async throws -> Outcome) {
        timeout = (duration, handler)
    }

    /// The case taken at once when no other case is ready (Go's `default`): the select
    /// then never waits.
    public mutating func `default`(_ handler: @escaping () async throws -> Outcome) {
        fallback = handler
    }
}

/// Go's `select` over tracked channels: waits until one of the cases `build` adds can go on,
/// takes it (the others are withdrawn: exactly one fires, and a value is received or sent
/// exactly once), and returns what its handler returns.
///
/// When several cases are ready at once, the first in the order written is taken. With a
/// `default` case, the select never waits; with a `timeout`, it waits at most that long.
/// While it waits, the task shows as waiting with reason `select` (on its first channel), and
/// each channel counts it among its blocked senders or receivers; when every channel it
/// waits on is orphaned and it has no timeout, `orphaned-channel` reports it.
///
/// Cost: no allocation beyond the cases when a case is ready; otherwise one waiter per case
/// (one lock per channel to queue and to withdraw it), and a timer task for a timeout.
///
/// - Throws: `CancellationError` when the task is cancelled while waiting;
///   ``TrackedChannelError/finished(channel:)`` when a send case's channel is finished;
///   whatever the handler throws.
public func trackedSelect<Outcome>(
    fileID: String = #fileID, line: Int = #line, isolation: isolated (any Actor)? = #isolation,
    _ build: (inout TrackedSelect<Outcome>) -> Void
) async throws -> Outcome {
    var select = TrackedSelect<Outcome>()
    build(&select)
    let cases = select.cases
    // Ready now (or a select that may not wait): no waiter, no recorded wait.
    let polled = SelectSignal(taskID: 0, hasTimeout: true, strandedProbes: [])
    for index in cases.indices {
        if cases[index].attempt(polled, index, false) == .settled { break }
    }
    if let fired = polled.takeResult() {
        let fired = try fired.get()
        return try await cases[fired.index].handle(fired.value)
    }
    if let fallback = select.fallback { return try await fallback() }
    let timeoutIndex = cases.count
    let wait = TaskScope.beginWait(
        WaitReason.select, resource: cases.first?.resourceID ?? 0, fileID: fileID, line: line)
    let signal = SelectSignal(
        taskID: wait.taskID, hasTimeout: select.timeout != nil, strandedProbes: cases.map(\.stranded))
    let fired: SelectFired
    do {
        defer {
            TaskScope.endWait(wait)
            for selectCase in cases { selectCase.withdraw(signal) }
        }
        fired = try await waitForCase(
            cases, signal: signal, timeout: select.timeout?.duration, timeoutIndex: timeoutIndex)
    }
    if fired.index == timeoutIndex, let timeout = select.timeout { return try await timeout.handle() }
    return try await cases[fired.index].handle(fired.value)
}

/// Queues every case on its channel and waits for the first to fire (or the timeout, or
/// cancellation).
private func waitForCase<Outcome>(
    _ cases: [TrackedSelect<Outcome>.Case], signal: SelectSignal, timeout: Duration?, timeoutIndex: Int
) async throws -> SelectFired {
    var timer: Task<Void, Never>?
    defer { timer?.cancel() }
    return try await withTaskCancellationHandler {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<SelectFired, any Error>) in
            signal.install(continuation)
            if Task.isCancelled {
                if signal.claim() { signal.complete(.failure(CancellationError())) }
                return
            }
            for index in cases.indices {
                if cases[index].attempt(signal, index, true) == .settled { return }
            }
            if let timeout {
                timer = Task {
                    guard (try? await Task.sleep(for: timeout)) != nil, signal.claim() else { return }
                    signal.complete(.success(SelectFired(index: timeoutIndex, value: nil)))
                }
            }
        }
    } onCancel: {
        if signal.claim() { signal.complete(.failure(CancellationError())) }
    }
}

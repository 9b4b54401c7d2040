/// What a waiter's `enqueue` found, under its primitive's lock.
enum SuspensionStart {
    /// The task may go on at once.
    case proceed
    /// The continuation is queued, to be resumed by whoever frees the task.
    case queued
    /// The task is cancelled: it throws `CancellationError`.
    case cancelled

    /// `cancelled` when the current task is cancelled, else `proceed` or `queued` as `body`
    /// says (it returns whether it queued): called under the lock that `withdraw` takes too,
    /// so that a cancellation either finds the waiter queued or is seen here.
    static func unlessCancelled(_ body: () -> Bool) -> SuspensionStart {
        if Task.isCancelled { return .cancelled }
        return body() ? .queued : .proceed
    }
}

/// Suspends the current task on a queue of waiters that honours cancellation, the way the
/// semaphore and the wait group wait.
///
/// `enqueue` runs under the primitive's lock, in the continuation's body (see
/// ``SuspensionStart/unlessCancelled(_:)``). `withdraw` takes the queued continuation back
/// out when the task is cancelled (`nil` when it was resumed first); the task then throws
/// `CancellationError`.
func suspendCancellably(
    enqueue: (UnsafeContinuation<Void, any Error>) -> SuspensionStart,
    withdraw: @Sendable () -> UnsafeContinuation<Void, any Error>?
) async throws {
    try await withTaskCancellationHandler {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            switch enqueue(continuation) {
            case .proceed: continuation.resume()
            case .queued: break
            case .cancelled: continuation.resume(throwing: CancellationError())
            }
        }
    } onCancel: {
        withdraw()?.resume(throwing: CancellationError())
    }
}

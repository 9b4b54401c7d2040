import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The write end of the pipe the signal handler writes to, -1 when no watcher runs. A global,
/// because a signal handler is a C function and can capture nothing.
private let signalPipe = Atomic<Int32>(-1)

/// Turns SIGINT, SIGTERM and SIGHUP into a callback on an ordinary thread, so the UI can
/// restore the terminal and end; restores every disposition it changed when cancelled.
///
/// A handler (not `SIG_IGN` and a dispatch signal source) catches the signal: with
/// `SIG_IGN`, any thread that does not block the signal may take it and drop it before
/// the source sees it, which is how Ctrl-C got lost in a busy process such as the demo.
/// The handler only writes the signal's number to a pipe (async-signal-safe); a dispatch
/// read source reads it. One watcher at a time.
public final class SignalWatcher: @unchecked Sendable {
    private let lock = Mutex<[(number: Int32, previous: sigaction)]>([])
    private let source: any DispatchSourceRead

    /// Starts catching `signals`, calling `handler` with each one's number as it arrives.
    public init(
        signals: [Int32] = [SIGINT, SIGTERM, SIGHUP], _ handler: @escaping @Sendable (Int32) -> Void
    ) {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        for end in [readEnd, writeEnd] {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        signalPipe.store(writeEnd, ordering: .sequentiallyConsistent)
        source = DispatchSource.makeReadSource(fileDescriptor: readEnd, queue: .global())
        source.setEventHandler {
            var number: UInt8 = 0
            while read(readEnd, &number, 1) == 1 { handler(Int32(number)) }
        }
        source.setCancelHandler {
            close(readEnd)
            close(writeEnd)
        }
        source.resume()
        var saved: [(Int32, sigaction)] = []
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                let saved = errno
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipe.load(ordering: .sequentiallyConsistent), &byte, 1)
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            var previous = sigaction()
            if sigaction(number, &action, &previous) == 0 { saved.append((number, previous)) }
        }
        lock.withLock { $0 = saved }
    }

    /// Puts back every disposition it changed and stops watching. Safe to call twice.
    public func cancel() {
        let saved = lock.withLock { saved in
            defer { saved = [] }
            return saved
        }
        guard !saved.isEmpty else { return }
        for (number, previous) in saved {
            var previous = previous
            sigaction(number, &previous, nil)
        }
        signalPipe.store(-1, ordering: .sequentiallyConsistent)
        source.cancel()
    }

    deinit { cancel() }
}

import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The thread that owns the terminal: ncurses is not thread-safe, so every
/// call to it happens here. It reads keys and resizes, and draws the latest
/// frame handed to it.
final class TerminalThread: Sendable {
    private let pending = Mutex<CellBuffer?>(nil)
    private let stopping = Atomic<Bool>(false)
    private let repaint = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let startup = Mutex<Result<(width: Int, height: Int, colours: Bool), BackendError>?>(nil)
    private let started = DispatchSemaphore(value: 0)

    /// Takes over the terminal on a new thread and returns its size once it has.
    ///
    /// - Throws: ``BackendError`` when the terminal cannot be started.
    func start(
        environment: [String: String], post: @escaping @Sendable (Action) -> Void
    ) throws
        -> (width: Int, height: Int, colours: Bool)
    {
        let thread = Thread { [self] in
            let backend = NcursesBackend()
            do {
                try backend.start(environment: environment)
            } catch {
                startup.withLock { $0 = .failure(error as? BackendError ?? BackendError("\(error)")) }
                started.signal()
                finished.signal()
                return
            }
            let size = backend.size
            startup.withLock { $0 = .success((size.width, size.height, backend.colours)) }
            started.signal()
            while !stopping.load(ordering: .relaxed) {
                let (key, resized) = backend.readKey()
                if key == nil, !resized, TerminalThread.terminalHungUp() {
                    // The terminal is gone (its window closed without a SIGHUP reaching us):
                    // reads now fail at once, so quit rather than spin.
                    post(.quit)
                    break
                }
                if resized {
                    backend.invalidate()
                    let size = backend.size
                    post(.resize(width: size.width, height: size.height))
                }
                if let key { post(.key(key)) }
                if repaint.exchange(false, ordering: .relaxed) { backend.repaintAll() }
                if let frame = pending.withLock({ frame in
                    defer { frame = nil }; return frame
                }) {
                    backend.draw(frame)
                }
            }
            backend.stop()
            finished.signal()
        }
        thread.name = "taskscope-terminal"
        thread.start()
        started.wait()
        return try startup.withLock { $0! }.get()
    }

    /// Whether standard input's terminal has hung up.
    static func terminalHungUp() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return false }
        return descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }

    /// Hands a frame to draw; a newer one replaces it if it was not drawn yet.
    func show(_ frame: CellBuffer) {
        pending.withLock { $0 = frame }
    }

    /// Repaints the whole terminal with the next frame, not only the cells that changed.
    func redraw() {
        repaint.store(true, ordering: .relaxed)
    }

    /// Restores the terminal and waits until it is restored.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}

import ArgumentParser
import Dispatch
import Foundation
import Logging
import ScopeClient
import ScopeUI
import TaskScope

#if canImport(Glibc)
import Glibc
#endif

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a built-in workload with the taskscope agent, to try taskscope on.",
        discussion: """
            The workload sleeps, waits on labelled calls (db.query, http.get, disk.write), finishes, \
            fails and gets cancelled in a parent/child tree, and runs every leak pattern taskscope \
            detects (orphaned channels, a ticker nobody stopped, a dropped continuation, a permit never \
            returned, an ignored cancellation, unbounded spawning) beside its corrected twin, so every \
            leak rule fires within a minute. It runs until interrupted.
            """)

    @Flag(help: "Only serve the agent's socket (print its path and run until interrupted), without the UI.")
    var serve = false

    func run() async throws {
        try await reportingFailures {
            // The agent's informational lines would only repeat what the demo prints; keep warnings.
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .warning
                return handler
            }
            if !serve {
                try TerminalRequirement.check("demo", instead: "try demo --serve, then snapshot PID --format text")
            }
            // Catch the signals before announcing the socket, so that an early Ctrl-C is not lost.
            // Not under the UI: it catches them itself, and two catchers of one signal lose it.
            let termination = serve ? TerminationSignals() : nil
            let configuration = TaskScope.Configuration(rules: DemoWorkload.rules)
            guard let socket = try TaskScope.start(configuration) else {
                throw CLIFailure("the agent is disabled by \(TaskScope.disableVariable); unset it to run the demo")
            }
            let workload = DemoWorkload.start()
            let pid = getpid()
            if !serve {
                // The UI, attached to this very process.
                try await ScopeApp.run(source: LiveSource(path: socket))
                workload.cancel()
                TaskScope.stop()
                return
            }
            print("taskscope demo: pid \(pid), socket \(socket)")
            print("Press Ctrl-C to stop.")
            fflush(nil)  // stdout may be a pipe: make the socket path visible now
            await termination?.wait()
            workload.cancel()
            TaskScope.stop()
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught from creation on (by the UI's ``SignalWatcher``: a
/// handler writing to a pipe, which no busy thread can swallow) and delivered as an await.
final class TerminationSignals {
    private let stream: AsyncStream<Int32>
    private let watcher: SignalWatcher

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        watcher = SignalWatcher { continuation.yield($0) }
    }

    /// Returns when the first signal arrives, and puts back the signals' dispositions.
    func wait() async {
        for await _ in stream { break }
        watcher.cancel()
    }
}

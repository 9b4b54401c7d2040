import Dispatch
import Foundation
import ScopeClient
import ScopeProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the terminal UI on a source until the user quits: the runtime around
/// the pure parts. Keys and data become actions, actions change the state,
/// the state is rendered into a frame, and the terminal thread draws it.
public enum ScopeApp {
    /// How the UI starts.
    public struct Options: Sendable {
        /// Start with this wait-reason filter.
        public var waitFilter: String?
        /// Where `e` writes snapshots.
        public var exportDirectory: String
        /// How often data is fetched.
        public var refresh: Duration
        /// Looks up the processes that can be attached to; given, the UI follows a process that
        /// took the place of the one watched (`attach` without a target): when it is gone and
        /// exactly one other process is attachable, the UI switches to it and says so.
        public var discover: (@Sendable () async -> [AttachableProcess])?

        public init(
            waitFilter: String? = nil, exportDirectory: String = FileManager.default.currentDirectoryPath,
            refresh: Duration = .seconds(1), discover: (@Sendable () async -> [AttachableProcess])? = nil
        ) {
            self.discover = discover
            self.waitFilter = waitFilter
            self.exportDirectory = exportDirectory
            self.refresh = refresh
        }
    }

    /// Runs until `q`, F10, SIGINT, SIGTERM or SIGHUP; the terminal is restored, and every
    /// signal disposition changed is put back, on every way out.
    ///
    /// - Throws: ``ScopeAppError`` when there is no terminal to draw on.
    public static func run(source: any ScopeSource, options: Options = Options()) async throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ScopeAppError(
                "the terminal UI needs a terminal; for a report without one use: taskscope snapshot TARGET --format text"
            )
        }
        let environment = ProcessInfo.processInfo.environment
        let (actions, post) = AsyncStream.makeStream(of: Action.self)
        // Signals are caught before ncurses starts, so it leaves their dispositions alone
        // and the watcher puts back exactly what was there before.
        let signals = SignalWatcher { _ in post.yield(.quit) }
        defer { signals.cancel() }
        let terminal = TerminalThread()
        let size: (width: Int, height: Int, colours: Bool)
        do {
            size = try terminal.start(environment: environment) { post.yield($0) }
        } catch {
            throw ScopeAppError("\(error)")
        }
        defer { terminal.stop() }

        var state = UIState(
            width: size.width, height: size.height, glyphs: Glyphs.forEnvironment(environment), colours: size.colours)
        state.waitFilter = options.waitFilter
        state.followsRestarts = options.discover != nil
        if source.isOffline { state.connection = .offline(source.label) }
        let loader = Loader(
            source: source, plan: LoadPlan(state), refresh: options.refresh, discover: options.discover,
            post: { post.yield($0) })
        let loading = Task { await loader.run() }
        defer { loading.cancel() }

        var effects = EffectRunner(
            source: source, directory: options.exportDirectory, loader: loader, terminal: terminal
        ) {
            post.yield($0)
        }
        defer { effects.cancel() }
        var lastFrame: CellBuffer?
        terminal.show(Renderer.render(state))
        for await action in actions {
            guard effects.run(state.apply(action)) else { break }
            if effects.repaint { lastFrame = nil }
            let frame = Renderer.render(state)
            if frame != lastFrame {
                terminal.show(frame)
                lastFrame = frame
            }
        }
    }

    /// `taskscope-<process>-<pid>-<UTC time>.json` in `directory`.
    static func exportPath(_ request: ExportRequest, directory: String) -> String {
        let name = (request.process ?? "process").map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let pid = request.pid.map { "\($0)" } ?? "0"
        var time = Date().ISO8601Format(.iso8601.year().month().day().time(includingFractionalSeconds: false))
        time.removeAll { $0 == ":" || $0 == "-" }
        return "\(directory)/taskscope-\(String(name))-\(pid)-\(time).json"
    }
}

/// Why the UI could not run.
public struct ScopeAppError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

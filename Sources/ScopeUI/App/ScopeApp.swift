import Dispatch
import Foundation
import ScopeClient
import ScopeProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the terminal UI on a source until the user quits (or a restart needs a pick): the
/// runtime around the pure parts. Keys and data become actions, actions change the state and
/// return effects, the state is rendered into a frame, and the terminal thread draws it.
public enum ScopeApp {
    /// How the UI starts.
    public struct Options: Sendable {
        /// Start with this wait-reason filter.
        public var waitFilter: String?
        /// Where `e` writes snapshots.
        public var exportDirectory: String
        /// How often data is fetched.
        public var refresh: Duration
        /// The process to follow when it restarts under a new pid (`attach` without a target),
        /// and the ones not to take for its restart; nil to stay on the process.
        public var follow: RestartFollowing?
        /// Looks up the processes that can be attached to, while the connection to the process
        /// followed is lost (only with ``follow``). Cost: one scan of the socket directory.
        public var discover: @Sendable () async -> [AttachableProcess]

        public init(
            waitFilter: String? = nil, exportDirectory: String = FileManager.default.currentDirectoryPath,
            refresh: Duration = .seconds(1), follow: RestartFollowing? = nil,
            discover: @escaping @Sendable () async -> [AttachableProcess] = {
                await ProcessDiscovery.scan(timeout: .seconds(1)).processes
            }
        ) {
            self.waitFilter = waitFilter
            self.exportDirectory = exportDirectory
            self.refresh = refresh
            self.follow = follow
            self.discover = discover
        }
    }

    /// How the UI ended.
    public enum Outcome: Sendable, Hashable {
        /// The user quit: `q`, F10, a signal, or the terminal went away.
        case quit
        /// The process followed (``Options/follow``) is gone and several new processes took its
        /// place: the caller offers them to pick from, and runs the UI again on the one picked.
        case choose(gone: Int32, among: [AttachableProcess])
    }

    /// Runs until `q`, F10, SIGINT, SIGTERM or SIGHUP, or until the process followed restarted
    /// as several (``Outcome/choose(gone:among:)``); the terminal is restored, and every signal
    /// disposition changed is put back, on every way out.
    ///
    /// - Throws: ``ScopeAppError`` when there is no terminal to draw on.
    @discardableResult
    public static func run(source: any ScopeSource, options: Options = Options()) async throws -> Outcome {
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

        let state = UIState(
            width: size.width, height: size.height, glyphs: Glyphs.forEnvironment(environment), colours: size.colours)
        return await loop(state, source: source, options: options, display: terminal, actions: actions) {
            post.yield($0)
        }
    }

    /// The UI without its terminal: keys and data become actions, `apply` changes the state
    /// and returns its effects, ``EffectRunner`` runs them, and each new frame goes to
    /// `display`. Returns when an effect ends the UI, or `.quit` when `actions` ends (the
    /// task was cancelled).
    static func loop(
        _ initial: UIState, source: any ScopeSource, options: Options, display: any Display,
        actions: AsyncStream<Action>, post: @escaping @Sendable (Action) -> Void
    ) async -> Outcome {
        var state = initial
        state.waitFilter = options.waitFilter
        state.following = options.follow
        if source.isOffline { state.connection = .offline(source.label) }
        let loader = Loader(
            source: source, plan: LoadPlan(state), refresh: options.refresh,
            discover: options.follow == nil ? nil : options.discover, post: post)
        let loading = Task { await loader.run() }
        defer { loading.cancel() }

        var effects = EffectRunner(
            source: source, directory: options.exportDirectory, loader: loader, display: display, post: post)
        defer { effects.cancel() }
        var lastFrame: CellBuffer?
        display.show(Renderer.render(state))
        for await action in actions {
            if let outcome = effects.run(state.apply(action)) { return outcome }
            if effects.repaint { lastFrame = nil }
            let frame = Renderer.render(state)
            if frame != lastFrame {
                display.show(frame)
                lastFrame = frame
            }
        }
        return .quit
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

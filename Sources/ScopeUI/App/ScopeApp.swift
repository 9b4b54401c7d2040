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

        public init(
            waitFilter: String? = nil, exportDirectory: String = FileManager.default.currentDirectoryPath,
            refresh: Duration = .seconds(1)
        ) {
            self.waitFilter = waitFilter
            self.exportDirectory = exportDirectory
            self.refresh = refresh
        }
    }

    /// Runs until `q`, SIGINT or SIGTERM; the terminal is restored on every way out.
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
        let terminal = TerminalThread()
        let size: (width: Int, height: Int, colours: Bool)
        do {
            size = try terminal.start(environment: environment) { post.yield($0) }
        } catch {
            throw ScopeAppError("\(error)")
        }
        defer { terminal.stop() }
        let signals = SignalWatcher { post.yield(.quit) }
        defer { signals.cancel() }

        var state = UIState(
            width: size.width, height: size.height, glyphs: Glyphs.forEnvironment(environment), colours: size.colours)
        state.waitFilter = options.waitFilter
        if source.isOffline { state.connection = .offline(source.label) }
        let plan = LoadPlan(state)
        let loader = Task {
            await Loader(source: source, plan: plan, refresh: options.refresh, post: { post.yield($0) }).run()
        }
        defer { loader.cancel() }

        var lastFrame: CellBuffer?
        var exporting: Task<Void, Never>?
        terminal.show(Renderer.render(state))
        for await action in actions {
            state.apply(action)
            if state.quitRequested { break }
            if state.exportRequested, exporting == nil {
                let path = exportPath(state, directory: options.exportDirectory)
                exporting = Task {
                    do {
                        try await source.export(to: path)
                        post.yield(.exported(.success(path)))
                    } catch {
                        post.yield(.exported(.failure(ExportFailure("\(error)"))))
                    }
                }
            }
            if !state.exportRequested { exporting = nil }
            plan.update(state)
            let frame = Renderer.render(state)
            if frame != lastFrame {
                terminal.show(frame)
                lastFrame = frame
            }
        }
        exporting?.cancel()
    }

    /// `taskscope-<process>-<pid>-<UTC time>.json` in `directory`.
    static func exportPath(_ state: UIState, directory: String) -> String {
        let name = (state.hello?.process ?? "process").map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let pid = state.hello.map { "\($0.pid)" } ?? "0"
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

/// What the loader should fetch, as the state last said.
final class LoadPlan: Sendable {
    struct Plan: Equatable, Sendable {
        var tasks: TaskQuery
        var detail: UInt64?
        var historyLimit: Int
    }

    private let plan: Mutex<Plan>
    private let changed = Atomic<Bool>(true)

    init(_ state: UIState) { plan = Mutex(LoadPlan.plan(for: state)) }

    static func plan(for state: UIState) -> Plan {
        var detail: UInt64?
        if case .detail(let id, _)? = state.overlay { detail = id }
        return Plan(tasks: state.taskQuery, detail: detail, historyLimit: max(120, state.width))
    }

    func update(_ state: UIState) {
        let next = LoadPlan.plan(for: state)
        let different = plan.withLock { plan in
            defer { plan = next }
            return plan != next
        }
        if different { changed.store(true, ordering: .relaxed) }
    }

    /// The plan, and whether it changed since last taken.
    func take() -> (Plan, Bool) {
        (plan.withLock { $0 }, changed.exchange(false, ordering: .relaxed))
    }

    var isChanged: Bool { changed.load(ordering: .relaxed) }
}

/// Fetches what the screens need, every refresh or as soon as the plan changes,
/// and reconnects when the process went away.
struct Loader: Sendable {
    let source: any ScopeSource
    let plan: LoadPlan
    let refresh: Duration
    let post: @Sendable (Action) -> Void

    func run() async {
        var connected = false
        var loadedOffline = false
        while !Task.isCancelled {
            if !connected {
                do {
                    post(.connected(try await source.connect()))
                    connected = true
                } catch {
                    post(.disconnected(error.description))
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
            }
            let (current, planChanged) = plan.take()
            if !source.isOffline || !loadedOffline || planChanged {
                do {
                    try await load(current, everything: !source.isOffline || !loadedOffline || !planChanged)
                    loadedOffline = true
                } catch {
                    if case .server = error {
                    } else {
                        connected = false
                        post(.disconnected(error.description))
                        continue
                    }
                }
            }
            let start = ContinuousClock.now
            while !Task.isCancelled, !plan.isChanged, ContinuousClock.now - start < refresh {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    private func load(_ plan: LoadPlan.Plan, everything: Bool) async throws(ScopeClientError) {
        post(.tasks(try await source.tasks(plan.tasks), for: plan.tasks))
        if let detail = plan.detail { post(.detail(try await source.task(id: detail))) }
        guard everything else { return }
        post(.summary(try await source.summary()))
        post(.history(try await source.history(limit: plan.historyLimit)))
        post(.warnings(try await source.warnings()))
        post(.resources(try await source.resources()))
        post(.groups(try await source.groups(GroupQuery(limit: 500))))
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP into a callback, so the terminal is restored before exit.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    init(_ handler: @escaping @Sendable () -> Void) {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}

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
        var screen: Screen
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
        return Plan(screen: state.screen, tasks: state.taskQuery, detail: detail, historyLimit: max(120, state.width))
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

    /// What a refresh fetches: what the screen shows every time, the rest every `fullEvery`
    /// refreshes. The aggregates (warnings, groups, resources) visit every task in the agent,
    /// so a UI left open on a million tasks costs the host what it looks at, not all of it.
    static func parts(for plan: Plan, refresh: Int, fullEvery: Int = 5) -> Set<Loader.Part> {
        if refresh % fullEvery == 0 { return Set(Loader.Part.allCases) }
        var parts: Set<Loader.Part> = [.summary, .history]
        switch plan.screen {
        case .overview, .warnings: parts.insert(.warnings)
        case .tasks: parts.insert(.tasks)
        case .groups: parts.insert(.groups)
        case .resources: parts.insert(.resources)
        }
        if plan.detail != nil { parts.formUnion([.tasks, .detail]) }
        return parts
    }

    /// What a change of plan needs at once: a new screen's data, or a new page of tasks.
    static func parts(changingFrom old: Plan?, to new: Plan) -> Set<Loader.Part> {
        guard let old else { return Set(Loader.Part.allCases) }
        var parts: Set<Loader.Part> = []
        if old.screen != new.screen { parts = LoadPlan.parts(for: new, refresh: 1) }
        if old.tasks != new.tasks || old.detail != new.detail { parts.formUnion([.tasks, .detail]) }
        if old.historyLimit != new.historyLimit { parts.insert(.history) }
        return parts
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

    /// One kind of data the screens show.
    enum Part: CaseIterable, Hashable, Sendable {
        case summary, history, tasks, detail, warnings, resources, groups
    }

    func run() async {
        var connected = false
        var loadedOffline = false
        var refreshes = 0
        var loaded: LoadPlan.Plan?
        while !Task.isCancelled {
            if !connected {
                do {
                    post(.connected(try await source.connect()))
                    connected = true
                    loaded = nil
                } catch {
                    post(.disconnected(error.description))
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
            }
            let (current, planChanged) = plan.take()
            // A snapshot is read once whole, then only as the plan changes; a live process is
            // asked every refresh for what is on screen, and at once for what a key asked for.
            let parts: Set<Part>
            if source.isOffline {
                parts = !loadedOffline ? Set(Part.allCases) : planChanged ? [.tasks, .detail] : []
            } else if planChanged, loaded != nil {
                parts = LoadPlan.parts(changingFrom: loaded, to: current)
            } else {
                parts = loaded == nil ? Set(Part.allCases) : LoadPlan.parts(for: current, refresh: refreshes)
                refreshes += 1
            }
            if !parts.isEmpty {
                do {
                    try await load(current, parts)
                    loadedOffline = true
                    loaded = current
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

    private func load(_ plan: LoadPlan.Plan, _ parts: Set<Part>) async throws(ScopeClientError) {
        if parts.contains(.tasks) { post(.tasks(try await source.tasks(plan.tasks), for: plan.tasks)) }
        if parts.contains(.detail), let detail = plan.detail { post(.detail(try await source.task(id: detail))) }
        if parts.contains(.summary) { post(.summary(try await source.summary())) }
        if parts.contains(.history) { post(.history(try await source.history(limit: plan.historyLimit))) }
        if parts.contains(.warnings) { post(.warnings(try await source.warnings())) }
        if parts.contains(.resources) { post(.resources(try await source.resources())) }
        if parts.contains(.groups) { post(.groups(try await source.groups(GroupQuery(limit: 500)))) }
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

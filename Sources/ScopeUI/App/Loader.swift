import ScopeClient
import ScopeProtocol
import Synchronization

/// Fetches what the screens need: at once when the plan changes or another process is
/// followed, and every refresh; reconnects when the process went away. It sleeps between:
/// a wake-up (a new plan, a new source, the refresh timer) is what makes it work.
final class Loader: Sendable {
    private struct Inbox {
        var plan: LoadPlan
        var planChanged = false
        var source: any ScopeSource
        var sourceChanged = false
    }

    private let inbox: Mutex<Inbox>
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let refresh: Duration
    private let discover: (@Sendable () async -> [AttachableProcess])?
    private let post: @Sendable (Action) -> Void

    /// - Parameters:
    ///   - discover: while the connection is lost, looks up the processes that can be attached to
    ///     (their list comes to the state as ``Action/discovered(_:)``, which decides whether to
    ///     follow one); nil not to look.
    init(
        source: any ScopeSource, plan: LoadPlan, refresh: Duration,
        discover: (@Sendable () async -> [AttachableProcess])? = nil, post: @escaping @Sendable (Action) -> Void
    ) {
        inbox = Mutex(Inbox(plan: plan, source: source))
        // One pending wake-up is enough: the inbox says what changed.
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.refresh = refresh
        self.discover = discover
        self.post = post
    }

    /// A new plan: fetched at once when it differs from the last.
    func update(_ plan: LoadPlan) {
        let changed = inbox.withLock { inbox in
            guard inbox.plan != plan else { return false }
            inbox.plan = plan
            inbox.planChanged = true
            return true
        }
        if changed { wake.yield() }
    }

    /// Another source from now on: connected to and read whole at once.
    func follow(_ source: any ScopeSource) {
        inbox.withLock { inbox in
            inbox.source = source
            inbox.sourceChanged = true
        }
        wake.yield()
    }

    /// What the loader knows of its source between wake-ups.
    private struct Session {
        var connected = false
        var loaded: LoadPlan?
        var refreshes = 0
    }

    /// Runs until cancelled.
    func run() async {
        let timer = Task { [wake, refresh] in
            while !Task.isCancelled {
                try? await Task.sleep(for: refresh)
                wake.yield()
            }
        }
        defer { timer.cancel() }
        wake.yield()
        var session = Session()
        for await _ in wakes {
            if Task.isCancelled { break }
            await step(&session)
        }
    }

    /// One wake-up's work.
    private func step(_ session: inout Session) async {
        let (plan, planChanged, source, sourceChanged) = inbox.withLock { inbox in
            defer {
                inbox.planChanged = false
                inbox.sourceChanged = false
            }
            return (inbox.plan, inbox.planChanged, inbox.source, inbox.sourceChanged)
        }
        if sourceChanged { session = Session() }
        if !session.connected {
            do {
                post(.connected(try await source.connect()))
                session.connected = true
                session.loaded = nil
            } catch {
                post(.disconnected(error.description))
                if let discover, !source.isOffline { post(.discovered(await discover())) }
                return
            }
        }
        // A snapshot is read once whole, then only as the plan changes; a live process is
        // asked every refresh for what is on screen, and at once for what a key asked for.
        let parts: Set<LoadPlan.Part>
        if session.loaded == nil {
            parts = Set(LoadPlan.Part.allCases)
            session.refreshes += 1
        } else if planChanged {
            parts = LoadPlan.parts(changingFrom: session.loaded, to: plan)
        } else if source.isOffline {
            parts = []
        } else {
            parts = LoadPlan.parts(for: plan, refresh: session.refreshes)
            session.refreshes += 1
        }
        guard !parts.isEmpty else { return }
        do {
            try await load(plan, parts, from: source)
            session.loaded = plan
        } catch {
            if case .server = error { return }
            session.connected = false
            post(.disconnected(error.description))
            wake.yield()  // try to reconnect at once
        }
    }

    private func load(
        _ plan: LoadPlan, _ parts: Set<LoadPlan.Part>, from source: any ScopeSource
    ) async throws(ScopeClientError) {
        if parts.contains(.tasks) { post(.tasks(try await source.tasks(plan.tasks), for: plan.tasks)) }
        if parts.contains(.detail), let detail = plan.detail {
            post(.detail(try await source.task(id: detail)))
            let stacks = try await source.stacks(StackQuery(ids: [detail]))
            post(.detailStack(DetailStack(taskID: detail, list: stacks)))
        }
        if parts.contains(.summary) { post(.summary(try await source.summary())) }
        if parts.contains(.history) { post(.history(try await source.history(limit: plan.historyLimit))) }
        if parts.contains(.warnings) { post(.warnings(try await source.warnings())) }
        if parts.contains(.resources) { post(.resources(try await source.resources())) }
        if parts.contains(.groups) { post(.groups(try await source.groups(plan.groups))) }
        // Stacks are read from every waiting task: only while Groups by stack is on screen.
        if parts.contains(.stacks), plan.groupsByStack {
            post(.stackGroups(try await source.stacks(StackQuery(wait: plan.groups.wait, limit: 500))))
        }
    }
}

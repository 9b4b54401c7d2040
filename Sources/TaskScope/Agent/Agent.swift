import Foundation
import Logging
import NIOCore
import NIOPosix
import ScopeProtocol
import Synchronization

/// A running agent: the sampler and the socket server around the registry, on one
/// event-loop thread of its own and a few query threads (``queries``), so that the host's
/// threads are never used.
final class Agent: Sendable {
    let registry: Registry
    let sampler: Sampler
    let configuration: TaskScope.Configuration
    let socketPath: String
    let logger: Logger
    let pid: Int32
    let processName: String
    /// The hello line every connection gets first, encoded once: it never changes, and a
    /// flood of connections should cost the event loop as little as each can.
    let helloLine: [UInt8]
    /// Monotonic nanoseconds when the agent started.
    let startedAt: UInt64
    let rules: LeakRules
    /// The warnings of the last pass of the rules, for summaries.
    private let lastWarnings = Mutex<[Warning]>([])
    /// When the rules pass over every task next.
    private let rulePasses: Mutex<RulePassSchedule>
    private let group: MultiThreadedEventLoopGroup
    /// Where heavy requests and rule passes run, off the event loop, `maxConcurrentQueries` at once.
    let queries: NIOThreadPool
    /// The last stall of the cooperative pool, for `blocked-executor`.
    let stalls = StallLog()
    /// The async stacks of waiting tasks, read when asked; nil when turned off.
    let stacks: AsyncStacks?
    /// The clients served now, and how many may be.
    let clients: ClientLimit
    /// The connections served, for a new client to take the place of one doing nothing with it.
    let connections: NIOLoopBoundBox<ConnectionTable>
    /// The bytes written to clients and not yet sent.
    let output = OutputLedger()
    /// Snapshots streaming now, over all clients (at most `maxConcurrentSnapshots`).
    let snapshotsStreaming = Atomic<Int>(0)
    /// Set while a rule pass the sampler started runs on the query threads.
    private let rulePassRunning = Atomic<Bool>(false)
    private let serverChannel: any Channel
    private let sampling: RepeatedTask
    private let socketIdentity: FileIdentity?

    private init(
        registry: Registry, sampler: Sampler, configuration: TaskScope.Configuration, socketPath: String,
        logger: Logger, startedAt: UInt64, group: MultiThreadedEventLoopGroup, queries: NIOThreadPool,
        clients: ClientLimit, connections: NIOLoopBoundBox<ConnectionTable>, serverChannel: any Channel,
        sampling: RepeatedTask, socketIdentity: FileIdentity?, rules: LeakRules, rulePasses: RulePassSchedule
    ) {
        self.rules = rules
        self.rulePasses = Mutex(rulePasses)
        self.registry = registry
        self.sampler = sampler
        self.configuration = configuration
        self.socketPath = socketPath
        self.logger = logger
        self.pid = getpid()
        self.processName = ProcessInfo.processInfo.processName
        self.startedAt = startedAt
        self.group = group
        self.queries = queries
        self.stacks = configuration.stackDepth.map { AsyncStacks(depth: $0) }
        self.clients = clients
        self.connections = connections
        self.serverChannel = serverChannel
        self.sampling = sampling
        self.socketIdentity = socketIdentity
        self.helloLine = Wire.line(
            Hello(
                agentVersion: TaskScope.version, pid: pid, process: processName,
                started: registry.clock.wall(startedAt), interval: configuration.sampleInterval.seconds,
                maxLineBytes: configuration.maxLineBytes))
    }

    /// Prepares the socket path, binds it and starts sampling.
    static func start(
        registry: Registry, configuration: TaskScope.Configuration, location: SocketLocation = SocketLocation(),
        rulePasses: RulePassSchedule = RulePassSchedule()
    ) throws(TaskScopeError) -> Agent {
        let logger = configuration.logger
        let path = configuration.socketPath ?? location.socketPath(forPID: getpid())
        guard path.utf8.count < 104 else {
            throw TaskScopeError("socket path \(path) is longer than a unix socket path may be (103 bytes)")
        }
        let directory = SocketFile.parentDirectory(of: path)
        let chosenPath = configuration.socketPath ?? location.explicitSocket
        try SocketFile.prepareDirectory(directory, owned: chosenPath == nil)
        try SocketFile.clearStale(path)

        let startedAt = AgentClock.precise()
        let probe = configuration.executorLagInterval.map { _ in ExecutorLagProbe(clock: registry.clock) }
        let sampler = Sampler(
            capacity: configuration.historyCapacity, interval: configuration.sampleInterval, lagProbe: probe)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let queries = NIOThreadPool(numberOfThreads: configuration.maxConcurrentQueries)
        queries.start()
        // Half of the descriptors free now, before the agent opens any of its own.
        let clients = ClientLimit(configured: configuration.maxClients)
        let connections = NIOLoopBoundBox.makeBoxSendingValue(
            ConnectionTable(thresholds: configuration.placeThresholds), eventLoop: group.next())
        let pending = PendingAgent()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            // A backlog of connecting clients is taken a few at a time (NIO takes 4 per turn),
            // so that a person queued behind a flood waits few turns; but at most a quarter of
            // the places change hands per turn, so that a newcomer accepted in one turn has had
            // its request read (on a later turn) before enough others could take its place.
            .serverChannelOption(.maxMessagesPerRead, value: UInt(max(1, min(16, clients.cap / 4))))
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoff(logger: logger))
                }
            }
            .childChannelInitializer { channel in
                guard let agent = pending.agent else {
                    return channel.close()
                }
                return agent.accept(channel)
            }
        let serverChannel: any Channel
        do {
            serverChannel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? queries.syncShutdownGracefully()
            throw TaskScopeError("cannot serve on \(path): \(error)")
        }
        guard chmod(path, 0o600) == 0 else {
            let reason = String(cString: strerror(errno))
            serverChannel.close(promise: nil)
            try? group.syncShutdownGracefully()
            try? queries.syncShutdownGracefully()
            unlink(path)
            throw TaskScopeError("cannot make socket \(path) private (mode 0600): \(reason)")
        }
        let loop = group.next()
        let interval = TimeAmount.nanoseconds(Int64(clamping: configuration.sampleInterval.nanoseconds))
        let rules = LeakRules(settings: configuration.rules.applyingEnvironment(location.environment))
        sampler.sample(registry)
        // The rules visit every live task, so the sampler runs them when `rulePasses` says
        // (about every tick, less often with very many tasks); a client that asks gets them fresh.
        let probeInterval = configuration.executorLagInterval.map {
            TimeAmount.nanoseconds(Int64(clamping: max($0.nanoseconds, 1_000_000)))
        }
        let sampling = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let counts = sampler.sample(registry)
            // The probe goes out from the event loop, which no blocked cooperative thread holds up.
            if let probe = sampler.lagProbe, let probeInterval { probe.tick(on: loop, every: probeInterval) }
            if let agent = pending.agent, agent.isRulePassDue { agent.startRulePass() }
            if let agent = pending.agent, SamplerTicks.isObserved { SamplerTicks.notify(agent, counts: counts) }
        }
        let agent = Agent(
            registry: registry, sampler: sampler, configuration: configuration, socketPath: path, logger: logger,
            startedAt: startedAt, group: group, queries: queries, clients: clients, connections: connections,
            serverChannel: serverChannel, sampling: sampling,
            socketIdentity: SocketFile.identity(path), rules: rules, rulePasses: rulePasses)
        pending.agent = agent
        agent.stacks?.startSelfTest(logger: logger)
        // A stall's tasks are read on the query threads (no cooperative thread is free then), their
        // frames named on a queue of their own (naming builds symbol tables the first time).
        let stalls = agent.stalls
        let signals = configuration.samplesBlockedThreads
        if probe != nil { CurrentTaskReader.shared.start(logger: logger) }
        probe?.watchStalls(
            threshold: rules.settings.blockedExecutor,
            began: { began in
                guard stalls.mayCapture(now: registry.clock.now()) else { return }
                stalls.capture(
                    began,
                    submit: { work in
                        queries.submit { state in
                            if case .active = state { work() }
                        }
                    }
                ) { StallLog.capture(registry, began: began, signals: signals) }
            },
            ended: { began, ended in stalls.ended(began, at: ended) })
        agent.refreshWarnings()
        ExitCleanup.register(path: path, identity: agent.socketIdentity)
        logger.info("taskscope agent serving", metadata: ["socket": "\(path)"])
        return agent
    }

    /// Closes every connection, stops sampling and removes the socket.
    func stop() {
        sampling.cancel()
        SocketFile.remove(socketPath, ifStill: socketIdentity)
        ExitCleanup.unregister()
        serverChannel.close(promise: nil)
        do {
            // The query threads first: a query that finishes hands its reply to the loop.
            try queries.syncShutdownGracefully()
            try group.syncShutdownGracefully()
        } catch {
            logger.warning("taskscope agent did not shut down cleanly: \(error)")
        }
        logger.info("taskscope agent stopped", metadata: ["socket": "\(socketPath)"])
    }

    /// Sets up a new connection after checking who is on the other end; one over the cap
    /// of clients is told so and closed.
    private func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        let short = clients.isHostShortOfDescriptors()
        var admitted = !short && clients.admit()
        // Full: the connection doing least with its place gives it up (it asked nothing, left its
        // output unread, or went idle), so that a flood of them cannot lock everyone out.
        while !admitted, !short, let (victim, standing) = connections.value.evictionCandidate() {
            if victim.evict(as: standing) {
                clients.admitInPlaceOfEvicted()
                admitted = true
            }
        }
        guard admitted else {
            if clients.noteRefusal() {
                logger.warning(
                    short
                        ? "taskscope refused a client: the process is short of descriptors"
                        : "taskscope refused a client: too many clients",
                    metadata: ["max_clients": "\(clients.cap)", "clients": "\(clients.current)"])
            }
            let message =
                short
                ? "the process is short of descriptors; try again later"
                : "the agent serves \(clients.cap) client\(clients.cap == 1 ? "" : "s") at most; try again when one has gone"
            return channel.eventLoop.makeCompletedFuture(withResultOf: {
                try channel.pipeline.syncOperations.addHandler(RefusalHandler(message: message))
            })
        }
        channel.closeFuture.whenComplete { _ in self.clients.release() }
        return PeerCredentials.check(channel, logger: logger).flatMapThrowing { allowed in
            guard allowed else { throw ChannelError.inputClosed }
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: self.configuration.maxLineBytes)))
            try sync.addHandler(ConnectionHandler(agent: self))
        }
    }

    // MARK: What connections read

    /// What ``helloLine`` says, and the reply to a `hello` request.
    var hello: Hello {
        Hello(
            agentVersion: TaskScope.version, pid: pid, process: processName,
            started: registry.clock.wall(startedAt), interval: configuration.sampleInterval.seconds,
            maxLineBytes: configuration.maxLineBytes)
    }

    var processDescription: ProcessDescription {
        ProcessDescription(
            pid: pid, name: processName, agentVersion: TaskScope.version, started: registry.clock.wall(startedAt))
    }

    /// Tracked resources matching `query`, orphans first, then by id.
    func resources(_ query: ResourceQuery) -> ResourceList {
        var all = registry.resources.reports(registry.reportContext())
        if let kind = query.kind { all.removeAll { $0.kind != kind } }
        if query.orphanedOnly { all.removeAll { !$0.orphaned } }
        all.sort { lhs, rhs in lhs.orphaned != rhs.orphaned ? lhs.orphaned : lhs.id < rhs.id }
        let start = min(query.offset, all.count)
        let end = min(start + query.limit, all.count)
        return ResourceList(total: all.count, resources: Array(all[start..<end]))
    }

    /// One page of tasks; with a `rule` filter, the tasks the rule holds for now (its warnings
    /// are evaluated for it when the rule names resources or sites).
    func page(_ query: TaskQuery) -> TaskPage {
        // The resources made where the query says (a folded warning's), found once.
        let madeAt = query.resourceSite.map { site in
            Set(
                registry.resources.reports(registry.reportContext()).lazy.filter {
                    $0.site.file == site.file && $0.site.line == site.line
                }.map(\.id))
        }
        guard let rule = query.rule else { return registry.page(query, madeAt: madeAt) }
        let warnings: [Warning]
        var orphaned: Set<UInt64> = []
        switch rule {
        case .stuckWait:
            // Its pile-ups, whose tasks are decided by the rule's memory of the site.
            warnings = currentWarnings().filter { $0.rule == .stuckWait && $0.since != nil }
            let reports = registry.resources.reports(registry.reportContext())
            orphaned = Set(reports.lazy.filter(\.orphaned).map(\.id))
        case .ignoredCancellation:
            warnings = []
        case .orphanedChannel, .orphanedTimer, .leakedContinuation:
            // Unfolded: a warning folding many resources names each of them here.
            warnings = rules.evaluate(
                registry: registry, samples: sampler.samples, observingCancellation: false, folding: false)
        case .runawaySpawn, .leakedWaitGroup, .leakedPermit, .deadlock, .blockedForever, .abandonedChannel,
            .blockedExecutor:
            warnings = currentWarnings()
        }
        let filter = RuleFilter(
            rule: rule, settings: rules.settings, warnings: warnings, orphaned: orphaned, clock: registry.clock)
        return registry.page(query, rule: filter, madeAt: madeAt)
    }

    /// The leak warnings, evaluated now.
    func evaluateWarnings(observingCancellation: Bool) -> [Warning] {
        var warnings = rules.evaluate(
            registry: registry, samples: sampler.samples, observingCancellation: observingCancellation)
        if sampler.lagProbe != nil, rules.settings.isOn(.blockedExecutor) {
            warnings += BlockedExecutorRule(threshold: rules.settings.blockedExecutor).warnings(
                stalls, clock: registry.clock, now: registry.clock.now())
        }
        return warnings
    }

    /// The leak warnings for a request, evaluated now. It uses the cancellations the last pass
    /// saw while they are recent (within the passes' usual interval, and the rule waits longer
    /// than that anyway): asking a million tasks again per request would double its cost.
    /// When they are older (the sampler backs off when passes are long), it makes the pass.
    func currentWarnings() -> [Warning] {
        if rulePasses.withLock({ $0.isStale(now: registry.clock.now()) }) {
            return refreshWarnings()
        }
        return evaluateWarnings(observingCancellation: false)
    }

    /// Starts a rule pass on the query threads unless the sampler's last one still runs.
    func startRulePass() {
        guard !rulePassRunning.exchange(true, ordering: .acquiring) else { return }
        queries.submit { state in
            if case .active = state { self.refreshWarnings() }
            self.rulePassRunning.store(false, ordering: .releasing)
        }
    }

    /// When the last rule pass ended (the registry's clock), 0 before the first.
    var lastRulePass: UInt64 { rulePasses.withLock { $0.lastPass } }

    /// Whether the sampler should pass the rules over every task now: on the short schedule while
    /// someone watches, on the long one otherwise (see ``RulePassSchedule``).
    var isRulePassDue: Bool {
        // Watched: a client is connected, or the ticks of this agent (the process's) are observed.
        let watched = clients.current > 0 || (SamplerTicks.isObserved && TaskScope.runningAgent === self)
        return rulePasses.withLock { $0.isDue(now: registry.clock.now(), watched: watched) }
    }

    /// Evaluates the rules, asking every task whether it was cancelled, keeps the result for
    /// summaries, and schedules the next pass by how long this one took.
    @discardableResult
    func refreshWarnings() -> [Warning] {
        let start = AgentClock.precise()
        let warnings = evaluateWarnings(observingCancellation: true)
        let end = AgentClock.precise()
        lastWarnings.withLock { $0 = warnings }
        // The schedule runs on the coarse clock (the sampler's); the duration is the precise one.
        rulePasses.withLock { $0.passed(endingAt: registry.clock.now(), taking: end - start) }
        return warnings
    }

    /// The warnings of the last evaluation.
    var cachedWarnings: [Warning] { lastWarnings.withLock { $0 } }

    /// Live counts, with warning counts from `warnings` (the last tick's when `nil`), from
    /// `counts` when the caller has just taken them.
    func summary(warnings: [Warning]? = nil, counts: Counts? = nil) -> Summary {
        let counts = counts ?? registry.counts()
        // The clock of the rows (coarse), so that a summary's `capturedAt` and a page's agree.
        let now = registry.clock.now()
        return Summary(
            pid: pid, process: processName, capturedAt: registry.clock.capturedAt(now),
            uptime: AgentClock.seconds(from: startedAt, to: now),
            tasks: .init(active: counts.active, waiting: counts.waiting, finished: counts.finished),
            totals: counts.totals, waits: counts.waits, interval: configuration.sampleInterval.seconds,
            warnings: Dictionary((warnings ?? cachedWarnings).map { ($0.rule.rawValue, 1) }, uniquingKeysWith: +),
            resources: registry.resources.countsByKind(),
            executorLag: sampler.lagProbe.map { milliseconds(Double($0.current(now: now)) / 1e9) })
    }
}

/// Hands the agent to connection set-up once it exists; connections that
/// arrive in the instant before are closed.
private final class PendingAgent: Sendable {
    private let value = Mutex<Agent?>(nil)
    var agent: Agent? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Removes the socket when the process exits normally without `TaskScope.stop()`.
enum ExitCleanup {
    private static let socket = Mutex<(path: String, identity: FileIdentity?)?>(nil)
    private static let installed = Atomic<Bool>(false)

    static func register(path: String, identity: FileIdentity?) {
        socket.withLock { $0 = (path, identity) }
        if !installed.exchange(true, ordering: .relaxed) {
            atexit { ExitCleanup.run() }
        }
    }

    static func unregister() {
        socket.withLock { $0 = nil }
    }

    private static func run() {
        if let (path, identity) = socket.withLock({ $0 }) {
            SocketFile.remove(path, ifStill: identity)
        }
    }
}

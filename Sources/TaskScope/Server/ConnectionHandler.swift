import Logging
import NIOCore
import ScopeProtocol

/// Serves protocol v1 on one connection: answers requests in the order received, streams
/// snapshots as the peer reads them, and pushes summaries to subscribers.
///
/// Runs on the agent's event loop. Cheap requests are answered there; heavy ones (task
/// pages, groups, resources, warnings, a snapshot's set-up) run on the agent's query
/// threads, one at a time per connection, while the loop serves everyone else.
///
/// What a client holds is bounded: its queued requests (``maxQueuedRequestBytes``; the
/// connection is not read from beyond that), and its queued output (no request is served,
/// no snapshot chunk made and nothing read while `maxPendingOutputBytes` or more waits; a
/// summary push is skipped while the previous one is unsent). A client that leaves output unread with no
/// write completing for `stalledClientTimeout` is dropped, and one that sends no request
/// within `firstRequestTimeout` is closed. When every place is taken, the connection may
/// give its place to a new client if it is doing nothing with it (``standing(now:thresholds:)``).
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LineFrame
    typealias OutboundOut = ByteBuffer

    /// Request bytes received and not yet served above which the connection is not read from.
    static let maxQueuedRequestBytes = 64 << 10
    /// The most bytes written at once: a write that completes is the stall clock's sign of progress.
    static let writeSlice = 64 << 10
    /// A write that took longer than this to go out waited for the peer to read.
    static let writeWaited = TimeAmount.milliseconds(1)

    private let agent: Agent
    private var subscription: Scheduled<Void>?
    private var snapshot: SnapshotStream?
    /// Set from a snapshot's request until its last chunk (or the connection's end): it
    /// counts among the agent's `snapshotsStreaming`.
    private var holdsSnapshotPlace = false
    /// Set when output reached the limit: serving, streaming and reading resume once it
    /// drains to a quarter of it.
    private var paused = false
    /// Set while the snapshot's next chunks wait for the loop's next turn.
    private var pumpScheduled = false
    /// Requests received and not yet served, in order.
    private var requests = CircularBuffer<LineFrame>()
    private var queuedRequestBytes = 0
    /// Set while one of this connection's heavy requests runs on the query threads.
    private var queryRunning = false
    /// Whether the connection is being read from (its `autoRead`).
    private var reading = true
    /// Bytes written to the channel and not yet sent to the peer.
    private var queuedOutput = 0
    /// Set while a summary push is queued, so that the next one is skipped instead of queued.
    private var pushUnsent = false
    /// When a write last completed (or output started waiting): the stall clock's start.
    private var lastProgress = NIODeadline.now()
    private var stallCheck: Scheduled<Void>?
    private var firstRequestDeadline: Scheduled<Void>?
    /// When the connection came, and when it last sent a request: its standing when the agent
    /// is full (see ``ConnectionTable``).
    private let connectedAt = NIODeadline.now()
    private var lastRequest: NIODeadline?
    /// Whether the client has sent a request (a complete line).
    var hasAsked: Bool { lastRequest != nil }
    /// When the peer was last seen reading: it had read everything it was sent, or a write
    /// that had waited for it to read completed.
    private var peerReadAt = NIODeadline.now()
    /// Kept to close the connection when another client takes its place.
    private var context: ChannelHandlerContext?

    init(agent: Agent) { self.agent = agent }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        agent.connections.value.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        agent.connections.value.remove(self)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        write(agent.helloLine, context: context)
        context.flush()
        let timeout = TimeAmount(agent.configuration.firstRequestTimeout)
        firstRequestDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.firstRequestDeadline = nil
            self.agent.logger.debug("taskscope closed a client that sent no request in time")
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for timer in [subscription, stallCheck, firstRequestDeadline] { timer?.cancel() }
        subscription = nil
        stallCheck = nil
        firstRequestDeadline = nil
        snapshot = nil
        releaseSnapshotPlace()
        requests.removeAll()
        queuedRequestBytes = 0
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .line(let line) = frame {
            // Blank lines are ignored, as in a shell.
            guard line.readableBytesView.contains(where: { !Self.isJSONWhitespace($0) }) else { return }
            queuedRequestBytes += line.readableBytes
        }
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
        lastRequest = .now()
        requests.append(frame)
        serveQueued(context: context)
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        agent.logger.debug("taskscope connection closed on error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Flow control

    /// Serves queued requests in order while the peer keeps up and none runs elsewhere.
    private func serveQueued(context: ChannelHandlerContext) {
        while !queryRunning, context.channel.isActive, hasRoom, let frame = requests.popFirst() {
            switch frame {
            case .tooLong:
                let limit = agent.configuration.maxLineBytes
                send(
                    ErrorReply(id: nil, error: .init(.lineTooLong, "a request line may be at most \(limit) bytes")),
                    context: context)
                context.flush()
                requests.removeAll()
                context.close(promise: nil)
                return
            case .line(let line):
                queuedRequestBytes -= line.readableBytes
                handle(line, context: context)
            }
        }
        context.flush()
        updateReading(context: context)
    }

    /// Whether the client's queued output is under the limit, so that more may be queued:
    /// one more reply, chunk or push, so it holds at most the limit and one of them.
    private var hasRoom: Bool { queuedOutput < agent.configuration.maxPendingOutputBytes }

    /// Reads from the peer only while its output and its queued requests are within bounds.
    private func updateReading(context: ChannelHandlerContext) {
        let read = hasRoom && queuedRequestBytes < Self.maxQueuedRequestBytes
        guard read != reading, context.channel.isActive else { return }
        reading = read
        try? context.channel.syncOptions?.setOption(.autoRead, value: read)
    }

    /// Writes `bytes`, counting them as queued until they are sent (then `onSent` runs). A long
    /// reply goes in slices, so that a client reading it slowly is seen to make progress.
    private func write(_ bytes: [UInt8], context: ChannelHandlerContext, onSent: (() -> Void)? = nil) {
        let queuedAt = NIODeadline.now()
        if queuedOutput == 0 {
            lastProgress = queuedAt
            _ = hasPeerReadEverything(now: queuedAt)
        }
        queuedOutput += bytes.count
        agent.output.queued(bytes.count, clientTotal: queuedOutput)
        if !hasRoom { paused = true }
        armStallCheck(context: context)
        var start = 0
        repeat {
            let end = min(start + Self.writeSlice, bytes.count)
            let (count, isLast) = (end - start, end == bytes.count)
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { _ in
                self.queuedOutput -= count
                self.agent.output.sent(count)
                self.lastProgress = .now()
                // A write that waited (beyond the flush of the turn it was made in) went out
                // because the peer read what was before it.
                if self.lastProgress - queuedAt > Self.writeWaited { self.peerReadAt = self.lastProgress }
                if isLast { onSent?() }
                self.resumeIfDrained(context: context)
            }
            context.write(wrapOutboundOut(ByteBuffer(bytes: bytes[start..<end])), promise: promise)
            start = end
        } while start < bytes.count
    }

    /// Resumes what the limit paused once output is down to a quarter of it. From the event
    /// loop, not here: a write completes inside a flush, which serving would re-enter.
    private func resumeIfDrained(context: ChannelHandlerContext) {
        guard paused, queuedOutput <= agent.configuration.maxPendingOutputBytes / 4 else { return }
        paused = false
        context.eventLoop.assumeIsolated().execute {
            self.pumpSnapshot(context: context)
            self.serveQueued(context: context)
        }
    }

    private func send(_ message: some Encodable, context: ChannelHandlerContext) {
        write(Wire.line(message), context: context)
    }

    /// Drops the client once output has waited with no write completing for `stalledClientTimeout`.
    private func armStallCheck(context: ChannelHandlerContext) {
        guard stallCheck == nil, context.channel.isActive else { return }
        let timeout = TimeAmount(agent.configuration.stalledClientTimeout)
        stallCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastProgress + timeout) {
            self.stallCheck = nil
            guard context.channel.isActive, self.queuedOutput > 0 else { return }
            guard NIODeadline.now() >= self.lastProgress + timeout else {
                self.armStallCheck(context: context)
                return
            }
            self.agent.logger.warning(
                "taskscope dropped a client that stopped reading",
                metadata: [
                    "stalled_for": "\(self.agent.configuration.stalledClientTimeout)",
                    "unsent_bytes": "\(self.queuedOutput)",
                ])
            context.close(promise: nil)
        }
    }

    // MARK: Places

    /// Whether the peer has read all it was sent (nothing queued here or in the kernel); if so,
    /// that is noted as the last time it was seen reading.
    private func hasPeerReadEverything(now: NIODeadline) -> Bool {
        guard queuedOutput == 0, let channel = context?.channel,
            SocketQueues.unreadByPeer(channel) ?? 0 == 0
        else { return false }
        peerReadAt = now
        return true
    }

    /// Whether this connection may give up its place to a new client now, and since when;
    /// `nil` while it is being served (see ``ConnectionTable/Standing``).
    func standing(
        now: NIODeadline, thresholds: ConnectionTable.Thresholds
    ) -> (ConnectionTable.Standing, NIODeadline)? {
        guard let context, context.channel.isActive else { return nil }
        let readEverything = hasPeerReadEverything(now: now)
        guard let lastRequest else {
            // Its hello unread and nothing asked.
            if !readEverything { return (.silent, connectedAt) }
            return now - connectedAt >= thresholds.unproven ? (.unproven, connectedAt) : nil
        }
        if !readEverything { return now - peerReadAt >= thresholds.stuck ? (.stuck, peerReadAt) : nil }
        let idle = requests.isEmpty && !queryRunning && snapshot == nil && subscription == nil
        return idle && now - lastRequest >= thresholds.quiet ? (.quiet, lastRequest) : nil
    }

    /// Closes the connection to make room for a new client, telling it why in one error line;
    /// false when it was closing already. It leaves the table at once, so that it is never
    /// chosen twice.
    func evict(as standing: ConnectionTable.Standing) -> Bool {
        agent.connections.value.remove(self)
        guard let context, context.channel.isActive else { return false }
        let cap = agent.clients.cap
        let error = ErrorReply(
            id: nil,
            error: .init(
                .tooManyClients,
                "the agent serves \(cap) client\(cap == 1 ? "" : "s") at most, and closed this one for a new client: \(standing.reason)"
            ))
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Wire.line(error))), promise: nil)
        context.close(promise: nil)
        return true
    }

    // MARK: Requests

    private func handle(_ line: ByteBuffer, context: ChannelHandlerContext) {
        let parsed: RequestLine
        switch RequestLine.parse(line.readableBytesView) {
        case .failure(let failure):
            send(ErrorReply(id: failure.id, error: failure.error), context: context)
            return
        case .success(let request):
            parsed = request
        }
        let id = parsed.id
        switch parsed.request {
        case .hello:
            send(Reply(id: id, result: agent.hello), context: context)
        case .summary:
            send(Reply(id: id, result: agent.summary()), context: context)
        case .tasks(let query):
            runQuery(context: context) { Wire.line(Reply(id: id, result: $0.page(query))) }
        case .task(let taskID):
            if let detail = agent.registry.detail(id: taskID) {
                send(Reply(id: id, result: detail), context: context)
            } else {
                send(
                    ErrorReply(
                        id: id, error: .init(.notFound, "no task \(taskID) (finished too long ago, or never existed)")),
                    context: context)
            }
        case .resources(let query):
            runQuery(context: context) { Wire.line(Reply(id: id, result: $0.resources(query))) }
        case .groups(let query):
            runQuery(context: context) { Wire.line(Reply(id: id, result: $0.registry.groups(query))) }
        case .stacks(let query):
            runQuery(context: context) { agent in
                let list =
                    agent.stacks?.list(agent.registry, query)
                    ?? StackList(unavailable: "stacks are turned off (Configuration.stackDepth is nil)")
                return Wire.line(Reply(id: id, result: list))
            }
        case .warnings:
            runQuery(context: context) { Wire.line(Reply(id: id, result: WarningList(warnings: $0.currentWarnings()))) }
        case .history(let limit):
            send(Reply(id: id, result: agent.sampler.history(limit: limit)), context: context)
        case .snapshot(let options):
            startSnapshot(id: id, options: options, context: context)
        case .subscribe(let interval):
            subscribe(
                id: id, interval: interval.map { Duration.seconds($0) } ?? agent.sampler.interval, context: context)
        case .unsubscribe:
            subscription?.cancel()
            subscription = nil
            send(Reply(id: id, result: Subscription(active: false, interval: 0)), context: context)
        }
    }

    /// Runs `work` on the agent's query threads; its result is written on the loop and the
    /// connection's next request served then. A client gone meanwhile gets nothing.
    private func runQuery<Result: Sendable>(
        context: ChannelHandlerContext, _ work: @escaping @Sendable (Agent) -> Result,
        then deliver: @escaping (Result) -> Void
    ) {
        queryRunning = true
        let (agent, channel) = (self.agent, context.channel)
        // A client gone while its query waited for a thread costs no pass over the tasks.
        agent.queries.runIfActive(eventLoop: context.eventLoop) { channel.isActive ? work(agent) : nil }
            .assumeIsolated().whenComplete { result in
                self.queryRunning = false
                guard context.channel.isActive else { return }
                switch result {
                case .success(let value):
                    if let value { deliver(value) }
                    self.serveQueued(context: context)
                case .failure:
                    // The agent is stopping: its query threads are gone.
                    context.close(promise: nil)
                }
            }
    }

    private func runQuery(context: ChannelHandlerContext, _ reply: @escaping @Sendable (Agent) -> [UInt8]) {
        runQuery(context: context, reply) { self.write($0, context: context) }
    }

    // MARK: Subscriptions

    private func subscribe(id: Int64, interval: Duration, context: ChannelHandlerContext) {
        subscription?.cancel()
        send(Reply(id: id, result: Subscription(active: true, interval: interval.seconds)), context: context)
        schedulePush(after: interval, context: context)
    }

    private func schedulePush(after interval: Duration, context: ChannelHandlerContext) {
        let delay = TimeAmount.nanoseconds(Int64(clamping: interval.nanoseconds))
        subscription = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.push(interval: interval, context: context)
        }
    }

    /// Pushes a summary, unless the last one is still unsent: then this one is skipped (the
    /// next is as fresh), so a subscriber that does not read holds one push at most.
    private func push(interval: Duration, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if !pushUnsent {
            pushUnsent = true
            write(Wire.line(SummaryPush(summary: agent.summary())), context: context) { self.pushUnsent = false }
            context.flush()
        }
        schedulePush(after: interval, context: context)
    }

    // MARK: Snapshots

    private func startSnapshot(id: Int64, options: SnapshotOptions, context: ChannelHandlerContext) {
        guard snapshot == nil else {
            send(
                ErrorReply(id: id, error: .init(.busy, "a snapshot is already streaming on this connection")),
                context: context)
            return
        }
        let limit = agent.configuration.maxConcurrentSnapshots
        guard agent.snapshotsStreaming.add(1, ordering: .relaxed).newValue <= limit else {
            agent.snapshotsStreaming.subtract(1, ordering: .relaxed)
            send(
                ErrorReply(
                    id: id,
                    error: .init(
                        .busy, "the agent streams \(limit) snapshots at most at once; try again when one is done")),
                context: context)
            return
        }
        holdsSnapshotPlace = true
        runQuery(context: context) {
            SnapshotStream.start(id: id, options: options, agent: $0)
        } then: { started in
            self.write(started.head, context: context)
            self.snapshot = started.stream
            self.pumpSnapshot(context: context)
        }
    }

    private func releaseSnapshotPlace() {
        guard holdsSnapshotPlace else { return }
        holdsSnapshotPlace = false
        agent.snapshotsStreaming.subtract(1, ordering: .relaxed)
    }

    /// Writes chunks while the peer keeps up (resuming once its output drains), a slice of them
    /// per turn of the event loop, so that other clients are served between slices.
    private func pumpSnapshot(context: ChannelHandlerContext) {
        guard var stream = snapshot, context.channel.isActive else { return }
        let registry = agent.registry
        var written = 0
        while hasRoom, written < Self.writeSlice, let chunk = stream.nextChunk(registry: registry) {
            write(chunk, context: context)
            written += chunk.count
        }
        if stream.isDone {
            snapshot = nil
            releaseSnapshotPlace()
            send(
                Reply(id: stream.id, result: SnapshotDone(tasks: stream.sent, chunks: stream.chunks)), context: context)
        } else {
            snapshot = stream
            if hasRoom, !pumpScheduled {
                pumpScheduled = true
                context.eventLoop.assumeIsolated().execute {
                    self.pumpScheduled = false
                    self.pumpSnapshot(context: context)
                }
            }
        }
        context.flush()
    }
}

/// A snapshot being streamed: the tasks captured when it was asked for, and how far it got.
struct SnapshotStream {
    let id: Int64
    let records: [TaskRecord]
    /// Each record's stack id (by index, 0 for none), when the snapshot was taken with stacks;
    /// empty without.
    let stackIDs: [Int32]
    let chunkSize: Int
    /// The moment the snapshot was taken, when every chunk's tasks are read.
    let now: UInt64
    private var position = 0
    private(set) var chunks = 1  // the head
    private(set) var sent = 0

    init(id: Int64, records: [TaskRecord], chunkSize: Int, now: UInt64, stackIDs: [Int32] = []) {
        self.id = id
        self.now = now
        self.records = records
        self.chunkSize = chunkSize
        self.stackIDs = stackIDs
    }

    var isDone: Bool { position >= records.count }

    /// Captures the tasks (matching `options`) and the head line of a snapshot: a pass over
    /// every task, so it runs on the agent's query threads.
    static func start(
        id: Int64, options: SnapshotOptions, agent: Agent
    ) -> (head: [UInt8], stream: SnapshotStream) {
        let registry = agent.registry
        let trace = options.trace?.lowercased()
        let records = registry.records { record in
            (options.wait == nil || record.wait?.reason == options.wait)
                && (trace == nil || record.traceID == trace)
        }.sorted { $0.id < $1.id }
        // Every task's times are read as of this moment, however late its chunk is written, so
        // that none has waited longer than `capturedAt - created`.
        let now = registry.clock.now()
        let warnings = agent.currentWarnings()
        var head = SnapshotHead(
            process: agent.processDescription, capturedAt: registry.clock.capturedAt(now), filter: options.wait,
            summary: agent.summary(warnings: warnings), history: agent.sampler.history(),
            resources: registry.resources.reports(registry.reportContext()), warnings: warnings,
            rules: agent.rules.settings.thresholds, trace: trace)
        var stackIDs: [Int32] = []
        if options.stacks {
            if let stacks = agent.stacks, let snapshot = stacks.snapshot(of: records) {
                head.stacks = snapshot.stacks
                stackIDs = snapshot.ids
            } else {
                head.stacksUnavailable =
                    agent.stacks?.unavailable ?? "stacks are turned off (Configuration.stackDepth is nil)"
            }
        }
        var line = Wire.chunkPrefix(id: id, kind: Wire.headChunk)
        let encoded = Wire.line(head)
        line.append(contentsOf: encoded.dropLast())
        line.append(contentsOf: Array("}\n".utf8))
        return (
            line,
            SnapshotStream(id: id, records: records, chunkSize: options.chunkSize, now: now, stackIDs: stackIDs)
        )
    }

    /// The next chunk line, or `nil` when every task has been sent.
    mutating func nextChunk(registry: Registry) -> [UInt8]? {
        guard !isDone else { return nil }
        let end = min(position + chunkSize, records.count)
        var writer = JSONWriter(capacity: (end - position) * 320 + 64)
        writer.raw(Wire.chunkPrefix(id: id, kind: Wire.tasksChunk))
        writer.raw("[")
        for index in position..<end {
            if index > position { writer.raw(",") }
            var info = registry.info(records[index], now: now)
            if index < stackIDs.count, stackIDs[index] > 0 { info.stack = Int(stackIDs[index]) }
            info.write(to: &writer)
        }
        writer.raw("]}\n")
        sent += end - position
        position = end
        chunks += 1
        return writer.bytes
    }
}

import Logging
import NIOCore
import ScopeProtocol

/// Serves protocol v1 on one connection: answers requests, streams
/// snapshots as the peer reads them, and pushes summaries to subscribers.
///
/// Runs on the agent's event loop only. Output is bounded: while the
/// peer's pending output is above the high-water mark the connection is not
/// read from, and a subscriber that stops reading is dropped.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LineFrame
    typealias OutboundOut = ByteBuffer

    private let agent: Agent
    private var subscription: Scheduled<Void>?
    private var snapshot: SnapshotStream?
    private var pumpScheduled = false
    /// Set while the peer's output is full: when it fires, the peer is dropped.
    private var stallDeadline: Scheduled<Void>?

    init(agent: Agent) { self.agent = agent }

    func channelActive(context: ChannelHandlerContext) {
        send(agent.hello, context: context)
        context.flush()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscription?.cancel()
        subscription = nil
        stallDeadline?.cancel()
        stallDeadline = nil
        snapshot = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .tooLong:
            let limit = agent.configuration.maxLineBytes
            send(
                ErrorReply(id: nil, error: .init(.lineTooLong, "a request line may be at most \(limit) bytes")),
                context: context)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
            context.close(promise: nil)
        case .line(let line):
            // Blank lines are ignored, as in a shell.
            guard line.readableBytesView.contains(where: { !Self.isJSONWhitespace($0) }) else { return }
            handle(line, context: context)
        }
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        context.channel.setOption(.autoRead, value: writable).whenFailure { _ in }
        if writable {
            stallDeadline?.cancel()
            stallDeadline = nil
        } else if stallDeadline == nil {
            let timeout = agent.configuration.stalledClientTimeout
            stallDeadline = context.eventLoop.assumeIsolated().scheduleTask(
                in: .nanoseconds(Int64(clamping: timeout.nanoseconds))
            ) {
                self.stallDeadline = nil
                guard context.channel.isActive, !context.channel.isWritable else { return }
                self.agent.logger.warning(
                    "taskscope dropped a client that stopped reading",
                    metadata: [
                        "stalled_for": "\(timeout)",
                        "pending_limit_bytes": "\(self.agent.configuration.maxPendingOutputBytes)",
                    ])
                context.close(promise: nil)
            }
        }
        if writable, snapshot != nil, !pumpScheduled {
            // Writability returns inside our own flush; pumping from here would recurse once per
            // watermark cycle. Resume from the event loop instead.
            pumpScheduled = true
            context.eventLoop.assumeIsolated().execute {
                self.pumpScheduled = false
                self.pumpSnapshot(context: context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        agent.logger.debug("taskscope connection closed on error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
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
            send(Reply(id: id, result: agent.page(query)), context: context)
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
            send(Reply(id: id, result: agent.resources(query)), context: context)
        case .groups(let query):
            send(Reply(id: id, result: agent.registry.groups(query)), context: context)
        case .warnings:
            send(Reply(id: id, result: WarningList(warnings: agent.currentWarnings())), context: context)
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

    private func send(_ message: some Encodable, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(ByteBuffer(bytes: Wire.line(message))), promise: nil)
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

    private func push(interval: Duration, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if !context.channel.isWritable && snapshot == nil {
            agent.logger.warning("taskscope dropped a subscribed client that stopped reading")
            subscription = nil
            context.close(promise: nil)
            return
        }
        if context.channel.isWritable {
            send(SummaryPush(summary: agent.summary()), context: context)
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
        let registry = agent.registry
        let records = registry.records { record in
            options.wait == nil || record.wait?.reason == options.wait
        }.sorted { $0.id < $1.id }
        // Every task's times are read as of this moment, however late its chunk is written, so
        // that none has waited longer than `capturedAt - created`.
        let now = registry.clock.now()
        let warnings = agent.currentWarnings()
        let head = SnapshotHead(
            process: agent.processDescription, capturedAt: registry.clock.capturedAt(now), filter: options.wait,
            summary: agent.summary(warnings: warnings), history: agent.sampler.history(),
            resources: registry.resources.reports(registry.reportContext()), warnings: warnings,
            rules: agent.rules.settings.thresholds)
        var line = Wire.chunkPrefix(id: id, kind: Wire.headChunk)
        let encoded = Wire.line(head)
        line.append(contentsOf: encoded.dropLast())
        line.append(contentsOf: Array("}\n".utf8))
        context.write(wrapOutboundOut(ByteBuffer(bytes: line)), promise: nil)
        snapshot = SnapshotStream(id: id, records: records, chunkSize: options.chunkSize, now: now)
        pumpSnapshot(context: context)
    }

    /// Writes chunks while the peer keeps up; resumes when it becomes writable again.
    private func pumpSnapshot(context: ChannelHandlerContext) {
        guard var stream = snapshot else { return }
        let registry = agent.registry
        while context.channel.isWritable, let chunk = stream.nextChunk(registry: registry) {
            context.write(wrapOutboundOut(ByteBuffer(bytes: chunk)), promise: nil)
        }
        if stream.isDone {
            snapshot = nil
            send(
                Reply(id: stream.id, result: SnapshotDone(tasks: stream.sent, chunks: stream.chunks)), context: context)
        } else {
            snapshot = stream
        }
        context.flush()
    }
}

/// A snapshot being streamed: the tasks captured when it was asked for, and how far it got.
struct SnapshotStream {
    let id: Int64
    let records: [TaskRecord]
    let chunkSize: Int
    /// The moment the snapshot was taken, when every chunk's tasks are read.
    let now: UInt64
    private var position = 0
    private(set) var chunks = 1  // the head
    private(set) var sent = 0

    init(id: Int64, records: [TaskRecord], chunkSize: Int, now: UInt64) {
        self.id = id
        self.now = now
        self.records = records
        self.chunkSize = chunkSize
    }

    var isDone: Bool { position >= records.count }

    /// The next chunk line, or `nil` when every task has been sent.
    mutating func nextChunk(registry: Registry) -> [UInt8]? {
        guard !isDone else { return nil }
        let end = min(position + chunkSize, records.count)
        var writer = JSONWriter(capacity: (end - position) * 320 + 64)
        writer.raw(Wire.chunkPrefix(id: id, kind: Wire.tasksChunk))
        writer.raw("[")
        for index in position..<end {
            if index > position { writer.raw(",") }
            registry.info(records[index], now: now).write(to: &writer)
        }
        writer.raw("]}\n")
        sent += end - position
        position = end
        chunks += 1
        return writer.bytes
    }
}

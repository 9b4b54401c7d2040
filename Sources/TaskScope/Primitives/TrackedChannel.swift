import ScopeProtocol

/// A channel with Go's semantics whose waits taskscope can see: unbuffered
/// (`capacity: 0`, a send waits for a receiver) or buffered; `finish()` ends
/// it; receiving from a finished, drained channel ends the sequence; sending
/// on a finished channel throws; every wait honours cancellation.
///
/// ```swift
/// let (jobs, inbox) = TrackedChannel<Job>.make(capacity: 0, name: "jobs")
/// try await jobs.send(job)                     // wait reason: channel.send (while blocked)
/// for try await job in inbox.receiving() { … } // wait reason: channel.receive
/// ```
///
/// The channel counts its live endpoints: when the last sender (or receiver)
/// object is gone, the orphaned-channel rule knows that tasks blocked on the
/// other side will wait forever.
public enum TrackedChannel<Element: Sendable> {
    /// Makes a channel and returns its two endpoints.
    ///
    /// Cost: three allocations and one resource registration.
    public static func make(
        capacity: Int = 0, name: String, fileID: String = #fileID, line: Int = #line
    ) -> (sender: TrackedSender<Element>, receiver: TrackedReceiver<Element>) {
        let core = ChannelCore<Element>(
            capacity: capacity, name: name, fileID: fileID, line: line, registry: TaskScope.registry)
        return (TrackedSender(core: core), TrackedReceiver(core: core))
    }
}

/// The sending endpoint of a ``TrackedChannel``. Share this object among
/// senders; when the last reference to it goes, the channel has no sender.
public final class TrackedSender<Element: Sendable>: Sendable {
    @usableFromInline let core: ChannelCore<Element>

    init(core: ChannelCore<Element>) {
        self.core = core
        core.retainEndpoint(sender: true)
    }

    deinit { core.releaseEndpoint(sender: true) }

    /// Sends a value: into the buffer if there is room, to a waiting receiver,
    /// or else waits (reason `channel.send`) until a receiver takes it.
    ///
    /// - Throws: ``TrackedChannelError/finished(channel:)`` when the channel is
    ///   finished (also while waiting), `CancellationError` when the task is cancelled.
    @inlinable
    public func send(_ value: Element, fileID: String = #fileID, line: Int = #line) async throws {
        try await core.send(value, fileID: fileID, line: line)
    }

    /// Sends without waiting (Go's `select` with a `default`): `true` when a waiting receiver
    /// or the buffer took the value, `false` when a send would wait. Cost: one lock.
    ///
    /// - Throws: ``TrackedChannelError/finished(channel:)`` when the channel is finished.
    @inlinable
    public func trySend(_ value: Element) throws -> Bool {
        try core.trySend(value)
    }

    /// Finishes the channel: receivers drain what is buffered, then their
    /// sequences end; blocked and later senders get an error. Idempotent.
    public func finish() { core.finish() }

    /// Whether the channel has been finished.
    public var isFinished: Bool { core.isFinished }

    /// The channel's name.
    public var name: String { core.name }
}

/// The receiving endpoint of a ``TrackedChannel``: an `AsyncSequence` of its values.
/// Share this object among receivers; when the last reference to it goes, the
/// channel has no receiver.
public final class TrackedReceiver<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Failure = any Error
    @usableFromInline let core: ChannelCore<Element>

    init(core: ChannelCore<Element>) {
        self.core = core
        core.retainEndpoint(sender: false)
    }

    deinit { core.releaseEndpoint(sender: false) }

    /// Receives the next value, waiting (reason `channel.receive`) when there is none;
    /// `nil` once the channel is finished and drained.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    @inlinable
    public func receive(fileID: String = #fileID, line: Int = #line) async throws -> Element? {
        try await core.receive(fileID: fileID, line: line)
    }

    /// Receives without waiting (Go's `select` with a `default`): a value, ``TrackedChannelPoll/empty``
    /// when a receive would wait, or ``TrackedChannelPoll/finished``. Cost: one lock.
    @inlinable
    public func tryReceive() -> TrackedChannelPoll<Element> {
        core.tryReceive()
    }

    /// The values, with waits recorded at the caller's line: `for try await v in rx.receiving() { … }`.
    public func receiving(fileID: String = #fileID, line: Int = #line) -> Values {
        Values(receiver: self, fileID: fileID, line: line)
    }

    /// Iterating the receiver directly records waits at the line the channel was made.
    public func makeAsyncIterator() -> Values.AsyncIterator {
        Values(receiver: self, fileID: core.site.file, line: core.site.line).makeAsyncIterator()
    }

    /// Finishes the channel from the receiving side (see ``TrackedSender/finish()``).
    public func finish() { core.finish() }

    /// The channel's name.
    public var name: String { core.name }

    /// The values of a receiver, with the wait site to record.
    public struct Values: AsyncSequence, Sendable {
        public typealias Failure = any Error
        let receiver: TrackedReceiver<Element>
        let fileID: String
        let line: Int

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(receiver: receiver, fileID: fileID, line: line)
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            @usableFromInline let receiver: TrackedReceiver<Element>
            @usableFromInline let fileID: String
            @usableFromInline let line: Int

            @inlinable
            public mutating func next() async throws -> Element? {
                try await receiver.receive(fileID: fileID, line: line)
            }
        }
    }
}

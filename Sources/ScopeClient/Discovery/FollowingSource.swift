import ScopeProtocol
import Synchronization

/// A live process found by discovery, followed to its successor when it exits: what
/// `taskscope attach` without a target watches, so that a service restarted under a new pid
/// is picked up instead of "reconnecting" for ever.
///
/// When the process has gone, each reconnection scans the socket directory for processes
/// that were not there before. Exactly one: the source switches to it, and the next
/// ``connect()`` returns its hello (a new pid, which the UI reports as the switch). Several:
/// ``connect()`` fails naming them and ``choices`` yields them, for the caller to offer a pick.
public final class FollowingSource: ScopeSource {
    private struct State {
        var live: LiveSource
        var pid: Int32
        /// Every pid seen so far: only processes not among them are new.
        var known: Set<Int32>
    }

    private let state: Mutex<State>
    private let location: SocketLocation
    private let offers: AsyncStream<[AttachableProcess]>.Continuation
    /// Yields the new processes whenever several appeared at once after the followed one exited.
    public let choices: AsyncStream<[AttachableProcess]>

    /// Follows `process`; `known` are the processes attachable now (not followed if it exits).
    public init(following process: AttachableProcess, known: [AttachableProcess], location: SocketLocation) {
        state = Mutex(
            State(
                live: LiveSource(path: process.socket), pid: process.pid,
                known: Set(known.map(\.pid)).union([process.pid])))
        self.location = location
        (choices, offers) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    deinit { offers.finish() }

    private var live: LiveSource { state.withLock { $0.live } }

    /// The pid followed now.
    public var pid: Int32 { state.withLock { $0.pid } }
    public var label: String { live.label }
    public var isOffline: Bool { false }

    /// Connects to the process followed, or, when it has exited, to the one new process
    /// that appeared. Cost when gone: one scan of the socket directory.
    public func connect() async throws(ScopeClientError) -> Hello {
        let (current, pid) = state.withLock { ($0.live, $0.pid) }
        do {
            let hello = try await current.connect()
            state.withLock { $0.pid = hello.pid }
            return hello
        } catch {
            guard !Target.processExists(pid) else { throw error }
        }
        let discovery = await ProcessDiscovery.scan(location: location, timeout: .seconds(1))
        let known = state.withLock { $0.known }
        let fresh = discovery.processes.filter { !known.contains($0.pid) }
        switch fresh.count {
        case 0:
            throw .processGone(pid: pid, detail: "waiting for a new process to attach to")
        case 1:
            let next = fresh[0]
            state.withLock { state in
                state.live = LiveSource(path: next.socket)
                state.pid = next.pid
                state.known.insert(next.pid)
            }
            let hello = try await live.connect()
            return hello
        default:
            offers.yield(fresh)
            let names = fresh.map { "\($0.pid) \($0.process)" }.joined(separator: ", ")
            throw .processGone(pid: pid, detail: "\(fresh.count) new processes are attachable (\(names)): pick one")
        }
    }

    public func summary() async throws(ScopeClientError) -> Summary { try await live.summary() }

    public func history(limit: Int) async throws(ScopeClientError) -> [HistorySample] {
        try await live.history(limit: limit)
    }

    public func warnings() async throws(ScopeClientError) -> [Warning] { try await live.warnings() }

    public func resources() async throws(ScopeClientError) -> [ResourceInfo] { try await live.resources() }

    public func groups(_ query: GroupQuery) async throws(ScopeClientError) -> [SiteGroup] {
        try await live.groups(query)
    }

    public func tasks(_ query: TaskQuery) async throws(ScopeClientError) -> TaskPage { try await live.tasks(query) }

    public func task(id: UInt64) async throws(ScopeClientError) -> TaskDetail { try await live.task(id: id) }

    public func export(to path: String) async throws(ScopeClientError) { try await live.export(to: path) }
}

import NIOCore
import ScopeProtocol
import Synchronization

/// Something the registry lists as a resource: a channel, timer, ticker,
/// semaphore or continuation. It reports its own state, under its own lock.
protocol TrackedResource: AnyObject, Sendable {
    var resourceID: UInt64 { get }
    var kind: ResourceKind { get }
    func report(_ context: ReportContext) -> ResourceInfo
}

/// What a resource needs to describe itself: the clock and who is still alive.
struct ReportContext {
    let registry: Registry
    let now: UInt64

    /// Whether the task of `record` has finished.
    func hasFinished(_ record: TaskRecord) -> Bool {
        finishedAt(record) != nil
    }

    /// When the task of `record` finished (wall-clock seconds), or `nil` while it runs.
    func finishedAt(_ record: TaskRecord) -> Double? {
        record.withShardLocked { _ in record.state == .finished ? wall(record.stateSince) : nil }
    }

    func wall(_ monotonic: UInt64) -> Double { registry.clock.wall(monotonic) }
}

/// The registry's table of resources. It holds them weakly, so tracking never
/// keeps a resource alive; a resource leaves the table when it is destroyed,
/// except a leaked continuation, whose last state stays (bounded) as evidence.
final class ResourceTable: Sendable {
    private static let shardCount = 16
    /// Leaked continuations kept at most.
    static let leakedLimit = 4_096

    private let nextID = Atomic<UInt64>(1)
    private let shards: [ResourceShard]
    private let leaked = Mutex(CircularBuffer<ResourceInfo>())

    init() {
        shards = (0..<ResourceTable.shardCount).map { _ in ResourceShard() }
    }

    /// A fresh resource id.
    func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Adds a resource, noting the tracked task that creates it (the caller's).
    func register(_ resource: some TrackedResource) {
        #if !Untracked
        let id = resource.resourceID
        let kind = resource.kind
        let creator = TaskScope.currentRecord?.id ?? 0
        shards[Int(id % UInt64(ResourceTable.shardCount))].table.withLock {
            $0[id] = WeakResource(value: resource, kind: kind, creator: creator)
        }
        #endif
    }

    /// The tracked task that created each live resource, by resource id (0: no tracked task).
    func creators() -> [UInt64: UInt64] {
        var creators: [UInt64: UInt64] = [:]
        for shard in shards {
            shard.table.withLock { table in
                for (id, entry) in table { creators[id] = entry.creator }
            }
        }
        return creators
    }

    func unregister(_ id: UInt64) {
        #if !Untracked
        _ = shards[Int(id % UInt64(ResourceTable.shardCount))].table.withLock { $0.removeValue(forKey: id) }
        #endif
    }

    /// Keeps the last state of a continuation destroyed without being resumed.
    func recordLeak(_ info: ResourceInfo) {
        leaked.withLock { leaked in
            if leaked.count >= ResourceTable.leakedLimit { leaked.removeFirst() }
            leaked.append(info)
        }
    }

    /// Every resource's state, live ones first by id, then leaked continuations.
    /// Cost: one report per resource, each under that resource's lock.
    func reports(_ context: ReportContext) -> [ResourceInfo] {
        // The strong references are released after the locks: the last one's release runs
        // the resource's deinit, which unregisters it under its shard's lock.
        var live: [any TrackedResource] = []
        for shard in shards {
            shard.table.withLock { table in
                for entry in table.values {
                    if let resource = entry.value { live.append(resource) }
                }
            }
        }
        var reports = live.map { $0.report(context) }
        reports.sort { $0.id < $1.id }
        reports.append(contentsOf: leaked.withLock { Array($0) })
        return reports
    }

    /// The live resources of `kind`, for the rule pass to ask what `report` does not say.
    /// Cost: a walk of the table. The caller's references are the last ones a resource may have:
    /// they must be dropped outside any of the table's locks (as here).
    func live(_ kind: ResourceKind) -> [any TrackedResource] {
        var live: [any TrackedResource] = []
        for shard in shards {
            shard.table.withLock { table in
                for entry in table.values where entry.kind == kind {
                    if let resource = entry.value { live.append(resource) }
                }
            }
        }
        return live
    }

    /// How many resources are tracked, by kind (leaked continuations included).
    /// Cost: a walk of the table; no resource is asked to report.
    ///
    /// Entries are counted without reading their weak references: a strong reference
    /// taken under the lock could be the last one, and the resource's deinit, run by its
    /// release there, unregisters it under the same lock. A resource that is dying is
    /// counted until its deinit has removed its entry, which is at once.
    func countsByKind() -> [String: Int] {
        var counts: [String: Int] = [:]
        for shard in shards {
            shard.table.withLock { table in
                for entry in table.values {
                    counts[entry.kind.rawValue, default: 0] += 1
                }
            }
        }
        let leakedCount = leaked.withLock { $0.count }
        if leakedCount > 0 { counts[ResourceKind.continuation.rawValue, default: 0] += leakedCount }
        return counts
    }
}

private final class ResourceShard: Sendable {
    let table = Mutex<[UInt64: WeakResource]>([:])
}

private struct WeakResource: @unchecked Sendable {
    weak var value: (any TrackedResource)?
    let kind: ResourceKind
    /// The tracked task that created it, or 0.
    let creator: UInt64
}

/// The first few ids of a list, lowest first, as resource and warning lists carry them.
func firstIDs(_ ids: some Sequence<UInt64>, limit: Int = ResourceInfo.idLimit) -> [UInt64] {
    Array(ids.sorted().prefix(limit))
}

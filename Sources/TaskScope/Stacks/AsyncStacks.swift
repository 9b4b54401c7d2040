import Logging
import ScopeProtocol
import Synchronization

/// The async stacks of the agent's waiting tasks, read when asked: the `stacks` request and
/// snapshots with stacks. Identical stacks are interned, so a million tasks stuck at one place
/// are one stack and a reference each.
///
/// Cost when no one asks: nothing. A request reads each asked-for task's chain (see
/// ``AsyncStackReader``) in batches of 4,096 tasks, holding no lock while it reads, and names
/// only the distinct stacks' addresses (``Symbolicator``, cached).
final class AsyncStacks: Sendable {
    /// Frames per stack unless asked otherwise.
    let depth: Int
    let symbolicator: Symbolicator
    private let check: StackSelfTest

    init(depth: Int, symbolicator: Symbolicator = Symbolicator()) {
        self.depth = max(1, min(depth, StackQuery.maxDepth))
        self.symbolicator = symbolicator
        self.check = StackSelfTest.shared
    }

    /// Starts the self-test (a probe task parked three calls deep), unless it has run.
    func startSelfTest(logger: Logger? = nil) {
        check.start(logger: logger)
    }

    /// Why stacks cannot be read here, or nil when they can (waits for the self-test, two seconds
    /// at most).
    var unavailable: String? {
        check.start()
        return check.failure(waiting: .seconds(2))
    }

    /// One waiting task to read: its record, and its phase word when gathered (it must be the
    /// same after the read, or the task resumed meanwhile).
    struct Candidate {
        var record: TaskRecord
        var phaseWord: UInt64
        var taskKey: Int
    }

    /// The waiting tasks `query` asks for.
    static func candidates(_ registry: Registry, _ query: StackQuery) -> [Candidate] {
        var found: [Candidate] = []
        let wanted = Set(query.ids)
        let take: (TaskRecord) -> Void = { record in
            let phase = record.phaseWord.load(ordering: .acquiring)
            guard TaskPhase(word: phase).isWaiting else { return }
            if let wait = query.wait, record.wait?.reason != wait { return }
            let key = record.taskKey.load(ordering: .relaxed)
            guard key != 0 else { return }
            found.append(Candidate(record: record, phaseWord: phase, taskKey: key))
        }
        if wanted.isEmpty {
            registry.forEachRecord(live: true, finished: false) { record in
                take(record)
                return true
            }
        } else {
            for id in wanted { if let record = registry.record(id: id) { take(record) } }
        }
        return found
    }

    /// The chains of `candidates`, interned: each candidate's stack index in `chains` (-1 when
    /// unreadable, or when the candidate left its wait while it was read).
    func read(_ candidates: [Candidate], depth: Int? = nil) -> (ids: [Int32], chains: [AsyncStackReader.Chain]) {
        // Read deeper than shown: the runtime's frames between the written ones are left out.
        let reader = AsyncStackReader(
            depth: 4 * max(1, min(depth ?? self.depth, StackQuery.maxDepth)) + 16,
            image: ProcessImage.current())
        var table = AsyncStackReader.ChainTable()
        var ids: [Int32] = []
        ids.reserveCapacity(candidates.count)
        var start = 0
        while start < candidates.count {
            let batch = candidates[start..<min(start + 4_096, candidates.count)]
            let read = reader.read(batch.map { UInt(bitPattern: $0.taskKey) }, into: &table) { index in
                // Still in the same wait: then it was suspended there all the while it was read.
                let candidate = batch[batch.startIndex + index]
                return candidate.record.phaseWord.load(ordering: .acquiring) == candidate.phaseWord
            }
            for id in read { ids.append(id.map { Int32($0) } ?? -1) }
            start += batch.count
        }
        return (ids, table.chains)
    }

    /// Names a chain's functions, leaving out the runtime's machinery between them (thunks,
    /// forwarders, the concurrency library, taskscope's own wrappers) when anything is left.
    func stack(_ chain: AsyncStackReader.Chain, id: Int, depth: Int? = nil) -> StackInfo {
        let depth = max(1, min(depth ?? self.depth, StackQuery.maxDepth))
        let frames = symbolicator.frames(chain.functions)
        // The runtime's frames say what the task waits in: the innermost one is kept.
        let written = frames.enumerated().filter { index, frame in
            !Symbolicator.isMachinery(frame) && (index == 0 || !Symbolicator.isRuntimeWait(frame))
        }.map(\.element)
        let shown = written.isEmpty ? frames : written
        return StackInfo(
            id: id, frames: Array(shown.prefix(depth)), truncated: chain.truncated || shown.count > depth)
    }

    /// The `stacks` reply.
    func list(_ registry: Registry, _ query: StackQuery) -> StackList {
        if let reason = unavailable { return StackList(unavailable: reason) }
        let now = registry.clock.now()
        let candidates = Self.candidates(registry, query)
        let (ids, chains) = read(candidates, depth: query.depth)
        struct Key: Hashable {
            var stack: Int
            var reason: String?
        }
        var groups: [Key: StackGroup] = [:]
        var unreadable = 0
        var tasks: [String: Int] = [:]
        for (candidate, id) in zip(candidates, ids) {
            guard id >= 0 else {
                unreadable += 1
                continue
            }
            let record = candidate.record
            let key = Key(stack: Int(id), reason: record.wait?.reason)
            var group = groups[key] ?? StackGroup(stack: key.stack, reason: key.reason)
            group.add(
                id: record.id,
                waited: record.inState(TaskPhase(word: candidate.phaseWord), clock: registry.clock, now: now))
            groups[key] = group
            if !query.ids.isEmpty { tasks[String(record.id)] = key.stack }
        }
        let sorted = groups.values.sorted { lhs, rhs in
            if lhs.count != rhs.count { return lhs.count > rhs.count }
            if lhs.longest != rhs.longest { return lhs.longest > rhs.longest }
            return (lhs.stack, lhs.reason ?? "") < (rhs.stack, rhs.reason ?? "")
        }
        let shown = Array(sorted.prefix(query.limit))
        // Renumbered in the order shown; only the stacks shown are named.
        var renumbered: [Int: Int] = [:]
        var stacks: [StackInfo] = []
        for group in shown where renumbered[group.stack] == nil {
            renumbered[group.stack] = stacks.count + 1
            stacks.append(stack(chains[group.stack], id: stacks.count + 1, depth: query.depth))
        }
        for id in Set(tasks.values).sorted() where renumbered[id] == nil {
            renumbered[id] = stacks.count + 1
            stacks.append(stack(chains[id], id: stacks.count + 1, depth: query.depth))
        }
        tasks = tasks.mapValues { renumbered[$0]! }
        return StackList(
            total: sorted.count,
            groups: shown.map { group in
                var group = group
                group.stack = renumbered[group.stack]!
                return group
            },
            stacks: stacks, tasks: query.ids.isEmpty ? nil : tasks, unreadable: unreadable)
    }

    /// The stacks of a snapshot's waiting tasks: each distinct stack once, named, and each
    /// record's stack id by its index in `records` (0 for none); nil when stacks are not
    /// available here. Cost: as a `stacks` request over the waiting ones among `records`, plus
    /// 4 bytes a record for the ids while the snapshot streams.
    func snapshot(of records: [TaskRecord]) -> (stacks: [StackInfo], ids: [Int32])? {
        guard unavailable == nil else { return nil }
        var indices: [Int] = []
        var candidates: [Candidate] = []
        for (index, record) in records.enumerated() {
            let phase = record.phaseWord.load(ordering: .acquiring)
            let key = record.taskKey.load(ordering: .relaxed)
            guard TaskPhase(word: phase).isWaiting, key != 0 else { continue }
            indices.append(index)
            candidates.append(Candidate(record: record, phaseWord: phase, taskKey: key))
        }
        let (ids, chains) = read(candidates)
        var byIndex = [Int32](repeating: 0, count: records.count)
        for (index, id) in zip(indices, ids) where id >= 0 { byIndex[index] = id + 1 }
        let stacks = chains.enumerated().map { number, chain in stack(chain, id: number + 1) }
        return (stacks, byIndex)
    }
}

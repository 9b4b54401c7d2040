import ScopeProtocol

/// What the wait-for graph reads of a semaphore, from one moment under its lock.
struct SemaphoreFacts {
    var id: UInt64
    var name: String
    var site: SourceSite
    var available: Int
    /// The ids of the tasks queued for a permit.
    var queued: Set<UInt64>
    /// The tracked tasks holding permits, with repetition.
    var holders: [TaskRecord]
    /// The holders that had not finished at that moment: read under the lock, since a holder
    /// that releases and finishes after it must not count as a finished holder.
    var running: Set<UInt64>
    /// Permits held by tasks taskscope does not know.
    var untrackedHolders: Int
    /// Releases by tasks that held no permit: such a semaphore is a signal, or its permits
    /// move between tasks, and who holds one says nothing about who will release it.
    var releasesByNonHolders: Int
    /// Permits in all (`TrackedSemaphore.permits`).
    var permits: Int
    /// The running holders holding a permit taken with `acquire()` rather than `withPermit`:
    /// such a permit may have been handed to a task taskscope cannot see (a plain `Task {}`
    /// that releases it), as the bounded-parallelism pattern does.
    var handingHolders: Set<UInt64>
}

/// The waits of the live tasks as a graph, and what it proves: `deadlock` (a cycle of waits
/// none of whose tasks can leave), `leaked-permit` (tasks waiting for a semaphore whose every
/// permit is held by finished tasks) and `blocked-forever` (tasks whose every way out runs
/// through such waits, or through a channel or continuation a definite rule has found leaked).
///
/// A task's wait has *exits*, the tasks whose progress could end it: the task it joins
/// (`task.join`); its children still running (`group.next`: any one of them finishing ends
/// it); the tasks holding the permits of the semaphore it is queued on, and their descendants
/// (a permit may be handed to a child task to release). A wait is *free* when the graph cannot
/// say what ends it (a sleep, a label, an untracked task joined, a semaphore released by
/// non-holders or held by untracked tasks, a permit free, a child that just finished, a group
/// wait younger than a second, which may be returning a result already there); it is
/// *dead* when nothing can end it (an orphaned channel, a leaked continuation, a semaphore
/// whose every permit is held by finished tasks without live descendants). A task is stuck when
/// its wait is dead, or not free and every exit is stuck: the greatest such set, found by
/// propagating "may end" backwards from free waits and running tasks.
///
/// Races: the pass reads a moving registry. Records are read first (the joins before and after
/// them, kept when both agree), then the semaphores, then each stuck task's state word again: a task whose wait changed (a new `since`)
/// is taken as free and the analysis rerun, so every stuck task waited, unchanged, across the
/// moment its resources were read, and a waiting task does not release a permit or finish.
///
/// What it cannot prove: a wait that another task's cancellation would end (semaphore and
/// channel waits honour cancellation; the existing definite rules assume no rescuer too), and
/// a permit taken with `acquire()` and handed to an untracked task (a plain `Task {}`) or an
/// unrelated one (through a channel, say) before any release by a non-holder was seen.
///
/// Cost: one pass over the live tasks (reading each one's parent and state; the joined ones'
/// keys; the waits it can read), a walk of the semaphore table when a task waits on one, then
/// time linear in those waiting tasks plus their edges (and the parent links, when a group or
/// semaphore wait needs children). Never on the hot path.
struct WaitForGraph {
    /// How a task waits, as far as the graph knows.
    enum Wait {
        case join(target: UInt64)
        case group(children: [UInt64])
        case semaphore(SemaphoreFacts, holders: [UInt64])
        /// On a resource a definite rule holds for (an orphaned channel, a leaked continuation).
        case leaked(resource: UInt64)
    }

    struct Node {
        let record: TaskRecord
        let phaseWord: UInt64
        let reason: String
        let site: SourceSite
        let wait: Wait
        var exits: [UInt64]
    }

    /// How long a `group.next` wait must have lasted to be read (see `init`).
    static let settledGroupWait: UInt64 = 1_000_000_000

    private var nodes: [UInt64: Node] = [:]
    private let resources: [UInt64: ResourceInfo]

    /// Whether a wait may be an edge or a dead end: one the graph reads (a join, a group, a
    /// semaphore) or one on a resource (a channel or continuation a definite rule may hold for).
    static func mayRead(_ reason: String, _ resource: UInt64) -> Bool {
        resource != 0 || reason == WaitReason.taskJoin || reason == WaitReason.groupNext
    }

    /// The warnings the graph proves now, and every task they name (their `taskIDs` list the
    /// first few only): the suspect rules leave those tasks to them.
    static func warnings(
        registry: Registry, resources: [UInt64: ResourceInfo], settings: TaskScope.RuleSettings
    ) -> (warnings: [Warning], tasks: Set<UInt64>) {
        guard settings.isOn(.deadlock) || settings.isOn(.leakedPermit) || settings.isOn(.blockedForever) else {
            return ([], [])
        }
        var graph = WaitForGraph(registry: registry, resources: resources, now: registry.clock.now())
        let stuck = graph.stuckTasks()
        guard !stuck.isEmpty else { return ([], []) }
        return graph.report(stuck, settings: settings)
    }

    private init(registry: Registry, resources: [UInt64: ResourceInfo], now: UInt64) {
        self.resources = resources
        struct Seen {
            let record: TaskRecord
            let phaseWord: UInt64
            let reason: String
            let site: SourceSite
        }
        // The joins are read before the records (to look up only the joined tasks) and again after:
        // a join read both times, to the same task, was in progress when the waiter's record was read.
        let joinsBefore = JoinTargets.shared.snapshot()
        let joined = Set(joinsBefore.values)
        var waiting: [UInt64: Seen] = [:]
        var byKey: [Int: UInt64] = [:]
        var links: [(parent: UInt64, child: UInt64)] = []
        registry.forEachRecord(live: true, finished: false) { record in
            let phase = record.phase
            if phase.isFinished { return true }
            if !joined.isEmpty {
                let key = record.taskKey.load(ordering: .relaxed)
                if key != 0, joined.contains(key) { byKey[key] = record.id }
            }
            if record.parentID != 0 { links.append((record.parentID, record.id)) }
            if phase.isWaiting, let point = record.waitPoint, WaitForGraph.mayRead(point.reason, record.waitResource) {
                waiting[record.id] = Seen(
                    record: record, phaseWord: phase.word, reason: point.reason,
                    site: SourceSite(file: point.file, line: point.line))
            }
            return true
        }
        guard !waiting.isEmpty else { return }
        // The children of group owners that finished (read after the live ones, so that a child
        // finishing in between is seen here, or changed its owner's wait before the re-check).
        let owners = Set(waiting.lazy.filter { $0.value.reason == WaitReason.groupNext }.map(\.key))
        var lastChildFinish: [UInt64: UInt64] = [:]
        if !owners.isEmpty {
            registry.forEachRecord(live: false, finished: true) { record in
                if owners.contains(record.parentID) {
                    lastChildFinish[record.parentID] = max(lastChildFinish[record.parentID] ?? 0, record.phase.since)
                }
                return true
            }
        }
        let joinsAfter = JoinTargets.shared.snapshot()
        let joins = joinsBefore.filter { joinsAfter[$0.key] == $0.value }
        var children: [UInt64: [UInt64]] = [:]
        for link in links { children[link.parent, default: []].append(link.child) }
        var semaphoreIDs: Set<UInt64> = []
        for seen in waiting.values where seen.reason == WaitReason.semaphore {
            semaphoreIDs.insert(seen.record.waitResource)
        }
        var semaphores: [UInt64: SemaphoreFacts] = [:]
        if !semaphoreIDs.isEmpty {
            for case let semaphore as TrackedSemaphore in registry.resources.live(.semaphore)
            where semaphoreIDs.contains(semaphore.resourceID) {
                semaphores[semaphore.resourceID] = semaphore.facts()
            }
        }
        func descendants(of roots: some Sequence<UInt64>) -> [UInt64] {
            var found: [UInt64] = []
            var seen: Set<UInt64> = []
            var stack = Array(roots)
            while let id = stack.popLast() {
                for child in children[id] ?? [] where seen.insert(child).inserted {
                    found.append(child)
                    stack.append(child)
                }
            }
            return found
        }
        for (id, seen) in waiting {
            let wait: Wait
            let exits: [UInt64]
            let resource = seen.record.waitResource
            switch seen.reason {
            case WaitReason.taskJoin:
                guard let key = joins[id], let target = byKey[key] else { continue }
                (wait, exits) = (.join(target: target), [target])
            case WaitReason.groupNext:
                let since = TaskPhase(word: seen.phaseWord).since
                // A child that finished since the wait began may be its result, not yet taken; one that
                // finished before may be too, and then `next()` returns without suspending: a wait that
                // has lasted `settledGroupWait` is one that found no result ready.
                guard !seen.record.adopted, let kids = children[id], !kids.isEmpty,
                    (lastChildFinish[id] ?? 0) < since, now &- min(since, now) >= WaitForGraph.settledGroupWait
                else { continue }
                (wait, exits) = (.group(children: kids), kids)
            case WaitReason.semaphore:
                // No holder to blame (a semaphore made with no permits, used as a signal): nothing proven.
                guard let facts = semaphores[resource], facts.available == 0, !facts.holders.isEmpty,
                    facts.untrackedHolders == 0, facts.releasesByNonHolders == 0, facts.queued.contains(id)
                else { continue }
                // A task waiting for more permits of a pool it took with `acquire()` is, as likely as
                // not, handing each to a worker the agent may not see (`Task {}`) that returns it: not
                // a self-deadlock it can prove. With one permit, it is the lock taken twice.
                guard facts.permits <= 1 || !facts.handingHolders.contains(id) else { continue }
                let holders = facts.holders.map(\.id)
                let running = facts.running
                (wait, exits) = (
                    .semaphore(facts, holders: holders), Array(running) + descendants(of: Set(holders))
                )
            default:
                guard resource != 0, let info = resources[resource], info.orphaned || info.state == "leaked" else {
                    continue
                }
                (wait, exits) = (.leaked(resource: resource), [])
            }
            nodes[id] = Node(
                record: seen.record, phaseWord: seen.phaseWord, reason: seen.reason, site: seen.site, wait: wait,
                exits: exits)
        }
    }

    /// The tasks that cannot go on, each unchanged since it was read.
    private mutating func stuckTasks() -> Set<UInt64> {
        while true {
            let stuck = greatestStuckSet()
            let moved = stuck.filter { nodes[$0]!.record.phaseWord.load(ordering: .acquiring) != nodes[$0]!.phaseWord }
            if moved.isEmpty { return stuck }
            for id in moved { nodes[id] = nil }
        }
    }

    /// The nodes none of whose exits may end, found by propagating "may end" backwards.
    private func greatestStuckSet() -> Set<UInt64> {
        var waitsOn: [UInt64: [UInt64]] = [:]
        var mayEnd: [UInt64] = []
        var ended: Set<UInt64> = []
        for (id, node) in nodes {
            for exit in node.exits { waitsOn[exit, default: []].append(id) }
        }
        // A task the graph does not hold (running, or waiting on something free) may end the waits on it.
        for exit in waitsOn.keys where nodes[exit] == nil { mayEnd.append(exit) }
        while let id = mayEnd.popLast() {
            for waiter in waitsOn[id] ?? [] where ended.insert(waiter).inserted { mayEnd.append(waiter) }
        }
        return Set(nodes.keys).subtracting(ended)
    }

    // MARK: Reporting

    private func report(
        _ stuck: Set<UInt64>, settings: TaskScope.RuleSettings
    ) -> (warnings: [Warning], tasks: Set<UInt64>) {
        let components = cycles(among: stuck)
        var warnings: [Warning] = []
        var named: Set<UInt64> = []
        var onCycle: Set<UInt64> = []
        for component in components {
            onCycle.formUnion(component)
            if settings.isOn(.deadlock) {
                warnings.append(deadlock(component))
                named.formUnion(component)
            }
        }
        // Semaphores whose every permit is held by finished tasks.
        var leaked: [UInt64: (facts: SemaphoreFacts, holders: [UInt64], waiters: [UInt64], site: SourceSite)] = [:]
        for id in stuck.sorted() {
            guard let node = nodes[id], case .semaphore(let facts, let holders) = node.wait, node.exits.isEmpty
            else { continue }
            leaked[facts.id, default: (facts, holders, [], node.site)].waiters.append(id)
        }
        if settings.isOn(.leakedPermit) {
            for (facts, holders, waiters, site) in leaked.values.sorted(by: { $0.facts.id < $1.facts.id }) {
                named.formUnion(waiters)
                let finished = firstIDs(Set(holders))
                warnings.append(
                    Warning(
                        rule: .leakedPermit, resource: facts.id, name: facts.name, site: facts.site,
                        reason: WaitReason.semaphore, tasks: waiters.count, taskIDs: firstIDs(waiters),
                        owner: finished.first,
                        message: "semaphore \"\(facts.name)\" (\(facts.site)): \(plural(waiters.count, "task")) "
                            + "waiting at \(site) for a permit, and every permit is held by finished "
                            + "\(finished.count == 1 ? "task" : "tasks") \(list(finished)), which cannot return it",
                        hint: "release the permit on every path (withPermit does), errors and early returns included"))
            }
        }
        guard settings.isOn(.blockedForever) else { return (warnings, named) }
        // The rest wait, through their exits, on a cycle or a dead end: grouped by wait site and cause.
        var groups: [String: (site: SourceSite, reason: String, ids: [UInt64], cause: String)] = [:]
        for id in stuck.sorted() where !onCycle.contains(id) {
            guard let node = nodes[id], !node.exits.isEmpty else { continue }
            let cause = through(id, stuck: stuck, onCycle: onCycle)
            let key = "\(node.site)|\(node.reason)|\(cause.end)"
            groups[key, default: (node.site, node.reason, [], cause.text)].ids.append(id)
        }
        for group in groups.values.sorted(by: { $0.ids[0] < $1.ids[0] }) {
            named.formUnion(group.ids)
            let first = group.ids[0]
            let others = group.ids.count > 1 ? " (and \(plural(group.ids.count - 1, "other task")) there)" : ""
            warnings.append(
                Warning(
                    rule: .blockedForever, name: nodes[first]?.record.name, site: group.site, reason: group.reason,
                    tasks: group.ids.count, taskIDs: firstIDs(group.ids),
                    message: "task \(first)\(others) can never go on: it \(group.cause)",
                    hint: "fix the leak it waits through; a wait that cannot end keeps its task forever"))
        }
        return (warnings, named)
    }

    /// The strongly connected components of the stuck tasks that hold a cycle (a self-wait
    /// included). Kosaraju's, iteratively: linear in the stuck tasks and their exits.
    private func cycles(among stuck: Set<UInt64>) -> [[UInt64]] {
        var order: [UInt64] = []
        var visited: Set<UInt64> = []
        for root in stuck.sorted() where visited.insert(root).inserted {
            var stack: [(id: UInt64, next: Int)] = [(root, 0)]
            while let top = stack.last {
                let exits = nodes[top.id]!.exits
                if top.next < exits.count {
                    stack[stack.count - 1].next += 1
                    let exit = exits[top.next]
                    if stuck.contains(exit), visited.insert(exit).inserted { stack.append((exit, 0)) }
                } else {
                    order.append(top.id)
                    stack.removeLast()
                }
            }
        }
        var reverse: [UInt64: [UInt64]] = [:]
        for id in stuck {
            for exit in nodes[id]!.exits where stuck.contains(exit) { reverse[exit, default: []].append(id) }
        }
        var assigned: Set<UInt64> = []
        var components: [[UInt64]] = []
        for root in order.reversed() where assigned.insert(root).inserted {
            var component: [UInt64] = []
            var stack = [root]
            while let id = stack.popLast() {
                component.append(id)
                for waiter in reverse[id] ?? [] where assigned.insert(waiter).inserted { stack.append(waiter) }
            }
            if component.count > 1 || nodes[root]!.exits.contains(root) { components.append(component.sorted()) }
        }
        return components
    }

    private func deadlock(_ component: [UInt64]) -> Warning {
        let members = Set(component)
        // Walk from the lowest id along exits inside the component until a task repeats: that loop is the chain.
        var path: [UInt64] = [component[0]]
        var index: [UInt64: Int] = [component[0]: 0]
        while true {
            let current = path.last!
            // A holder before a descendant that may return the permit; itself only when alone.
            var holders: Set<UInt64> = []
            if case .semaphore(_, let held) = nodes[current]!.wait { holders = Set(held) }
            let exits = nodes[current]!.exits.filter { members.contains($0) && (component.count == 1 || $0 != current) }
                .sorted { (holders.contains($0) ? 0 : 1, $0) < (holders.contains($1) ? 0 : 1, $1) }
            let next = exits.first { index[$0] != nil } ?? exits[0]
            if let start = index[next] {
                path = Array(path[start...]) + [next]
                break
            }
            index[next] = path.count
            path.append(next)
        }
        var steps: [String] = []
        for (waiter, next) in zip(path, path.dropFirst()) { steps.append(step(waiter, to: next)) }
        let chain = "task \(path[0]) " + steps.joined(separator: ", which ")
        let first = nodes[path[0]]!
        var semaphore: SemaphoreFacts?
        for id in path {
            if case .semaphore(let facts, _) = nodes[id]!.wait {
                semaphore = facts
                break
            }
        }
        let extra = component.count > path.count - 1 ? "; \(plural(component.count, "task")) in all are caught" : ""
        let isSelf = component.count == 1
        return Warning(
            rule: .deadlock, resource: semaphore?.id, name: semaphore?.name ?? nodes[path[0]]?.record.name,
            site: first.site,
            reason: first.reason, tasks: component.count, taskIDs: firstIDs(component),
            message: (isSelf ? "self-deadlock: " : "deadlock: ") + chain + extra,
            hint: isSelf
                ? "a task cannot wait for itself: do not acquire a permit it already holds, or join its own task"
                : "take semaphores in one order everywhere, and never join or wait for a task that waits for you")
    }

    /// Why `waiter`'s wait depends on `next`, as one clause of a chain.
    private func step(_ waiter: UInt64, to next: UInt64) -> String {
        switch nodes[waiter]!.wait {
        case .join: return "waits for task \(next) (join)"
        case .group: return "waits for its child task \(next) (group.next)"
        case .semaphore(let facts, let holders):
            let who = holders.contains(next) ? "held by task \(next)" : "whose permit task \(next) may return"
            return "waits for semaphore \"\(facts.name)\" \(who)" + (next == waiter ? " (itself)" : "")
        case .leaked: return "waits on a leaked resource"
        }
    }

    /// Where `id`'s chain of stuck exits ends (a dead wait, or a task on a cycle), as clauses
    /// ("waits for task 15 (join), which waits on channel …") and a key naming the end.
    private func through(_ id: UInt64, stuck: Set<UInt64>, onCycle: Set<UInt64>) -> (text: String, end: String) {
        var clauses: [String] = []
        var current = id
        var seen: Set<UInt64> = [id]
        while let node = nodes[current] {
            if current != id, onCycle.contains(current) {
                clauses.append("is caught in a deadlock")
                return (clauses.joined(separator: ", which "), "cycle")
            }
            guard let next = node.exits.sorted().first(where: { stuck.contains($0) }) else {
                clauses.append(deadEnd(node))
                return (clauses.joined(separator: ", which "), "\(current)")
            }
            clauses.append(step(current, to: next))
            guard seen.insert(next).inserted else { break }
            current = next
        }
        return (clauses.joined(separator: ", which "), "?")
    }

    private func deadEnd(_ node: Node) -> String {
        switch node.wait {
        case .leaked(let resource):
            let info = resources[resource]
            let rule = info?.kind == .continuation ? "leaked-continuation" : "orphaned-channel"
            return "waits on \(info?.kind.rawValue ?? "a resource") \"\(info?.name ?? "?")\", "
                + "which nothing can complete (\(rule))"
        case .semaphore(let facts, let holders):
            return "waits for semaphore \"\(facts.name)\", whose permits finished "
                + "\(Set(holders).count == 1 ? "task" : "tasks") \(list(firstIDs(Set(holders)))) still hold (leaked-permit)"
        case .join, .group:
            return "waits forever"
        }
    }

    private func plural(_ count: Int, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

    private func list(_ ids: [UInt64]) -> String { ids.map(String.init).joined(separator: ", ") }
}

import ScopeProtocol

extension Registry {
    /// One page of the tasks matching `query`, read at one moment: every row's times and the
    /// page's `capturedAt` come from the same clock reading.
    ///
    /// Cost: one pass over every task, in slices under its shard's lock (see
    /// ``forEachRecord(in:live:finished:pruning:_:)``), to filter and take a sort key, a selection of the first `offset + limit` matches in order (a full
    /// sort only for pages deep into the list), and a `TaskInfo` for the page's rows only.
    /// `rule` is the filter of `query.rule`, which the agent builds (see ``Agent/page(_:)``).
    /// `now` is the moment times are measured at (the clock's reading when `nil`).
    /// `madeAt` is the resources made at `query.resourceSite` (the agent finds them), or `nil`
    /// for no such filter.
    func page(_ query: TaskQuery, rule: RuleFilter? = nil, madeAt: Set<UInt64>? = nil, now: UInt64? = nil) -> TaskPage {
        let now = now ?? clock.now()
        let text = TaskTextMatch(query.text)
        let minWaitNanos = query.minWait.map { Duration.seconds($0).nanoseconds }
        typealias Match = (record: TaskRecord, key: UInt64)
        var matches: [Match] = []
        forEachRecord(live: query.state != .finished, finished: query.state == nil || query.state == .finished) {
            record in
            guard
                Registry.matches(
                    record, query, text: text, minWaitNanos: minWaitNanos, rule: rule, madeAt: madeAt, now: now)
            else { return true }
            let key: UInt64
            switch query.sort {
            case .id, .name, .reason: key = record.id
            case .state: key = TaskQuery.SortKey.rank(record.state)
            // The keys of `age` and `wait` are the very numbers the rows report (their bits
            // order as the numbers do), so that ties and their order by id are the same
            // here as in a query over the rows (`LocalQuery`).
            case .age: key = milliseconds(clock.wall(record.created)).bitPattern
            case .wait:
                let phase = record.phase
                key = phase.isWaiting ? record.inState(phase, clock: clock, now: now).bitPattern : 0
            }
            matches.append((record, key))
            return true
        }
        let descending = query.isDescending
        let inOrder: (Match, Match) -> Bool
        switch query.sort {
        case .name:
            inOrder = { lhs, rhs in
                if lhs.record.name != rhs.record.name {
                    return (lhs.record.name < rhs.record.name) != descending
                }
                return lhs.key < rhs.key
            }
        case .reason:
            inOrder = { lhs, rhs in
                let (left, right) = (lhs.record.wait?.reason ?? "", rhs.record.wait?.reason ?? "")
                if left != right { return TaskQuery.SortKey.reasonOrder(left, right) != descending }
                return lhs.key < rhs.key
            }
        case .age:
            // Oldest first means ascending creation time, so "descending age" is ascending `created`.
            inOrder = { lhs, rhs in
                lhs.key != rhs.key ? (lhs.key < rhs.key) == descending : lhs.record.id < rhs.record.id
            }
        case .id, .wait, .state:
            inOrder = { lhs, rhs in
                lhs.key != rhs.key ? (lhs.key < rhs.key) != descending : lhs.record.id < rhs.record.id
            }
        }
        // Counted before the selection below keeps only the first rows.
        let total = matches.count
        let start = min(query.offset, total)
        let end = min(start + query.limit, total)
        // A page near the top needs only the first `end` in order, not all of them: a million
        // matches sort in about a second, their first hundred are selected in a pass.
        if end < total / Registry.selectionRatio {
            matches = matches.smallest(end, by: inOrder)
        } else {
            matches.sort(by: inOrder)
        }
        let rows = matches[start..<end].map { info($0.record, now: now) }
        return TaskPage(total: total, offset: query.offset, tasks: rows, capturedAt: clock.capturedAt(now))
    }

    /// A page selects its rows with a heap instead of sorting every match when it ends before
    /// `1/selectionRatio` of the matches.
    static let selectionRatio = 8

    /// One task with its parent and children, or `nil` when the id is unknown.
    ///
    /// Cost: a pass over every task to find the children; this is a rare request.
    func detail(id: UInt64) -> TaskDetail? {
        guard let record = record(id: id) else { return nil }
        let now = clock.now()
        let parent = record.parentID == 0 ? nil : self.record(id: record.parentID)
        let children = records { $0.parentID == id }.sorted { $0.id < $1.id }
        return TaskDetail(
            task: info(record, now: now),
            parent: parent.map { info($0, now: now) },
            children: children.map { info($0, now: now) })
    }

    /// Whether a record passes a query's filters. Call with its shard lock held.
    static func matches(
        _ record: TaskRecord, _ query: TaskQuery, text: TaskTextMatch?, minWaitNanos: UInt64?, rule: RuleFilter?,
        madeAt: Set<UInt64>? = nil, now: UInt64
    ) -> Bool {
        switch query.state {
        case nil: break
        case .live?: if record.state == .finished { return false }
        case .active?: if record.state != .active { return false }
        case .waiting?: if record.state != .waiting { return false }
        case .finished?: if record.state != .finished { return false }
        }
        if let wait = query.wait, record.wait?.reason != wait { return false }
        if let site = query.waitSite, record.wait?.file != site.file || record.wait?.line != site.line { return false }
        if let site = query.spawnSite, record.spawnFile != site.file || record.spawnLine != site.line { return false }
        if let resource = query.resource, record.wait?.resource != resource { return false }
        if query.resourceSite != nil {
            guard let resource = record.wait?.resource, madeAt?.contains(resource) == true else { return false }
        }
        if let ids = query.ids, !ids.contains(record.id) { return false }
        if let trace = query.trace, record.traceID != trace { return false }
        if let minWaitNanos {
            let phase = record.phase
            guard phase.isWaiting, now &- min(phase.since, now) >= minWaitNanos else { return false }
        }
        if let text {
            let wait = record.wait
            let function = record.spawnFunction
            let found = text.matches(
                id: record.id, name: record.name, spawnFile: record.spawnFile, spawnLine: record.spawnLine,
                spawnFunction: function.isEmpty ? nil : function, waitFile: wait?.file, waitLine: wait?.line,
                trace: record.traceID)
            if !found { return false }
        }
        if let rule, !rule.holds(for: record, now: now) { return false }
        return true
    }

    /// Live tasks grouped by wait reason, wait site and spawn site, largest first.
    ///
    /// Cost: one pass over the live tasks, in slices under their shard's lock, grouping them by
    /// their shared wait and spawn points (a pointer hash each), then a merge of the
    /// points' groups by place and a sort of the groups.
    ///
    /// A group's `longest` is the largest `inState` its tasks' rows would report at `now` (the
    /// clock's reading when `nil`).
    func groups(_ query: GroupQuery, now: UInt64? = nil) -> GroupList {
        let now = now ?? clock.now()
        struct Points: Hashable {
            var wait: ObjectIdentifier?
            var spawn: ObjectIdentifier
        }
        // The values hold the points too: a point freed meanwhile could lend its address to another.
        var byPoints: [Points: (held: (WaitPoint?, SpawnPoint), group: SiteGroup)] = [:]
        forEachRecord(live: true, finished: false) { record in
            if let wait = query.wait, record.wait?.reason != wait { return true }
            let points = Points(
                wait: record.wait.map { ObjectIdentifier($0.point) }, spawn: ObjectIdentifier(record.spawnPoint))
            if byPoints[points] == nil {
                let key = SiteGroup.Key(
                    reason: record.wait?.reason,
                    waitSite: record.wait.map { SourceSite(file: $0.file, line: $0.line) },
                    spawnSite: SourceSite(
                        file: record.spawnFile, line: record.spawnLine,
                        function: record.spawnFunction.isEmpty ? nil : record.spawnFunction))
                byPoints[points] = ((record.wait?.point, record.spawnPoint), SiteGroup(key: key))
            }
            byPoints[points]!.group.add(id: record.id, inState: record.inState(record.phase, clock: clock, now: now))
            return true
        }
        var groups: [SiteGroup.Key: SiteGroup] = [:]
        for (_, group) in byPoints.values { groups[group.key, default: SiteGroup(key: group.key)].merge(group) }
        let sorted = groups.values.sorted(by: SiteGroup.byImportance)
        return GroupList(total: sorted.count, groups: Array(sorted.prefix(query.limit)))
    }
}

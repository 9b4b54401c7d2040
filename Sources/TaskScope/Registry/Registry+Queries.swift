import ScopeProtocol

extension Registry {
    /// One page of the tasks matching `query`.
    ///
    /// Cost: one pass over every task under its shard lock to filter and take a
    /// sort key, a selection of the first `offset + limit` matches in order (a full
    /// sort only for pages deep into the list), and a `TaskInfo` for the page's rows only.
    func page(_ query: TaskQuery) -> TaskPage {
        let now = AgentClock.coarse()
        let needle = query.text.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        let minWaitNanos = query.minWait.map { Duration.seconds($0).nanoseconds }
        typealias Match = (record: TaskRecord, key: UInt64)
        var matches: [Match] = []
        for shard in shards {
            shard.state.withLock { state in
                func consider(_ record: TaskRecord) {
                    guard Registry.matches(record, query, needle: needle, minWaitNanos: minWaitNanos, now: now)
                    else { return }
                    let key: UInt64
                    switch query.sort {
                    case .id, .name, .reason: key = record.id
                    case .state: key = TaskQuery.SortKey.rank(record.state)
                    case .age: key = record.created
                    case .wait:
                        let phase = record.phase
                        key = phase.isWaiting ? now &- min(phase.since, now) : 0
                    }
                    matches.append((record, key))
                }
                if query.state != .finished {
                    state.forEachLive { consider($0) }
                }
                if query.state == nil || query.state == .finished {
                    state.finished.forEach { consider($0) }
                }
            }
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
        let start = min(query.offset, matches.count)
        let end = min(start + query.limit, matches.count)
        // A page near the top needs only the first `end` in order, not all of them: a million
        // matches sort in about a second, their first hundred are selected in a pass.
        if end < matches.count / 8 {
            matches = matches.smallest(end, by: inOrder)
        } else {
            matches.sort(by: inOrder)
        }
        let rows = matches[start..<end].map { info($0.record, now: now) }
        return TaskPage(total: matches.count, offset: query.offset, tasks: rows)
    }

    /// One task with its parent and children, or `nil` when the id is unknown.
    ///
    /// Cost: a pass over every task to find the children; this is a rare request.
    func detail(id: UInt64) -> TaskDetail? {
        guard let record = record(id: id) else { return nil }
        let now = AgentClock.coarse()
        let parent = record.parentID == 0 ? nil : self.record(id: record.parentID)
        let children = records { $0.parentID == id }.sorted { $0.id < $1.id }
        return TaskDetail(
            task: info(record, now: now),
            parent: parent.map { info($0, now: now) },
            children: children.map { info($0, now: now) })
    }

    /// Whether a record passes a query's filters. Call with its shard lock held.
    static func matches(
        _ record: TaskRecord, _ query: TaskQuery, needle: String?, minWaitNanos: UInt64?, now: UInt64
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
        if let minWaitNanos {
            let phase = record.phase
            guard phase.isWaiting, now &- min(phase.since, now) >= minWaitNanos else { return false }
        }
        if let needle {
            let found =
                record.name.lowercased().contains(needle) || record.spawnFile.lowercased().contains(needle)
                || record.spawnFunction.lowercased().contains(needle)
                || (record.wait?.file.lowercased().contains(needle) ?? false)
            if !found { return false }
        }
        return true
    }

    /// Live tasks grouped by wait reason, wait site and spawn site, largest first.
    ///
    /// Cost: one pass over the live tasks under their shard locks, grouping them by
    /// their shared wait and spawn points (a pointer hash each), then a merge of the
    /// points' groups by place and a sort of the groups.
    func groups(_ query: GroupQuery) -> GroupList {
        struct Points: Hashable {
            var wait: ObjectIdentifier?
            var spawn: ObjectIdentifier
        }
        let now = AgentClock.coarse()
        // The values hold the points too: a point freed meanwhile could lend its address to another.
        var byPoints: [Points: (held: (WaitPoint?, SpawnPoint), group: SiteGroup)] = [:]
        for shard in shards {
            shard.state.withLock { state in
                state.forEachLive { record in
                    if let wait = query.wait, record.wait?.reason != wait { return }
                    let points = Points(
                        wait: record.wait.map { ObjectIdentifier($0.point) }, spawn: ObjectIdentifier(record.spawnPoint)
                    )
                    if byPoints[points] == nil {
                        let key = SiteGroup.Key(
                            reason: record.wait?.reason,
                            waitSite: record.wait.map { SourceSite(file: $0.file, line: $0.line) },
                            spawnSite: SourceSite(
                                file: record.spawnFile, line: record.spawnLine,
                                function: record.spawnFunction.isEmpty ? nil : record.spawnFunction))
                        byPoints[points] = ((record.wait?.point, record.spawnPoint), SiteGroup(key: key))
                    }
                    byPoints[points]!.group.add(
                        id: record.id, inState: AgentClock.seconds(from: record.stateSince, to: now))
                }
            }
        }
        var groups: [SiteGroup.Key: SiteGroup] = [:]
        for (_, group) in byPoints.values { groups[group.key, default: SiteGroup(key: group.key)].merge(group) }
        let sorted = groups.values.sorted(by: SiteGroup.byImportance)
        return GroupList(total: sorted.count, groups: Array(sorted.prefix(query.limit)))
    }
}

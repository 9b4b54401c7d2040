import ScopeProtocol
import Synchronization

/// Evaluates the leak rules over the registry, its resources and the
/// sampler's history (the wait-for graph's rules in ``WaitForGraph``).
///
/// Cost: one pass over the resources, one pass over the live tasks (for
/// stuck waits and ignored cancellations) and one over the recent samples;
/// never tasks times resources. Runs off the hot path: on the sampler's
/// tick and when a client asks.
struct LeakRules {
    let settings: TaskScope.RuleSettings
    /// The spawn sites `runaway-spawn` has flagged, kept across evaluations (see ``RunawaySites``).
    let runaway: RunawaySites
    /// The wait sites `stuck-wait` watches for pile-ups, kept across evaluations (see ``WaitPiles``).
    let piles: WaitPiles

    init(settings: TaskScope.RuleSettings, runaway: RunawaySites = RunawaySites(), piles: WaitPiles = WaitPiles()) {
        self.settings = settings
        self.runaway = runaway
        self.piles = piles
    }

    /// With `observingCancellation`, every live task is asked whether it has been cancelled
    /// (a read of each task's status: at a million tasks, most of the rules' time); without,
    /// cancellations seen by earlier evaluations are used.
    ///
    /// `now` (monotonic nanoseconds; the registry's clock's reading when `nil`) is the moment every
    /// time is measured at.
    ///
    /// With `folding` (the default), the per-resource warnings of one bug at one line are one
    /// warning (see ``ResourceWarningGroups``); a `tasks` query's rule filter wants them apart.
    func evaluate(
        registry: Registry, samples: [HistorySample], observingCancellation: Bool = true, now: UInt64? = nil,
        folding: Bool = true
    ) -> [Warning] {
        let context = ReportContext(registry: registry, now: now ?? registry.clock.now())
        let resources = registry.resources.reports(context)
        var warnings: [Warning] = []
        for resource in resources {
            switch resource.kind {
            case .channel: warnings += channelWarnings(resource)
            case .ticker, .timer: warnings += timerWarnings(resource, registry: registry)
            case .continuation: warnings += continuationWarnings(resource)
            case .semaphore: break
            case .waitGroup: warnings += waitGroupWarnings(resource)
            }
        }
        if folding { warnings = ResourceWarningGroups.group(warnings) }
        let byID = Dictionary(resources.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        if observingCancellation, settings.isOn(.ignoredCancellation) {
            Adoptions.shared.noteCancellations(now: context.now)
        }
        // The graph first: the tasks it proves stuck get its definite warning, not a suspect too.
        let proven = WaitForGraph.warnings(registry: registry, resources: byID, settings: settings)
        warnings += taskWarnings(
            registry: registry, now: context.now, resources: byID, proven: proven.tasks,
            observingCancellation: observingCancellation)
        warnings += proven.warnings
        if settings.isOn(.abandonedChannel) {
            warnings += AbandonedChannelRule(settings: settings).warnings(
                registry: registry, resources: byID, now: context.now)
        }
        if settings.isOn(.runawaySpawn) {
            warnings += runawayWarnings(samples, live: registry.counts().sites)
        }
        return warnings.sorted { lhs, rhs in
            if lhs.severity != rhs.severity { return lhs.severity < rhs.severity }
            if lhs.tasks != rhs.tasks { return lhs.tasks > rhs.tasks }
            return (lhs.resource ?? 0, lhs.site?.description ?? "") < (rhs.resource ?? 0, rhs.site?.description ?? "")
        }
    }

    // MARK: Resources

    private func channelWarnings(_ channel: ResourceInfo) -> [Warning] {
        guard settings.isOn(.orphanedChannel), channel.orphaned else { return [] }
        let place = "channel \"\(channel.name)\" (\(channel.site))"
        var warnings: [Warning] = []
        let sending = channel.blockedSending ?? 0
        let buffered = channel.buffered ?? 0
        if (sending > 0 || buffered > 0) && channel.receivers == 0 {
            var what: [String] = []
            if sending > 0 { what.append("\(plural(sending, "task")) blocked sending") }
            if buffered > 0 { what.append("\(plural(buffered, "value")) buffered") }
            warnings.append(
                Warning(
                    rule: .orphanedChannel, resource: channel.id, name: channel.name, site: channel.site,
                    reason: sending > 0 ? WaitReason.channelSend : nil, tasks: sending,
                    taskIDs: channel.blockedSendingIDs ?? [], since: channel.receiversGoneAt,
                    message: "\(place): \(what.joined(separator: ", ")) and no receiver left",
                    hint: "keep a receiver until every sender is done, or give the channel room (capacity 1 for a "
                        + "result nobody may wait for) and finish it"))
        }
        let receiving = channel.blockedReceiving ?? 0
        if receiving > 0 && channel.state != "finished" && channel.senders == 0 {
            warnings.append(
                Warning(
                    rule: .orphanedChannel, resource: channel.id, name: channel.name, site: channel.site,
                    reason: WaitReason.channelReceive, tasks: receiving, taskIDs: channel.blockedReceivingIDs ?? [],
                    since: channel.sendersGoneAt,
                    message: "\(place): \(plural(receiving, "task")) blocked receiving, no sender left, "
                        + "and the channel was never finished",
                    hint: "finish() the channel when the last sender is done (defer sender.finish()), "
                        + "so the receivers' loops end"))
        }
        return warnings
    }

    private func timerWarnings(_ timer: ResourceInfo, registry: Registry) -> [Warning] {
        guard settings.isOn(.orphanedTimer), timer.orphaned else { return [] }
        let kind = timer.kind == .ticker ? "ticker" : "timer"
        let whose = timer.owner.map { "its owner task \($0) has finished" } ?? "no tracked task owns it"
        let message =
            timer.kind == .ticker
            ? "ticker \"\(timer.name)\" (\(timer.site)) is still armed, but \(whose) and no task has waited on it "
                + "for \(TimerState.idlePeriods) periods"
            : "\(kind) \"\(timer.name)\" (\(timer.site)) is still armed, but \(whose)"
        return [
            Warning(
                rule: .orphanedTimer, resource: timer.id, name: timer.name, site: timer.site,
                reason: (timer.waiting ?? 0) > 0 ? WaitReason.timer : nil, tasks: timer.waiting ?? 0,
                taskIDs: timer.waitingIDs ?? [], owner: timer.owner,
                since: timer.ownerFinishedAt,
                message: message,
                hint: timer.kind == .ticker
                    ? "stop() the ticker when its last user is done with it (defer ticker.stop()), or keep a task "
                        + "waiting on it"
                    : "cancel() the timer before its owner returns, or handOver() it to the task that waits on it")
        ]
    }

    private func continuationWarnings(_ continuation: ResourceInfo) -> [Warning] {
        guard settings.isOn(.leakedContinuation), continuation.state == "leaked" else { return [] }
        let waiters = continuation.waitingIDs ?? []
        let who = waiters.first.map { "task \($0) waits on it forever" } ?? "a task waits on it forever"
        return [
            Warning(
                rule: .leakedContinuation, resource: continuation.id, name: continuation.name,
                site: continuation.site, reason: WaitReason.continuation, tasks: max(1, waiters.count),
                taskIDs: waiters,
                message: "continuation \"\(continuation.name)\" (\(continuation.site)) was destroyed without being "
                    + "resumed; \(who)",
                hint: "resume the continuation on every path, errors included (resume(with:) or a defer)")
        ]
    }

    // MARK: Tasks

    private struct Group {
        var count = 0
        var ids: [UInt64] = []
        var longest: UInt64 = 0
        /// The longest wait of a stuck group in seconds, as a task's row reports it (`inState`),
        /// so that the warning says what the rows and the groups say at the same moment.
        var longestWait: Double = 0
        var resources: Set<UInt64> = []
        /// The name and function of the group's oldest task (the smallest id, `namedBy`), so
        /// that a warning names the same task whatever order the shards and slices came in.
        var name = ""
        var function = ""
        private var namedBy = UInt64.max

        /// The largest id kept, once `ids` is full.
        private var largestKept: UInt64 = 0

        /// Adds the tasks of `other`, a group of the same place from another shard.
        mutating func merge(_ other: Group) {
            count += other.count
            for id in other.ids { keepIfAmongSmallest(id) }
            longest = max(longest, other.longest)
            longestWait = max(longestWait, other.longestWait)
            resources.formUnion(other.resources)
            if other.namedBy < namedBy {
                (name, function, namedBy) = (other.name, other.function, other.namedBy)
            }
        }

        mutating func add(_ record: TaskRecord, elapsed: UInt64, resource: UInt64 = 0) {
            count += 1
            keepIfAmongSmallest(record.id)
            longest = max(longest, elapsed)
            if resource != 0 { resources.insert(resource) }
            if record.id < namedBy {
                (name, function, namedBy) = (record.name, record.spawnFunction, record.id)
            }
        }

        /// Keeps the `ResourceInfo.idLimit` smallest ids: a warning names only those, and
        /// collecting a million ids to sort them would cost more than the rest of the rule.
        private mutating func keepIfAmongSmallest(_ id: UInt64) {
            if ids.count < ResourceInfo.idLimit {
                ids.append(id)
                largestKept = max(largestKept, id)
                return
            }
            guard id < largestKept, let index = ids.firstIndex(of: largestKept) else { return }
            ids[index] = id
            largestKept = ids.max() ?? id
        }
    }

    private func taskWarnings(
        registry: Registry, now: UInt64, resources: [UInt64: ResourceInfo], proven: Set<UInt64>,
        observingCancellation: Bool
    ) -> [Warning] {
        let stuckOn = settings.isOn(.stuckWait)
        let cancelOn = settings.isOn(.ignoredCancellation)
        guard stuckOn || cancelOn else { return [] }
        let stuckAfter = settings.stuckWait.nanoseconds
        let cancelAfter = settings.ignoredCancellation.nanoseconds
        // Grouped first by the shard's point objects, which hash as one pointer, then merged by
        // place: a million stuck tasks cost a million pointer hashes, not string hashes.
        var stuckAtPoint: [ObjectIdentifier: (point: WaitPoint, group: Group)] = [:]
        var ignoringAtPoint: [ObjectIdentifier: (point: SpawnPoint, group: Group)] = [:]
        var ignoringAdopted: [ObjectIdentifier: (point: WaitPoint, group: Group)] = [:]
        let pileWindow = settings.stuckGrowthWindow.nanoseconds
        let settling = WaitPiles.settling(pileWindow)
        var settledAtPoint: [ObjectIdentifier: (point: WaitPoint, waiters: [WaitPiles.Waiter])] = [:]
        // In slices under each shard's lock: the host's spawns wait for a slice at most.
        registry.forEachRecord(live: true, finished: false) { record in
            // A wait on an orphaned or leaked resource, or one the wait-for graph proved endless, is
            // already a definite warning; not a suspect too.
            let phase = record.phase
            if stuckOn, phase.isWaiting, let point = record.waitPoint, proven.isEmpty || !proven.contains(record.id) {
                let waited = now &- min(phase.since, now)
                let resource = record.waitResource
                if waited >= min(stuckAfter, settling), resource == 0 || !(resources[resource]?.orphaned ?? false) {
                    if waited >= settling {
                        settledAtPoint[ObjectIdentifier(point), default: (point, [])].waiters.append(
                            WaitPiles.Waiter(since: phase.since, id: record.id))
                    }
                    if waited >= stuckAfter {
                        stuckAtPoint[ObjectIdentifier(point), default: (point, Group())].group
                            .add(record, elapsed: waited, resource: resource)
                        stuckAtPoint[ObjectIdentifier(point)]!.group.longestWait = max(
                            stuckAtPoint[ObjectIdentifier(point)]!.group.longestWait,
                            record.inState(phase, clock: registry.clock, now: now))
                    }
                }
            }
            if cancelOn, observingCancellation ? record.observeCancellation(now: now) : record.cancelledAt != 0 {
                let since = now &- min(record.cancelledAt, now)
                if since >= cancelAfter {
                    if record.adopted {
                        // An untracked task (an `async let` child, a plain task) seen waiting: it has no
                        // spawn site, so it is grouped by where it waits.
                        if let point = record.waitPoint {
                            ignoringAdopted[ObjectIdentifier(point), default: (point, Group())].group
                                .add(record, elapsed: since)
                        }
                    } else {
                        ignoringAtPoint[ObjectIdentifier(record.spawnPoint), default: (record.spawnPoint, Group())]
                            .group.add(record, elapsed: since)
                    }
                }
            }
            return true
        }
        // Sites declared long-lived in code are never stuck.
        let long = stuckOn ? LongWaits.shared.declared : []
        var stuck: [WaitPointKey: Group] = [:]
        for (point, group) in stuckAtPoint.values where !long.contains(point.key) {
            stuck[point.key, default: Group()].merge(group)
        }
        var settled: [WaitPointKey: [WaitPiles.Waiter]] = [:]
        for (point, waiters) in settledAtPoint.values where !long.contains(point.key) {
            settled[point.key, default: []] += waiters
        }
        let piled =
            stuckOn
            ? piles.piles(settled, now: now, window: pileWindow, growth: settings.stuckGrowth) : [:]
        var ignoring: [SiteKey: Group] = [:]
        for (point, group) in ignoringAtPoint.values { ignoring[point.key, default: Group()].merge(group) }
        var warnings: [Warning] = []
        for (key, pile) in piled where stuck[key] == nil {
            let site = SourceSite(file: key.file, line: key.line)
            warnings.append(
                Warning(
                    rule: .stuckWait, site: site, reason: key.reason, tasks: pile.count, taskIDs: pile.ids,
                    since: registry.clock.wall(pile.oldest),
                    message: "\(plural(pile.count, "task")) piled up waiting on \(key.reason) at \(site) over the last "
                        + "\(seconds(now &- min(pile.oldest, now))), and none of the settled ones has left: a leak adds "
                        + "tasks at its site and never lets them go (a steady long wait does not grow)",
                    hint: stuckHint(key.reason)
                        + "; if these waits are meant to last, declare them: TaskScope.waiting(on:expectedLong: true)"))
        }
        for (key, group) in stuck {
            let site = SourceSite(file: key.file, line: key.line)
            var message =
                "\(plural(group.count, "task")) waiting on \(key.reason) at \(site) for up to "
                + "\(DurationText.format(group.longestWait))"
            var owner: UInt64?
            let resource = group.resources.count == 1 ? group.resources.first : nil
            if let resource, let info = resources[resource] {
                message += " (\(info.kind.rawValue) \"\(info.name)\")"
                if let finished = info.finishedHolders, !finished.isEmpty {
                    message += "; its permits are held by finished tasks \(list(finished))"
                    owner = finished.first
                }
            }
            warnings.append(
                Warning(
                    rule: .stuckWait, resource: resource, name: resource.flatMap { resources[$0]?.name }, site: site,
                    reason: key.reason, tasks: group.count, taskIDs: firstIDs(group.ids), owner: owner,
                    message: message, hint: stuckHint(key.reason)))
        }
        // When a cancellation happened is known only from the pass that first saw it (a handler
        // in every task would cost each spawn more than the rest of its tracking), so the age
        // is a lower bound, and passes run every second to keep it within a second or so.
        let cancelHint =
            "check Task.isCancelled or call try Task.checkCancellation() in its loop, and pass cancellation to "
            + "what it awaits"
        for (site, group) in ignoring {
            let spawn = SourceSite(file: site.file, line: site.line, function: group.function)
            warnings.append(
                Warning(
                    rule: .ignoredCancellation, name: group.name, site: spawn, tasks: group.count,
                    taskIDs: firstIDs(group.ids),
                    message: "\(plural(group.count, "task")) spawned at \(site) (\"\(group.name)\") "
                        + "cancelled at least \(seconds(group.longest)) ago and still running",
                    hint: cancelHint))
        }
        var adopted: [WaitPointKey: Group] = [:]
        for (point, group) in ignoringAdopted.values { adopted[point.key, default: Group()].merge(group) }
        for (key, group) in adopted {
            let site = SourceSite(file: key.file, line: key.line)
            warnings.append(
                Warning(
                    rule: .ignoredCancellation, name: group.name, site: site, reason: key.reason, tasks: group.count,
                    taskIDs: firstIDs(group.ids),
                    message: "\(plural(group.count, "untracked task")) (\"\(group.name)\"; a plain task or an "
                        + "async let child) waiting on \(key.reason) at \(site), cancelled at least "
                        + "\(seconds(group.longest)) ago and still running",
                    hint: cancelHint))
        }
        return warnings
    }

    private func stuckHint(_ reason: String) -> String {
        switch reason {
        case WaitReason.semaphore:
            "a permit is not coming back: release it on every path (withPermit does), or bound the work it guards"
        case WaitReason.channelSend: "nobody receives fast enough, or at all: check the receiving side"
        case WaitReason.channelReceive: "nothing is sent: check the sending side, and finish() the channel when done"
        case WaitReason.continuation: "the callback never comes: resume the continuation on every path"
        case WaitReason.timer: "a long timer: check its interval, or stop it"
        default: "check what should end this wait, and give it a timeout or honour cancellation"
        }
    }

    // MARK: History

    /// A spawn site whose live count grew by `runawayGrowth` across the window, rising through
    /// most of it (see `grewThroughout`: a burst is not a runaway), is flagged, and
    /// stays flagged while its tasks do not go away: until its live count falls `runawayGrowth`
    /// below the highest it reached. A leak that stops growing (at a cap, or when its trigger
    /// stops) is still a leak while its tasks live; healthy churn that rises and falls back is not.
    /// The warning's `tasks` is the site's live count now, as a `tasks` query would count it.
    private func runawayWarnings(_ samples: [HistorySample], live: [SiteKey: Int]) -> [Warning] {
        let width = min(settings.runawayWindow, samples.count)
        guard width >= 2, let latest = samples.last else { return [] }
        let liveBySite = Dictionary(live.map { ($0.key.description, $0.value) }, uniquingKeysWith: +)
        // Sites that grew across a window anywhere in the history (not only the last one: the
        // rules may not run while a site grows), and have not fallen back since.
        var growing: [String: RunawaySites.Flag] = [:]
        var growingNow: Set<String> = []
        for site in latest.sites.keys {
            guard let found = lastGrowth(of: site, in: samples, width: width) else { continue }
            growing[site] = found.flag
            if found.isLatest { growingNow.insert(site) }
        }
        let flagged = runaway.update(growing: growing, live: liveBySite, fallBy: settings.runawayGrowth)
        return flagged.sorted { $0.key < $1.key }.map { site, flag in
            let count = liveBySite[site] ?? 0
            let message: String
            if growingNow.contains(site), let growth = growing[site] {
                let span = latest.time - growth.since
                message =
                    "spawn site \(site) has \(count) live tasks, up \(count - growth.base) in the last "
                    + "\(DurationText.format(span))"
            } else {
                let span = latest.time - flag.since
                message =
                    "spawn site \(site) has \(count) live tasks, up \(count - flag.base) in the last "
                    + "\(DurationText.format(span)); it stopped growing, and its tasks are not finishing"
            }
            return Warning(
                rule: .runawaySpawn, site: SourceLocationText.parse(site), tasks: count, taskIDs: [],
                since: flag.since, message: message,
                hint: "bound the concurrency (a TrackedSemaphore, or a task group that waits as it adds), "
                    + "or make the spawned tasks finish")
        }
    }

    /// The last window of `width` samples across which `site` grew by `runawayGrowth` or more,
    /// falling in at most a tenth of its steps, if the site has not fallen `runawayGrowth` below
    /// its highest count since; and whether that window is the latest.
    ///
    /// Cost: one pass over the samples (the ring: 600 by default).
    private func lastGrowth(
        of site: String, in samples: [HistorySample], width: Int
    ) -> (
        flag: RunawaySites.Flag, isLatest: Bool
    )? {
        // A sample that is full (as many sites as it keeps) says nothing about a site it lacks.
        let known = samples.map { sample in
            sample.sites[site] ?? (sample.sites.count >= Sampler.siteLimit ? nil : 0)
        }
        var unknownBefore = [0]
        var fallsBefore = [0]
        for index in known.indices {
            unknownBefore.append(unknownBefore[index] + (known[index] == nil ? 1 : 0))
            let fell = index > 0 && (known[index] ?? 0) < (known[index - 1] ?? 0)
            fallsBefore.append(fallsBefore[index] + (fell ? 1 : 0))
        }
        var peak = 0
        for end in known.indices.reversed() {
            peak = max(peak, known[end] ?? 0)
            let start = end - width + 1
            guard start >= 0 else { break }
            guard unknownBefore[end + 1] - unknownBefore[start] == 0, let first = known[start],
                let last = known[end], last - first >= settings.runawayGrowth
            else { continue }
            // A leak climbs; healthy churn goes up and down. Allow the odd dip.
            let falls = fallsBefore[end + 1] - fallsBefore[start + 1]
            guard falls * 10 <= width - 1, grewThroughout(known[start...end]) else { continue }
            let current = known.last.flatMap { $0 } ?? 0
            guard current > peak - settings.runawayGrowth else { return nil }
            return (RunawaySites.Flag(base: first, peak: peak, since: samples[start].time), end == known.count - 1)
        }
        return nil
    }

    /// Whether the counts of a window rose in most of its sub-intervals (three of four; all but
    /// one, and at least one, when the window has fewer than four steps), as a leak's do: a fixed pool started at
    /// once rises in one step and stays, which a comparison of the window's ends alone took
    /// for a runaway. The counts are known (no `nil`) where this is asked.
    private func grewThroughout(_ window: ArraySlice<Int?>) -> Bool {
        let steps = window.count - 1
        let parts = min(4, steps)
        guard parts > 0 else { return false }
        var rising = 0
        for part in 0..<parts {
            let from = window.startIndex + part * steps / parts
            let to = window.startIndex + (part + 1) * steps / parts
            if (window[to] ?? 0) > (window[from] ?? 0) { rising += 1 }
        }
        return rising >= (parts >= 4 ? 3 : max(1, parts - 1))
    }

    // MARK: Words

    private func plural(_ count: Int, _ noun: String) -> String { count == 1 ? "1 \(noun)" : "\(count) \(noun)s" }

    private func seconds(_ nanoseconds: UInt64) -> String { DurationText.format(Double(nanoseconds) / 1e9) }

    private func list(_ ids: [UInt64]) -> String { ids.map(String.init).joined(separator: ", ") }
}

/// Reads `file:line` back into a site.
enum SourceLocationText {
    static func parse(_ text: String) -> SourceSite {
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) else {
            return SourceSite(file: text, line: 0)
        }
        return SourceSite(file: String(text[..<colon]), line: line)
    }
}

/// The spawn sites `runaway-spawn` flagged, remembered between evaluations so that a site that
/// stops growing stays flagged while its tasks live (see `LeakRules.runawayWarnings`).
final class RunawaySites: Sendable {
    /// Where a flagged site started from, the highest live count it reached, and since when.
    struct Flag: Sendable, Equatable {
        var base: Int
        var peak: Int
        var since: Double
    }

    private let flags = Mutex<[String: Flag]>([:])

    /// Flags the `growing` sites (keeping the earlier start of one already flagged), forgets
    /// each flagged site whose live count fell `fallBy` below its peak, and returns the flags.
    func update(growing: [String: Flag], live: [String: Int], fallBy: Int) -> [String: Flag] {
        flags.withLock { flags in
            for (site, flag) in growing {
                if let old = flags[site] {
                    flags[site] = Flag(base: old.base, peak: max(old.peak, flag.peak), since: old.since)
                } else {
                    flags[site] = flag
                }
            }
            for (site, flag) in flags {
                let count = live[site] ?? 0
                if count <= flag.peak - fallBy {
                    flags[site] = nil
                } else if count > flag.peak {
                    flags[site]?.peak = count
                }
            }
            return flags
        }
    }
}

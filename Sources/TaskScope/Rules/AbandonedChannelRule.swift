import ScopeProtocol

/// What `abandoned-channel` reads of a channel, from one moment under its lock.
struct ChannelUsage {
    var id: UInt64
    var finished: Bool
    var sendersAlive: Int
    var receiversAlive: Int
    var blockedSending: [UInt64]
    var blockedReceiving: [UInt64]
    var sendUsers: ChannelUsers
    var receiveUsers: ChannelUsers
    /// Whether a task serving a request made it (see ``TaskRecord/servesRequest``): the
    /// request's own channel, rather than one its service shares between requests.
    var madeServingRequest: Bool
}

/// A channel that can say who has used it (every `ChannelCore`, whatever its element).
protocol ChannelUsageReporting: TrackedResource {
    func usage() -> ChannelUsage
}

/// `abandoned-channel`, a suspect: tasks blocked on one side of a channel whose other side
/// still has a live endpoint, but which no live task has used since its last user finished.
///
/// `orphaned-channel` proves the leak when the other side's endpoint object is gone. When
/// something keeps it (the blocked task's own frame, an object its loop captured, a global),
/// Swift cannot say whether a live task can still reach it: that takes a tracing collector.
/// What the channel knows is who used each side (see ``ChannelUsers``): when every task that
/// ever sent (received) is finished, or blocked on this same channel, and the last of them
/// finished at least the threshold ago, the waits are most likely forever, and the warning
/// says why. A side used by an untracked task, or by more tasks than are kept, or never used
/// at all (a listener on a channel nobody has sent to yet), proves nothing and is left alone;
/// so is a side a request used (a request scope or a task it started) of a channel made outside
/// any request: a service's worker pool fed by its requests is idle between them, not abandoned
/// (the next request may send). A channel a request made for itself is judged as any other.
///
/// Cost: one look at each live channel and the few users it keeps.
struct AbandonedChannelRule {
    let settings: TaskScope.RuleSettings

    func warnings(registry: Registry, resources: [UInt64: ResourceInfo], now: UInt64) -> [Warning] {
        let after = settings.abandonedChannel.nanoseconds
        var warnings: [Warning] = []
        for case let channel as any ChannelUsageReporting in registry.resources.live(.channel) {
            let usage = channel.usage()
            guard let info = resources[usage.id], !info.orphaned else { continue }
            let receivers = usage.blockedReceiving.filter { $0 != 0 }
            if !receivers.isEmpty, !usage.finished, usage.sendersAlive > 0,
                let idle = lastUse(usage.sendUsers, of: usage), now &- min(idle.finished, now) >= after
            {
                warnings.append(
                    warning(info, side: "sending", waiting: receivers, idle: idle, registry: registry, now: now))
            }
            let senders = usage.blockedSending.filter { $0 != 0 }
            if !senders.isEmpty, usage.receiversAlive > 0,
                let idle = lastUse(usage.receiveUsers, of: usage), now &- min(idle.finished, now) >= after
            {
                warnings.append(
                    warning(info, side: "receiving", waiting: senders, idle: idle, registry: registry, now: now))
            }
        }
        return warnings
    }

    /// When the last user of a side finished, and which it was, if every user is a tracked task
    /// that has finished or is blocked on this channel, and at least one has finished; and, for a
    /// channel made outside any request, none served a request.
    private func lastUse(_ users: ChannelUsers, of usage: ChannelUsage) -> (finished: UInt64, task: UInt64)? {
        guard !users.overflowed else { return nil }
        let channel = usage.id
        var last: (finished: UInt64, task: UInt64)?
        for user in users.records {
            guard let user, usage.madeServingRequest || !user.servesRequest else { return nil }
            let phase = user.phase
            if phase.isFinished {
                if phase.since >= last?.finished ?? 0 { last = (phase.since, user.id) }
            } else if !(phase.isWaiting && user.waitResource == channel) {
                return nil
            }
        }
        return last
    }

    private func warning(
        _ channel: ResourceInfo, side: String, waiting: [UInt64], idle: (finished: UInt64, task: UInt64),
        registry: Registry, now: UInt64
    ) -> Warning {
        let receiving = side == "sending"
        let ago = DurationText.format(Double(now &- min(idle.finished, now)) / 1e9)
        let user = receiving ? "sender" : "receiver"
        let who = waiting.count == 1 ? "task \(waiting[0]) waits" : "tasks \(list(firstIDs(waiting))) wait"
        return Warning(
            rule: .abandonedChannel, resource: channel.id, name: channel.name, site: channel.site,
            reason: receiving ? WaitReason.channelReceive : WaitReason.channelSend, tasks: waiting.count,
            taskIDs: firstIDs(waiting), owner: idle.task, since: registry.clock.wall(idle.finished),
            message: "channel \"\(channel.name)\" (\(channel.site)): no live task has used its \(side) side since "
                + "its last \(user), task \(idle.task), finished \(ago) ago; \(who) to \(receiving ? "receive" : "send"). "
                + "Something still holds the \(side) endpoint, so this is not proven",
            hint: receiving
                ? "finish() the channel when the last sender is done (defer sender.finish()), so the receivers' loops end"
                : "keep receiving until the senders are done, or finish() the channel so that the senders stop")
    }

    private func list(_ ids: [UInt64]) -> String { ids.map(String.init).joined(separator: ", ") }
}

import ScopeProtocol

extension LeakRules {
    /// `leaked-wait-group`: tasks wait on a wait group whose count is above zero, and nobody can
    /// call `done()` any more (see ``WaitGroupProof``: every task that called `add` or `done` has
    /// finished or waits on the group itself, no live task descends from one of them, and no
    /// untracked task took part). The report computes the proof; this turns it into a warning.
    func waitGroupWarnings(_ group: ResourceInfo) -> [Warning] {
        guard settings.isOn(.leakedWaitGroup), group.orphaned else { return [] }
        let waiting = group.waiting ?? 0
        let count = group.count ?? 0
        let finished = group.finishedParticipants ?? []
        let who = finished.isEmpty ? "" : " (finished: task \(finished.map(String.init).joined(separator: ", ")))"
        return [
            Warning(
                rule: .leakedWaitGroup, resource: group.id, name: group.name, site: group.site,
                reason: WaitReason.waitGroup, tasks: waiting, taskIDs: group.waitingIDs ?? [],
                message:
                    "wait group \"\(group.name)\" (\(group.site)): \(waiting == 1 ? "1 task" : "\(waiting) tasks") waiting, the count "
                    + "is \(count), and every task that called add or done has finished or waits itself\(who): "
                    + "nobody can call done()",
                hint: "call done() on every path of every task that was added (defer group.done()), and add "
                    + "only as many as there are tasks")
        ]
    }
}

// Which number of each message is what, for ``WireValidatable``: times are Unix seconds,
// durations seconds, counts non-negative; see ``WireRange`` for the bounds.

extension Hello: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.time(started, "started")
        try check.duration(interval, "interval")
        try check.count(maxLineBytes, "maxLineBytes")
    }
}

extension Summary: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.time(capturedAt, "capturedAt")
        try check.duration(uptime, "uptime")
        try check.count(tasks.active, "tasks.active")
        try check.count(tasks.waiting, "tasks.waiting")
        try check.count(tasks.finished, "tasks.finished")
        try totals.validate(at: check.field("totals"))
        try check.counts(waits, "waits")
        try check.duration(interval, "interval")
        try check.counts(warnings, "warnings")
        try check.counts(resources, "resources")
    }
}

extension Summary.Totals: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.total(spawned, "spawned")
        try check.total(completed, "completed")
        try check.total(cancelled, "cancelled")
        try check.total(failed, "failed")
    }
}

extension SummaryPush: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        try summary.validate(at: WireCheck(path).field("summary"))
    }
}

extension HistorySample: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.time(time, "time")
        try check.count(active, "active")
        try check.count(waiting, "waiting")
        try totals.validate(at: check.field("totals"))
        try check.counts(waits, "waits")
        try check.counts(sites, "sites")
    }
}

extension History: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.duration(interval, "interval")
        try check.count(capacity, "capacity")
        try samples.validate(at: check.field("samples"))
    }
}

extension TaskInfo: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.time(created, "created")
        try check.duration(inState, "inState")
        try check.time(cancelledAt, "cancelledAt")
    }
}

extension TaskPage: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(total, "total")
        try check.count(offset, "offset")
        try tasks.validate(at: check.field("tasks"))
        try check.time(capturedAt, "capturedAt")
    }
}

extension TaskDetail: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try task.validate(at: check.field("task"))
        try parent?.validate(at: check.field("parent"))
        try children.validate(at: check.field("children"))
    }
}

extension ResourceInfo: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.time(created, "created")
        try check.time(ownerFinishedAt, "ownerFinishedAt")
        try check.time(sendersGoneAt, "sendersGoneAt")
        try check.time(receiversGoneAt, "receiversGoneAt")
        try check.count(capacity, "capacity")
        try check.count(buffered, "buffered")
        try check.count(senders, "senders")
        try check.count(receivers, "receivers")
        try check.count(blockedSending, "blockedSending")
        try check.count(blockedReceiving, "blockedReceiving")
        try check.count(waiting, "waiting")
    }
}

extension ResourceList: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(total, "total")
        try resources.validate(at: check.field("resources"))
    }
}

extension Warning: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(tasks, "tasks")
        try check.time(since, "since")
    }
}

extension WarningList: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        try warnings.validate(at: WireCheck(path).field("warnings"))
    }
}

extension SiteGroup: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(count, "count")
        try check.duration(longest, "longest")
    }
}

extension GroupList: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(total, "total")
        try groups.validate(at: check.field("groups"))
    }
}

extension RuleThresholds: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.duration(stuckWait, "stuckWait")
        try check.duration(ignoredCancellation, "ignoredCancellation")
        try check.count(runawayWindow, "runawayWindow")
        try check.count(runawayGrowth, "runawayGrowth")
    }
}

extension Subscription: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        try WireCheck(path).duration(interval, "interval")
    }
}

extension SnapshotDone: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(tasks, "tasks")
        try check.count(chunks, "chunks")
    }
}

extension ProcessDescription: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        try WireCheck(path).time(started, "started")
    }
}

extension SnapshotHead: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try process.validate(at: check.field("process"))
        try check.time(capturedAt, "capturedAt")
        try summary.validate(at: check.field("summary"))
        try history.validate(at: check.field("history"))
        try resources.validate(at: check.field("resources"))
        try warnings.validate(at: check.field("warnings"))
        try rules?.validate(at: check.field("rules"))
    }
}

extension SnapshotDocument: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try process.validate(at: check.field("process"))
        try check.time(capturedAt, "capturedAt")
        try summary.validate(at: check.field("summary"))
        try history.validate(at: check.field("history"))
        try resources.validate(at: check.field("resources"))
        try warnings.validate(at: check.field("warnings"))
        try rules?.validate(at: check.field("rules"))
        try tasks.validate(at: check.field("tasks"))
    }
}

extension StackGroup: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(count, "count")
        try check.duration(longest, "longest")
    }
}

extension StackList: WireValidatable {
    public func validate(at path: String) throws(WireValueError) {
        let check = WireCheck(path)
        try check.count(total, "total")
        try check.count(unreadable, "unreadable")
        try groups.validate(at: check.field("groups"))
    }
}

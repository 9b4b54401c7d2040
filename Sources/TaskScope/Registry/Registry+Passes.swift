extension Registry {
    /// The most records a pass visits per hold of a shard's lock, unless a registry is made
    /// with another: a hold of 1 to 4 µs at a million tasks (each record a cold cache line or
    /// two). A pass is always in one shard, so about one spawn in 64 meets its lock: with 256
    /// records a hold (~100 µs) the host's spawn+join p99 rose 3 to 7 times during a pass; with
    /// 8, it stays within 1.3 times of idle, and the extra lock acquisitions cost a pass over
    /// a million tasks a few milliseconds (see BENCHMARKS.md).
    static let defaultSliceSize = 8

    /// Calls `body` with every live record (with `live`) and every retained finished one (with
    /// `finished`) of `shards`, each once, with its shard's lock held, until `body` returns false.
    ///
    /// No lock is held for more than ``sliceSize`` records: the pass lets it go between
    /// slices, so that the host's spawns, finishes and nested waits in that shard wait for a
    /// slice at most, never for a pass. Records added meanwhile may or may not be visited;
    /// a record that finishes meanwhile is visited once (as it is when visited); one dropped
    /// before the pass reaches it is not. The finished records are those retained when the
    /// pass reached the shard (older than the retention's age dropped first, with `pruning`),
    /// and, for a pass over live ones too, the live ones that finish before it reaches them.
    ///
    /// Cost: `body` per record, and a lock acquisition per `sliceSize` records.
    func forEachRecord(
        in shards: [RegistryShard]? = nil, live: Bool, finished: Bool, pruning: Bool = false,
        _ body: (TaskRecord) -> Bool
    ) {
        let cutoff = pruning ? finishedCutoff(now: clock.now()) : nil
        for shard in shards ?? self.shards {
            guard pass(over: shard, live: live, finished: finished, pruningBefore: cutoff, body) else { return }
        }
    }

    /// One shard's part of ``forEachRecord(in:live:finished:pruning:_:)``; false when `body` stopped it.
    private func pass(
        over shard: RegistryShard, live: Bool, finished: Bool, pruningBefore cutoff: UInt64?,
        _ body: (TaskRecord) -> Bool
    ) -> Bool {
        // The finished records' sequence numbers to visit, and the live list's scan.
        var next: UInt64 = 0
        var end: UInt64 = 0
        var scan: UInt64?
        var started = false
        var stopped = false
        var over = false
        while !over {
            let visited = shard.state.withLock { state -> Int in
                if !started {
                    started = true
                    if let cutoff { state.pruneFinished(finishedBefore: cutoff) }
                    if finished { (next, end) = (state.finished.removedCount, state.finished.endSequence) }
                    if live { scan = state.beginScan(keepingFinished: finished) }
                }
                var budget = sliceSize
                // Records dropped from the ring since the last slice are not visited.
                next = max(next, state.finished.removedCount)
                while budget > 0, next < end {
                    budget -= 1
                    let record = state.finished[sequence: next]
                    next += 1
                    if !body(record) {
                        stopped = true
                        break
                    }
                }
                if let id = scan {
                    if stopped {
                        state.endScan(id)
                    } else if next >= end {
                        over = state.continueScan(id, budget: &budget) { record in
                            if body(record) { return true }
                            stopped = true
                            return false
                        }
                    }
                } else {
                    over = stopped || next >= end
                }
                if stopped { over = true }
                return sliceSize - budget
            }
            if visited > largestSlice.load(ordering: .relaxed) { largestSlice.max(visited, ordering: .relaxed) }
        }
        return !stopped
    }
}

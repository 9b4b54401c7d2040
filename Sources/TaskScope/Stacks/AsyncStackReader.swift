import CTaskScopeNative

/// Reads the async call stacks of suspended tasks from memory, on demand: nothing is recorded
/// at a spawn or a wait.
///
/// A suspended task keeps its chain: the task object holds its resume function and resume
/// context, and each async context begins with its caller's context and the function the caller
/// resumes in. The reader follows that chain, innermost first, through `process_vm_readv` on its
/// own process (an address that is no longer mapped fails the read instead of faulting the host),
/// checks that each function is mapped code, and reads the task's head again at the end: a task
/// that resumed meanwhile gives no stack rather than a wrong one.
///
/// Cost: one system call per level of depth for up to 1,024 tasks at once (a few hundred
/// nanoseconds a frame); memory of 16 bytes a task a level while reading. The layout belongs to
/// the Swift runtime: ``StackSelfTest`` checks it when the agent starts.
struct AsyncStackReader: Sendable {
    /// Word offsets in the task object (Swift 6.3, 64-bit): `ResumeTask`, then `ResumeContext`.
    static let resumeFunctionWord = 7
    static let resumeContextWord = 8

    /// Frames per stack at most.
    var depth: Int
    var image: ProcessImage
    /// Bytes read at once from each task's address: a task's first async contexts are allocated
    /// in its own first slab, just after it, so most levels are found in this block and need no
    /// read of their own (about 2 reads a task instead of 12). 0 reads every level apart.
    var blockBytes = 1_024

    /// One task's stack: function addresses, innermost first, and whether the chain went deeper.
    struct Chain: Sendable, Hashable {
        var functions: [UInt]
        var truncated: Bool
    }

    /// The chains of the tasks at `tasks` (their addresses), nil where one could not be read.
    func read(_ tasks: [UInt]) -> [Chain?] {
        guard !tasks.isEmpty, depth > 0 else { return tasks.map { _ in nil } }
        let blocks = readBlocks(tasks)
        var heads: [(function: UInt, context: UInt)?]
        if blocks.isEmpty {
            heads = readHeads(tasks)
        } else {
            heads = blocks.map { block in
                block.flatMap { head(function: $0[Self.resumeFunctionWord], context: $0[Self.resumeContextWord]) }
            }
            // A task whose block runs past its mapping's end: its head read alone.
            let unread = blocks.indices.filter { blocks[$0] == nil }
            for (index, head) in zip(unread, readHeads(unread.map { tasks[$0] })) { heads[index] = head }
        }
        var chains: [Chain?] = heads.map { head in
            head.map { Chain(functions: [$0.function], truncated: false) }
        }
        // Level by level: all the contexts of one depth in one batch of reads.
        var cursor: [(task: Int, context: UInt)] = heads.enumerated().compactMap { index, head in
            head.map { (index, $0.context) }
        }
        var level = 0
        while !cursor.isEmpty, level < depth + 1 {
            // A context inside its task's block is read from it; the others in one batch.
            var words = [(UInt, UInt)?](repeating: nil, count: cursor.count)
            var outside: [Int] = []
            for (slot, entry) in cursor.enumerated() {
                let offset = entry.context &- tasks[entry.task]
                if let block = blocks.isEmpty ? nil : blocks[entry.task], entry.context >= tasks[entry.task],
                    offset % 8 == 0, Int(offset / 8) + 1 < block.count
                {
                    words[slot] = (block[Int(offset / 8)], block[Int(offset / 8) + 1])
                } else {
                    outside.append(slot)
                }
            }
            for (slot, pair) in zip(outside, readPairs(outside.map { cursor[$0].context })) { words[slot] = pair }
            var next: [(task: Int, context: UInt)] = []
            next.reserveCapacity(cursor.count)
            for (slot, entry) in cursor.enumerated() {
                guard let (parent, resume) = words[slot] else {
                    chains[entry.task] = nil  // a context we could not read: no trustworthy stack
                    continue
                }
                guard var chain = chains[entry.task] else { continue }
                if resume == 0 || parent == 0 {
                    continue  // the outermost context: the chain is whole
                }
                guard image.isCode(resume), parent & 7 == 0 else {
                    chains[entry.task] = nil
                    continue
                }
                // The innermost context's parent resume function repeats the task's own when
                // the task waits directly in a continuation: name it once.
                if !(chain.functions.count == 1 && chain.functions[0] == resume) {
                    if chain.functions.count >= depth {
                        chain.truncated = true
                        chains[entry.task] = chain
                        continue
                    }
                    chain.functions.append(resume)
                }
                chains[entry.task] = chain
                next.append((entry.task, parent))
            }
            cursor = next
            level += 1
        }
        // A task that resumed while read has another head now: its chain may be torn.
        let again = readHeads(tasks)
        for index in chains.indices where chains[index] != nil {
            if again[index]?.function != heads[index]?.function || again[index]?.context != heads[index]?.context {
                chains[index] = nil
            }
        }
        return chains
    }

    private func readHeads(_ tasks: [UInt]) -> [(function: UInt, context: UInt)?] {
        let pairs = readPairs(tasks.map { $0 &+ UInt(Self.resumeFunctionWord * 8) })
        return pairs.map { pair in pair.flatMap { head(function: $0.0, context: $0.1) } }
    }

    private func head(function: UInt, context: UInt) -> (function: UInt, context: UInt)? {
        guard function != 0, context != 0, context & 7 == 0, image.isCode(function) else { return nil }
        return (function, context)
    }

    /// Each task's first ``blockBytes`` as words (nil where unreadable), or none when off.
    private func readBlocks(_ tasks: [UInt]) -> [[UInt]?] {
        let words = blockBytes / 8
        guard words > Self.resumeContextWord else { return [] }
        return OwnMemory.blocks(at: tasks, words: words)
    }

    /// Two words at each address, nil where the memory could not be read.
    func readPairs(_ addresses: [UInt]) -> [(UInt, UInt)?] {
        guard !addresses.isEmpty else { return [] }
        var words = [UInt](repeating: 0, count: addresses.count * 2)
        var ok = [UInt8](repeating: 0, count: addresses.count)
        let result = addresses.withUnsafeBufferPointer { remote in
            words.withUnsafeMutableBytes { local in
                ok.withUnsafeMutableBufferPointer { ok in
                    ts_read_blocks(remote.baseAddress, local.baseAddress, 16, addresses.count, ok.baseAddress)
                }
            }
        }
        guard result >= 0 else { return addresses.map { _ in nil } }
        return addresses.indices.map { index in ok[index] != 0 ? (words[index * 2], words[index * 2 + 1]) : nil }
    }

    /// Whether this process may read its own memory this way (a seccomp filter can refuse it).
    static func canReadOwnMemory() -> Bool {
        var probe: (UInt, UInt) = (0x1234_5678, 0x9ABC_DEF0)
        let address = withUnsafePointer(to: &probe) { UInt(bitPattern: $0) }
        let reader = AsyncStackReader(depth: 1, image: ProcessImage())
        guard let pair = reader.readPairs([address]).first, let (first, second) = pair else { return false }
        return first == 0x1234_5678 && second == 0x9ABC_DEF0
    }
}

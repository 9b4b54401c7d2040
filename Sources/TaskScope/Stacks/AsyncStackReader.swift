/// Reads the async call stacks of suspended tasks from memory, on demand: nothing is recorded
/// at a spawn or a wait.
///
/// A suspended task keeps its chain: the task object holds its resume function and resume
/// context, and each async context begins with its caller's context and the function the caller
/// resumes in. The reader follows that chain, innermost first, through `process_vm_readv` on its
/// own process (an address that is no longer mapped fails the read instead of faulting the host)
/// and checks that each function is mapped code. A chain found whole in one copy of the task's
/// first ``blockBytes`` is as consistent as that copy; one that took reads of its own is checked
/// by reading the task's head again at the end: a task that resumed meanwhile is read again (it
/// has suspended again), three times at most, and gives no stack rather than a wrong one.
///
/// Cost: one system call per ``blocksAtOnce`` tasks for their blocks (the kernel pins and
/// copies 1 KiB a task, into one buffer reused batch after batch), and for chains that go on
/// beyond their block, one per 1,024 of them a level, each reading the KiB that ends at its next
/// context. Chains are interned as they are read (``ChainTable``), so a task whose chain is its
/// neighbour's allocates nothing. The layout belongs to the Swift runtime:
/// ``StackSelfTest`` checks it when the agent starts.
struct AsyncStackReader: Sendable {
    /// Word offsets in the task object (Swift 6.3, 64-bit): `ResumeTask`, then `ResumeContext`.
    static let resumeFunctionWord = 7
    static let resumeContextWord = 8

    /// Frames per stack at most.
    var depth: Int
    var image: ProcessImage
    /// Bytes read at once from each task's address: a task's first async contexts are allocated
    /// in its own first slab, just after it, so most chains are found whole in this block and
    /// need no read of their own. 0 reads every level apart.
    var blockBytes = 1_024
    /// Tasks whose blocks are read at once: 256 KiB, which stays in a core's cache while the
    /// chains in them are followed.
    static let blocksAtOnce = 256

    /// One task's stack: function addresses, innermost first, and whether the chain went deeper.
    struct Chain: Sendable, Hashable {
        var functions: [UInt]
        var truncated: Bool
    }

    /// Distinct chains, each kept once and numbered in the order first read.
    struct ChainTable {
        private(set) var chains: [Chain] = []
        private var numbers: [Chain: Int] = [:]
        /// The chain interned last: a task's neighbours mostly wait where it does, so comparing
        /// with it first spares building and hashing a chain a task.
        private var last = -1

        /// The number of the chain `functions` (with `truncated`), added when new.
        mutating func intern(_ functions: [UInt], truncated: Bool) -> Int {
            if last >= 0, chains[last].truncated == truncated, chains[last].functions == functions { return last }
            let chain = Chain(functions: functions, truncated: truncated)
            if let number = numbers[chain] {
                last = number
                return number
            }
            last = chains.count
            numbers[chain] = last
            chains.append(chain)
            return last
        }
    }

    /// A chain being followed: the task (by index), what was read of it, and the context to read
    /// next.
    private struct Walk {
        var task: Int
        var head: (function: UInt, context: UInt)
        var functions: [UInt]
        var context: UInt
        var truncated = false
        var level = 0
    }

    /// Whether addresses are mapped code, remembering the last range found: a chain's functions,
    /// and the next task's, mostly lie in the same module's text.
    private struct CodeCheck {
        let image: ProcessImage
        var recent: Range<UInt> = 0..<0

        mutating func isCode(_ address: UInt) -> Bool {
            if recent.contains(address) { return true }
            guard let range = image.codeRange(of: address) else { return false }
            recent = range
            return true
        }
    }

    /// How far a window of memory took a chain.
    private enum Outcome {
        case whole
        case broken
        case outside
    }

    /// What one level of a chain gave.
    private enum Step {
        case whole
        case broken
        case next(UInt)
    }

    /// The chains of the tasks at `tasks` (their addresses), nil where one could not be read.
    func read(_ tasks: [UInt]) -> [Chain?] {
        var table = ChainTable()
        return read(tasks, into: &table).map { number in number.map { table.chains[$0] } }
    }

    /// Reads the chains of the tasks at `tasks` (their addresses) into `table`: each task's chain
    /// number, nil where one could not be read or `unchanged` (asked once a task's chain is read,
    /// by its index) says the task moved on meanwhile. A chain torn by its task resuming while it
    /// was read (its head changed, its wait did not) is read again, `attempts` times in all.
    func read(
        _ tasks: [UInt], into table: inout ChainTable, attempts: Int = 3, unchanged: (Int) -> Bool = { _ in true }
    ) -> [Int?] {
        var numbers = [Int?](repeating: nil, count: tasks.count)
        guard !tasks.isEmpty, depth > 0 else { return numbers }
        let words = blockBytes / 8
        var pending: [Walk] = []
        var code = CodeCheck(image: image)
        var scratch: [UInt] = []
        scratch.reserveCapacity(depth + 1)
        var unread: [Int] = []
        var start = 0
        var blocks: [UInt] = []
        var ok: [Bool] = []
        // A batch of blocks at a time, small enough to stay in cache while its chains are followed.
        while words > Self.resumeContextWord, start < tasks.count {
            let end = min(start + Self.blocksAtOnce, tasks.count)
            guard OwnMemory.read(at: tasks[start..<end], words: words, into: &blocks, ok: &ok) else { break }
            blocks.withUnsafeBufferPointer { buffer in
                for index in start..<end {
                    // A task whose block runs past its mapping's end: its head read alone.
                    guard ok[index - start] else {
                        unread.append(index)
                        continue
                    }
                    let base = (index - start) * words
                    guard
                        let head = head(
                            function: buffer[base + Self.resumeFunctionWord],
                            context: buffer[base + Self.resumeContextWord], &code)
                    else { continue }
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(head.function)
                    var truncated = false
                    var level = 0
                    var context = head.context
                    let outcome = follow(
                        &scratch, &truncated, level: &level, context: &context, &code, window: tasks[index],
                        words: words
                    ) { buffer[base + $0] }
                    switch outcome {
                    case .broken: continue
                    case .outside:
                        pending.append(
                            Walk(
                                task: index, head: head, functions: scratch, context: context, truncated: truncated,
                                level: level))
                    case .whole:
                        if unchanged(index) { numbers[index] = table.intern(scratch, truncated: truncated) }
                    }
                }
            }
            start = end
        }
        // Without blocks (turned off, or this process may not read itself so): heads alone.
        unread += start..<tasks.count
        for (index, head) in zip(unread, readHeads(unread.map { tasks[$0] })) {
            if let head {
                pending.append(Walk(task: index, head: head, functions: [head.function], context: head.context))
            }
        }
        guard !pending.isEmpty else { return numbers }
        // The chains that go on outside their task's block, all of them a read at a time: a
        // window of memory ending with each one's next context (its callers' contexts were
        // allocated before it, just below it in the same slab), or the context's two words alone
        // where the window cannot be read whole.
        let windowWords = max(2, words)
        var finished: [Walk] = []
        while !pending.isEmpty {
            let windowBytes = UInt(windowWords * 8)
            let starts = pending.map { walk in
                walk.context >= windowBytes ? walk.context &+ 16 &- windowBytes : walk.context
            }
            let windows = OwnMemory.read(at: starts, words: windowWords)
            let alone = pending.indices.filter { windows?.ok[$0] != true }
            var pairs = [Int: (UInt, UInt)]()
            for (slot, pair) in zip(alone, readPairs(alone.map { pending[$0].context })) { pairs[slot] = pair }
            var next: [Walk] = []
            for (slot, walk) in pending.enumerated() {
                var walk = walk
                let outcome: Outcome
                if let windows, windows.ok[slot] {
                    let base = slot * windowWords
                    outcome = follow(
                        &walk.functions, &walk.truncated, level: &walk.level, context: &walk.context, &code,
                        window: starts[slot], words: windowWords
                    ) { windows.words[base + $0] }
                } else if let (parent, resume) = pairs[slot] {
                    outcome = follow(
                        &walk.functions, &walk.truncated, level: &walk.level, context: &walk.context, &code,
                        window: walk.context, words: 2
                    ) { $0 == 0 ? parent : resume }
                } else {
                    continue  // unreadable: no trustworthy stack
                }
                switch outcome {
                case .broken: continue
                case .whole: finished.append(walk)
                case .outside: next.append(walk)
                }
            }
            pending = next
        }
        // A task that resumed while read has another head now: its chain may be torn. Still in
        // the same wait, it has suspended again (or soon will): read it again.
        let waiting = finished.filter { unchanged($0.task) }
        let again = readHeads(waiting.map { tasks[$0.task] })
        var torn: [Int] = []
        for (walk, head) in zip(waiting, again) {
            guard let head, head == walk.head else {
                torn.append(walk.task)
                continue
            }
            numbers[walk.task] = table.intern(walk.functions, truncated: walk.truncated)
        }
        if !torn.isEmpty, attempts > 1 {
            let retried = read(torn.map { tasks[$0] }, into: &table, attempts: attempts - 1) { unchanged(torn[$0]) }
            for (index, number) in zip(torn, retried) { numbers[index] = number }
        }
        return numbers
    }

    /// The word of a window (`words` words read at `start`) where `context` begins, when its
    /// first two words lie in the window.
    private static func word(of context: UInt, in start: UInt, words: Int) -> Int? {
        guard context >= start else { return nil }
        let offset = context &- start
        guard offset % 8 == 0, offset / 8 < UInt(words - 1) else { return nil }
        return Int(offset / 8)
    }

    /// Follows a chain as far as a window of memory (`words` words read at `start`, given by
    /// `word`) holds it: the chain is whole, broken, or goes on at `context` outside the window.
    @inline(__always)
    private func follow(
        _ functions: inout [UInt], _ truncated: inout Bool, level: inout Int, context: inout UInt,
        _ code: inout CodeCheck, window start: UInt, words: Int, word: (Int) -> UInt
    ) -> Outcome {
        while level < depth + 1 {
            guard let index = Self.word(of: context, in: start, words: words) else { return .outside }
            switch step(&functions, &truncated, parent: word(index), resume: word(index + 1), &code) {
            case .whole: return .whole
            case .broken: return .broken
            case .next(let parent):
                context = parent
                level += 1
            }
        }
        return .whole
    }

    /// Follows one level of a chain: the context's parent and the function its caller resumes in.
    private func step(
        _ functions: inout [UInt], _ truncated: inout Bool, parent: UInt, resume: UInt, _ code: inout CodeCheck
    ) -> Step {
        if resume == 0 || parent == 0 { return .whole }  // the outermost context: the chain is whole
        guard parent & 7 == 0, code.isCode(resume) else { return .broken }
        // The innermost context's parent resume function repeats the task's own when the task
        // waits directly in a continuation: name it once.
        if !(functions.count == 1 && functions[0] == resume) {
            if functions.count >= depth {
                truncated = true
                return .whole
            }
            functions.append(resume)
        }
        return .next(parent)
    }

    private func readHeads(_ tasks: [UInt]) -> [(function: UInt, context: UInt)?] {
        let pairs = readPairs(tasks.map { $0 &+ UInt(Self.resumeFunctionWord * 8) })
        var code = CodeCheck(image: image)
        return pairs.map { pair in pair.flatMap { head(function: $0.0, context: $0.1, &code) } }
    }

    private func head(
        function: UInt, context: UInt, _ code: inout CodeCheck
    ) -> (function: UInt, context: UInt)? {
        guard function != 0, context != 0, context & 7 == 0, code.isCode(function) else { return nil }
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
        guard let read = OwnMemory.read(at: addresses, words: 2) else { return addresses.map { _ in nil } }
        return addresses.indices.map { index in
            read.ok[index] ? (read.words[index * 2], read.words[index * 2 + 1]) : nil
        }
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

import CTaskScopeNative
import Foundation
import Logging
import Synchronization

/// Which Swift task each thread of this process is running, read from the thread's own memory
/// without signalling or stopping it: the Swift runtime keeps the running task in a thread-local
/// variable, and glibc keeps each thread's thread-local storage at a fixed distance below its
/// thread control block (x86_64), which also holds the thread's kernel id.
///
/// Neither layout is public, so both are learned once, by ``learn()``: the control block of the
/// calling thread must point to itself and hold its thread id; tasks run on the pool must find
/// themselves at one distance below their thread's block (the nearest match: thread-local storage
/// lies between the block and the stack, and stale copies on the stack lie further down); the slot
/// must hold no task on a thread that runs none, and no longer a task that has ended. Until it
/// has passed (or on another architecture or C library) ``tasks(of:)`` returns nil and callers
/// fall back to reading a stopped thread's stack.
///
/// Cost, per call: one read of `/proc/self/maps`, the last 16 KiB of each mapping laid out as a
/// thread's stack (a guard page below it) until every asked thread's block is found (blocks found
/// before are checked first, at 8 bytes each), and 8 bytes a thread. At most ``mappingLimit``
/// mappings are read (4 MiB).
final class CurrentTaskReader: Sendable {
    /// Where glibc and the Swift runtime keep what is read, relative to a thread's control block.
    struct Layout: Sendable, Equatable {
        /// The byte offset of the kernel thread id (an `Int32`) in the control block.
        var threadID: Int
        /// The byte offset of the running task's address (negative: below the block).
        var currentTask: Int
    }

    private enum State: Sendable, Equatable {
        case notStarted, learning, learned(Layout), failed(String)
    }

    /// The process's reader (the layout is the process's runtime's).
    static let shared = CurrentTaskReader()

    static let mappingLimit = 256
    /// How far below a control block the running task may lie: thread-local storage of every
    /// module loaded at start sits there.
    static let window = 32 * 1_024
    private static let tail = 16 * 1_024

    private let state = Mutex(State.notStarted)
    /// Control blocks found before, by thread id.
    private let blocks = Mutex<[Int32: UInt]>([:])

    /// The learned layout, nil until learned or when it cannot be.
    var layout: Layout? {
        if case .learned(let layout) = state.withLock({ $0 }) { return layout }
        return nil
    }

    /// Why the layout could not be learned, nil while learning or once learned.
    var failure: String? {
        if case .failed(let reason) = state.withLock({ $0 }) { return reason }
        return nil
    }

    /// Learns the layout in the background, once; returns at once. Its tasks run on the
    /// cooperative pool, one at a time, each for a few microseconds; until they have, stalls are
    /// read the slow way (a stopped thread's stack scanned).
    func start(logger: Logger? = nil) {
        let first = state.withLock { state -> Bool in
            guard state == .notStarted else { return false }
            state = .learning
            return true
        }
        guard first else { return }
        // At the default priority: a lower one may wait behind a busy pool for good.
        Task.detached { [self] in
            let result = await Self.learn()
            state.withLock { state in
                switch result {
                case .success(let layout): state = .learned(layout)
                case .failure(let failure): state = .failed(failure.reason)
                }
            }
            if case .failure(let failure) = result {
                (logger ?? Logger(label: "taskscope")).notice(
                    "taskscope: blocked-executor cannot read which task a thread runs; it will guess",
                    metadata: ["reason": "\(failure.reason)"])
            }
        }
    }

    /// Waits up to `timeout` for ``start()``'s outcome (tests).
    func waitLearned(timeout: Duration) async -> Layout? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch state.withLock({ $0 }) {
            case .learned(let layout): return layout
            case .failed: return nil
            case .notStarted, .learning: try? await Task.sleep(for: .milliseconds(5))
            }
        }
        return nil
    }

    struct LearningFailure: Error {
        var reason: String
    }

    /// Learns the layout from this process's own threads and tasks.
    static func learn() async -> Result<Layout, LearningFailure> {
        #if arch(x86_64) && canImport(Glibc)
        let own = controlBlock()
        guard let head = read(own, words: 3), head[0] == own, head[2] == own else {
            return .failure(LearningFailure(reason: "the thread control block is not laid out as glibc's on x86_64"))
        }
        guard let threadID = threadIDOffset(block: own, id: ThreadSampler.currentThreadID()) else {
            return .failure(LearningFailure(reason: "no thread id found in the thread control block"))
        }
        // Several tasks, one after the other; each reports its own block and where it found itself.
        var probes: [(block: UInt, task: UInt, offset: Int)] = []
        for _ in 0..<4 {
            let probe = await Task.detached { () -> (block: UInt, task: UInt, offset: Int?) in
                let task = withUnsafeCurrentTask { task in task.map { unsafeBitCast($0, to: UInt.self) } ?? 0 }
                let block = controlBlock()
                return (block, task, nearestBelow(block: block, value: task))
            }.value
            guard let offset = probe.offset, probe.task != 0 else {
                return .failure(LearningFailure(reason: "a running task was not found in its thread's local storage"))
            }
            probes.append((probe.block, probe.task, offset))
        }
        guard let offset = probes.first?.offset, probes.allSatisfy({ $0.offset == offset }) else {
            return .failure(
                LearningFailure(reason: "tasks were found at different places: \(probes.map(\.offset))"))
        }
        // A slot on the stack keeps an ended task's address; the runtime's own forgets it.
        // (The probe's thread may still be returning from its job: given a moment.)
        for probe in probes {
            let slot = UInt(bitPattern: Int(bitPattern: probe.block) + offset)
            var attempts = 0
            while read(slot, words: 1)?[0] == probe.task {
                attempts += 1
                guard attempts < 50 else {
                    return .failure(LearningFailure(reason: "the slot found still held a task that had ended"))
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        let outside = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let block = controlBlock()
                continuation.resume(returning: read(UInt(bitPattern: Int(bitPattern: block) + offset), words: 1)?[0])
            }
        }
        guard outside == 0 else {
            return .failure(LearningFailure(reason: "the slot found holds something on a thread running no task"))
        }
        return .success(Layout(threadID: threadID, currentTask: offset))
        #else
        return .failure(LearningFailure(reason: "reading a thread's task is implemented for glibc on x86_64 only"))
        #endif
    }

    /// The task each of `threads` is running (0 for none), or nil when the layout is not known.
    /// A thread whose control block is not found is left out.
    func tasks(of threads: [Int32]) -> [Int32: UInt]? {
        guard let layout else { return nil }
        let found = controlBlocks(of: Set(threads), layout: layout)
        let slots = threads.compactMap { thread in
            found[thread].map { (thread, UInt(bitPattern: Int(bitPattern: $0) + layout.currentTask)) }
        }
        let words = OwnMemory.blocks(at: slots.map(\.1), words: 1)
        var tasks: [Int32: UInt] = [:]
        for (index, slot) in slots.enumerated() {
            if let word = words[index] { tasks[slot.0] = word[0] }
        }
        return tasks
    }

    /// The control blocks of `threads`: those found before if they still hold their thread's id,
    /// else found anew among the mappings laid out as thread stacks.
    private func controlBlocks(of threads: Set<Int32>, layout: Layout) -> [Int32: UInt] {
        var found: [Int32: UInt] = [:]
        let known = blocks.withLock { $0 }.filter { threads.contains($0.key) }
        let ids = OwnMemory.blocks(at: known.map { $0.value &+ UInt(layout.threadID) }, words: 1)
        for (index, entry) in known.enumerated() where ids[index].map({ Int32(truncatingIfNeeded: $0[0]) }) == entry.key
        {
            found[entry.key] = entry.value
        }
        if found.count < threads.count {
            for (thread, block) in Self.scanStacks(layout: layout)
            where threads.contains(thread) && found[thread] == nil {
                found[thread] = block
            }
            blocks.withLock { $0 = found }
        }
        return found
    }

    /// Every thread control block at the top of a mapping laid out as a thread's stack (a guard
    /// page right below it), by the thread id it holds; the first `limit` such mappings only.
    static func scanStacks(layout: Layout, limit: Int = mappingLimit) -> [Int32: UInt] {
        guard let maps = ProcessImage.mapsText() else { return [:] }
        var tops: [UInt] = []
        var previous: (end: UInt, guarded: Bool) = (0, false)
        for line in maps.split(separator: "\n") where tops.count < limit {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
                let start = UInt(fields[0][..<dash], radix: 16),
                let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16)
            else { continue }
            let anonymous = fields.count == 5 || fields[5].trimmingCharacters(in: .whitespaces).isEmpty
            if anonymous, fields[1].hasPrefix("rw"), previous.guarded, previous.end == start, end - start >= UInt(tail)
            {
                tops.append(end)
            }
            previous = (end, fields[1].hasPrefix("---"))
        }
        let pages = tail / 4_096
        let addresses = tops.flatMap { top in (0..<pages).map { top - UInt(tail) + UInt($0) * 4_096 } }
        let read = OwnMemory.blocks(at: addresses, words: 512)
        var found: [Int32: UInt] = [:]
        for (index, top) in tops.enumerated() {
            var words: [UInt] = []
            for page in 0..<pages {
                guard let block = read[index * pages + page] else { break }
                words += block
            }
            guard words.count == tail / 8 else { continue }
            let base = top - UInt(tail)
            // The block's first word and its third ("self") are its own address.
            for word in stride(from: words.count - 3, through: 0, by: -1)
            where words[word] == base + UInt(word * 8) && words[word + 2] == words[word] {
                let offset = word * 8 + layout.threadID
                guard offset + 4 <= tail else { continue }
                let id = Int32(truncatingIfNeeded: words[offset / 8] >> UInt((offset % 8) * 8))
                if id > 0 { found[id] = words[word] }
                break
            }
        }
        return found
    }

    /// The calling thread's control block (`pthread_self()` is its address with glibc).
    private static func controlBlock() -> UInt { UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// The offset of `id` (an `Int32`) in the first KiB of the block (glibc's is 2 KiB or more
    /// long and ends its thread's mapping: more might not be mapped).
    private static func threadIDOffset(block: UInt, id: Int32) -> Int? {
        guard let words = read(block, words: 128) else { return nil }
        for offset in stride(from: 0, to: 1_024, by: 4) {
            let word = words[offset / 8] >> UInt((offset % 8) * 8)
            if Int32(truncatingIfNeeded: word) == id { return offset }
        }
        return nil
    }

    /// The offset (negative) of the word nearest below `block` that holds `value`.
    private static func nearestBelow(block: UInt, value: UInt) -> Int? {
        let pages = window / 4_096
        let read = OwnMemory.blocks(at: (1...pages).map { block - UInt($0 * 4_096) }, words: 512)
        for page in 1...pages {
            guard let words = read[page - 1] else { return nil }
            let base = block - UInt(page * 4_096)
            for word in stride(from: words.count - 1, through: 0, by: -1) where words[word] == value {
                return Int(bitPattern: base + UInt(word * 8)) - Int(bitPattern: block)
            }
        }
        return nil
    }

    private static func read(_ address: UInt, words: Int) -> [UInt]? {
        OwnMemory.blocks(at: [address], words: words).first ?? nil
    }
}

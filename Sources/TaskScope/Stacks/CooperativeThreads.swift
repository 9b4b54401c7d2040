import CTaskScopeNative
import Foundation
import ScopeProtocol
import Synchronization

/// The threads of Swift's cooperative pool, looked at during a stall: which task each one runs and
/// the native frames it is blocked in (`sem_wait`, `usleep`, `read`…), for `blocked-executor`.
///
/// Only libdispatch's worker threads are looked at (they are the ones with libdispatch's signal
/// mask: every signal blocked but the synchronous ones and SIGPROF). None is interrupted by
/// default: the task a thread runs is read from its thread-local storage
/// (``CurrentTaskReader``), and a thread stopped in a system call (a futex wait behind
/// `DispatchSemaphore.wait` or a lock, `nanosleep`, `read`, `poll`…) is unwound from the stack and
/// program counter the kernel gives in `/proc/self/task/TID/syscall`, its stack read through
/// `process_vm_readv`. Where the task cannot be read that way (another C library or
/// architecture), the stopped thread's stack is scanned for the address of a task the agent knows.
///
/// A thread running on a CPU (a loop that never waits) has no stack the kernel shows while it runs
/// (one its CPU was taken from at that moment has, and is unwound the same way): it is named as
/// busy on a CPU, without frames, unless the host opted in to signals
/// (`Configuration.samplesBlockedThreads`): then it gets a SIGPROF, if SIGPROF is free (its
/// disposition the default) when the first stall comes; the handler is installed then, never
/// before, and never replaces one of the host's. It records the interrupted thread's frames and
/// current task, async-signal-safe. A signal can cut short a system call the thread enters just
/// as it arrives (EINTR), hence the opt-in.
///
/// Cost, per stall and at most once per ``minimumInterval`` in a process: two small proc files
/// and 32 KiB of stack read per worker thread (at most ``threadLimit``), a signal to each running
/// one when opted in (30 to 50 µs, 50 ms at most each), ``deadline`` in all.
enum CooperativeThreads {
    struct Running: Sendable {
        var thread: Int32
        var task: UInt
        /// The frames' addresses, innermost first: the program counter, then return addresses;
        /// none for a thread on a CPU that was not signalled. Named by ``frames(of:symbolicator:)``
        /// once the tasks are matched (naming can build symbol tables: slow the first time).
        var addresses: [UInt]
        /// Whether the thread was running on a CPU, not stopped in a system call.
        var onCPU = false
        /// Whether its task is one the agent knows (tracked or adopted).
        var isKnown = true
    }

    /// What a look at the pool found: the threads running a task, and how many running one could
    /// not be told (the caller guesses for those).
    struct Sample: Sendable {
        var running: [Running] = []
        var unknown = 0
    }

    static let threadLimit = 256
    static let framesShown = 4
    static let deadline: Duration = .milliseconds(200)
    /// Samples per process at most this often: a pool that stays stalled (a process loaded past its
    /// cores) is sampled at its first stall and then every so often, not at every late probe, and
    /// the agents of one process (tests start many) share the allowance.
    static let minimumInterval: Duration = .seconds(2)
    private static let lastSample = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether a sample now would be allowed (``minimumInterval``), without taking it.
    static var maySample: Bool {
        lastSample.withLock { last in last.map { ContinuousClock.now - $0 >= minimumInterval } ?? true }
    }

    /// The workers running a task and where they were blocked, or nil when no thread has
    /// libdispatch's mask or a sample was taken less than ``minimumInterval`` ago. `signals`:
    /// whether a thread on a CPU may be sent a SIGPROF for its frames. Threads running a task the
    /// agent does not know (`taskKeys`) are read too, at most `untrackedLimit` of them.
    static func sample(taskKeys: Set<UInt>, signals: Bool, untrackedLimit: Int = 0) -> Sample? {
        let now = ContinuousClock.now
        let allowed = lastSample.withLock { last -> Bool in
            if let last, now - last < minimumInterval { return false }
            last = now
            return true
        }
        guard allowed else { return nil }
        let own = ThreadSampler.currentThreadID()
        let workers = ThreadSampler.threadIDs(limit: threadLimit).filter { $0 != own && isDispatchWorker($0) }
        guard !workers.isEmpty else { return nil }
        let current = CurrentTaskReader.shared.tasks(of: workers)
        var signalling: Duration = .zero
        var scanning: Duration = .zero
        var untracked = 0
        var sample = Sample()
        for thread in workers {
            let known = current?[thread]
            if known == 0 { continue }  // runs no task
            // Without the layout only known tasks are found (on the stack).
            let isKnown = known.map(taskKeys.contains) ?? true
            if !isKnown {
                guard untracked < untrackedLimit else { continue }
                untracked += 1
            }
            let state = Self.state(of: thread)
            switch state {
            case .stopped(let stack, let pc), .preempted(let stack, let pc):
                // Without the layout, the stack is scanned, within the deadline.
                let scan = known == nil && scanning < deadline
                let scanned = ContinuousClock.now
                guard let task = known ?? (scan ? taskOnStack(from: stack, among: taskKeys) : nil) else {
                    if known == nil { sample.unknown += scan ? 0 : 1 }
                    scanning += ContinuousClock.now - scanned
                    continue
                }
                scanning += ContinuousClock.now - scanned
                let onCPU = state == .preempted(stack: stack, pc: pc)
                sample.running.append(
                    Running(
                        thread: thread, task: task, addresses: unwind(pc: pc, stack: stack), onCPU: onCPU,
                        isKnown: isKnown))
            case .onCPU:
                let sent = ContinuousClock.now
                let taken =
                    signals && signalling < deadline && ThreadSampler.install() == Int32(SIGPROF)
                    ? try? ThreadSampler.trySample(thread, maxFrames: 24, timeoutMs: 50) : nil
                signalling += ContinuousClock.now - sent
                if let taken,
                    let task = taken.task != 0 ? taken.task : known
                {
                    let addresses = taken.frames.map(\.address)
                    sample.running.append(
                        Running(thread: thread, task: task, addresses: addresses, onCPU: true, isKnown: isKnown))
                } else if let known {
                    // A second look: taken off its CPU by now, it shows where it runs.
                    var addresses: [UInt] = []
                    if case .preempted(let stack, let pc) = Self.state(of: thread) {
                        addresses = unwind(pc: pc, stack: stack)
                    }
                    sample.running.append(
                        Running(thread: thread, task: known, addresses: addresses, onCPU: true, isKnown: isKnown))
                } else {
                    sample.unknown += 1
                }
            case nil:
                continue
            }
        }
        return sample
    }

    enum ThreadState: Equatable {
        /// Stopped in a system call, at this stack pointer and program counter.
        case stopped(stack: UInt, pc: UInt)
        /// Taken off its CPU outside a system call (its time slice ran out: a loop that never
        /// waits, on a machine with more runnable threads than cores), at this stack pointer and
        /// program counter.
        case preempted(stack: UInt, pc: UInt)
        /// Running, or ready to run, on a CPU.
        case onCPU
    }

    /// Where `thread` is, from `/proc/self/task/TID/syscall`; nil when the thread is gone.
    static func state(of thread: Int32) -> ThreadState? {
        guard let text = readSmallFile("/proc/self/task/\(thread)/syscall") else { return nil }
        return state(syscallFile: text)
    }

    /// Parses a `syscall` proc file: "running", "NR args×6 SP PC" (in system call NR), or
    /// "-1 SP PC" (off its CPU outside a system call).
    static func state(syscallFile text: String) -> ThreadState? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        func address(_ field: Substring) -> UInt? {
            field.hasPrefix("0x") ? UInt(field.dropFirst(2), radix: 16) : nil
        }
        if fields.first == "running" { return .onCPU }
        let inCall = fields.count >= 9 && fields[0] != "-1"
        let at = inCall ? 7 : (fields.first == "-1" && fields.count >= 3 ? 1 : nil)
        guard let at, let stack = address(fields[at]), let pc = address(fields[at + 1]), stack != 0 else {
            return nil
        }
        return inCall ? .stopped(stack: stack, pc: pc) : .preempted(stack: stack, pc: pc)
    }

    /// The frames of a thread stopped at `pc` with its stack at `stack`: `pc`, then the return
    /// addresses found on the stack.
    static func unwind(pc: UInt, stack: UInt) -> [UInt] {
        var addresses = [UInt](repeating: 0, count: 32)
        let count = addresses.withUnsafeMutableBufferPointer { buffer in
            Int(ts_unwind_stopped(pc, stack, buffer.baseAddress, nil, Int32(buffer.count)))
        }
        return count > 0 ? Array(addresses.prefix(count)) : [pc]
    }

    /// A thread's frames as ``shown(_:)`` shows them, named by `symbolicator` (by default the
    /// stack self-test's, whose tables are already built), without line tables.
    static func frames(of running: Running, symbolicator: Symbolicator? = nil) -> [String] {
        let symbolicator = symbolicator ?? StackSelfTest.shared.symbolicator
        return shown(
            running.addresses.enumerated().map { index, address in
                symbolicator.frame(address, isReturn: index > 0, withLines: false)
            })
    }

    /// The outermost word of the 64 KiB above `stack` that is one of `taskKeys`: the task the
    /// thread's job runs (the runtime's own frames, outermost, hold it). Read a page at a time, up
    /// to the stack's end.
    static func taskOnStack(from stack: UInt, among taskKeys: Set<UInt>) -> UInt? {
        let first = stack & ~4_095
        let pages = OwnMemory.blocks(at: (0..<17).map { first + UInt($0) * 4_096 }, words: 512)
        var found: UInt?
        for (index, page) in pages.enumerated() {
            guard let page else { break }
            let start = index == 0 ? Int(stack - first) / 8 : 0
            for word in page[start...] where taskKeys.contains(word) { found = word }
        }
        return found
    }

    /// The frames worth showing, by short name: the innermost named one (a library's internal
    /// function, `_dispatch_sema4_wait`, without its underscores: it says what the thread waits
    /// for), then the callers that are not internals, up to the runtime's frames that ran the job.
    static func shown(_ frames: [StackFrame]) -> [String] {
        var shown: [String] = []
        for frame in frames {
            guard let function = frame.function else { continue }
            if function.hasPrefix("swift_job_run") || function.hasPrefix("swift::") || function.hasPrefix("_ZN5swift") {
                break
            }
            let isInternal = function.hasPrefix("_")
            if isInternal, !shown.isEmpty { continue }
            let name = isInternal ? String(function.drop { $0 == "_" }) : frame.shortName
            if shown.last != name { shown.append(name) }
            if shown.count == framesShown { break }
        }
        return shown
    }

    /// Whether `thread` has libdispatch's worker signal mask (SIGPROF open, the rest of the
    /// asynchronous signals blocked), read from `/proc/self/task/TID/status`.
    static func isDispatchWorker(_ thread: Int32) -> Bool {
        guard let mask = blockedSignals(thread) else { return false }
        func bit(_ signal: Int32) -> UInt64 { 1 << UInt64(signal - 1) }
        return mask & bit(SIGPROF) == 0 && mask & bit(SIGUSR1) != 0 && mask & bit(SIGALRM) != 0
            && mask & bit(SIGTERM) != 0
    }

    static func blockedSignals(_ thread: Int32) -> UInt64? {
        guard let text = readSmallFile("/proc/self/task/\(thread)/status") else { return nil }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }) else { return nil }
        return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    }

    /// The first 4 KiB of a proc file.
    static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 4_096)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}

import CTaskScopeNative
import Foundation
import Synchronization

/// The threads of Swift's cooperative pool, sampled during a stall: which task each one runs and
/// the native frames it is blocked in (`sem_wait`, `usleep`, `read`…), for `blocked-executor`.
///
/// Only libdispatch's worker threads are signalled (they are the ones with libdispatch's signal
/// mask: every signal blocked but the synchronous ones and SIGPROF), and only if SIGPROF is free
/// (its disposition the default) when the first stall comes; the handler is installed then, never
/// before, and never replaces one of the host's. The handler records the interrupted thread's
/// frames and current task, async-signal-safe, reading memory through `process_vm_readv`.
///
/// Only a thread running on a CPU or waiting on a futex (a lock, a semaphore,
/// `DispatchSemaphore.wait`) is signalled: the kernel restarts a futex wait after the handler.
/// A thread in any other system call (`nanosleep`, `read`, `poll`…) is not, since a signal would
/// cut the call short (EINTR): its task is found by scanning its stack (read through
/// `process_vm_readv`, from the stack pointer the kernel gives in `/proc/self/task/TID/syscall`)
/// for the address of a task the agent knows, and its frame is the call's.
///
/// Cost, per stall and at most once per ``minimumInterval`` in a process: a signal to each other
/// worker thread (at most ``threadLimit``), 30 to 50 µs each (20 ms at most), within ``deadline``
/// in all.
enum CooperativeThreads {
    struct Running: Sendable {
        var thread: Int32
        var task: UInt
        /// Named frames, innermost first, at most ``framesShown``.
        var frames: [String]
    }

    static let threadLimit = 256
    static let framesShown = 4
    static let deadline: Duration = .milliseconds(200)
    /// Samples per process at most this often: a pool that stays stalled (a process loaded past its
    /// cores) is sampled at its first stall and then every so often, not at every late probe, and
    /// the agents of one process (tests start many) share the allowance.
    static let minimumInterval: Duration = .seconds(2)
    private static let lastSample = Mutex<ContinuousClock.Instant?>(nil)

    /// The workers running a task and what they were blocked in, or nil when the agent cannot
    /// sample them here (SIGPROF is the host's, or no thread has libdispatch's mask).
    /// Whether a sample now would be allowed (``minimumInterval``), without taking it.
    static var maySample: Bool {
        lastSample.withLock { last in last.map { ContinuousClock.now - $0 >= minimumInterval } ?? true }
    }

    static func sample(symbolicator: Symbolicator, taskKeys: Set<UInt>) -> [Running]? {
        let now = ContinuousClock.now
        let allowed = lastSample.withLock { last -> Bool in
            if let last, now - last < minimumInterval { return false }
            last = now
            return true
        }
        guard allowed else { return nil }
        guard ThreadSampler.install() == Int32(SIGPROF) else { return nil }
        let own = ThreadSampler.currentThreadID()
        let workers = ThreadSampler.threadIDs(limit: threadLimit).filter { $0 != own && isDispatchWorker($0) }
        guard !workers.isEmpty else { return nil }
        let end = ContinuousClock.now + deadline
        var running: [Running] = []
        for thread in workers where ContinuousClock.now < end {
            if let sleeping = asleep(thread) {
                if let task = taskOnStack(from: sleeping.stack, among: taskKeys) {
                    let frame = symbolicator.frame(sleeping.pc, withLines: false).function ?? "nanosleep"
                    running.append(Running(thread: thread, task: task, frames: [frame]))
                }
                continue
            }
            guard let sample = try? ThreadSampler.trySample(thread, maxFrames: 24, timeoutMs: 20), sample.task != 0
            else { continue }
            let frames = sample.frames.enumerated().compactMap { index, frame in
                symbolicator.frame(frame.address, isReturn: index > 0, withLines: false).function
            }
            running.append(Running(thread: thread, task: sample.task, frames: Self.shown(frames)))
        }
        return running
    }

    /// The stack and program counter of a thread blocked in a system call other than a futex
    /// wait: a signal would cut it short (`nanosleep` returns early; a `read` on a socket with a
    /// receive timeout, `poll` and `epoll_wait` return EINTR), so it is read, not signalled.
    static func asleep(_ thread: Int32) -> (stack: UInt, pc: UInt)? {
        guard let text = readSmallFile("/proc/self/task/\(thread)/syscall") else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        #if arch(x86_64)
        let futex: Substring = "202"
        #else
        let futex: Substring = "98"
        #endif
        // On a CPU ("running": no call to cut short) or in a futex wait (restarted by the kernel
        // after the handler), a thread is signalled.
        guard fields.count >= 9, fields[0] != futex, Int(fields[0]) != nil,
            let stack = UInt(fields[7].dropFirst(2), radix: 16), let pc = UInt(fields[8].dropFirst(2), radix: 16)
        else { return nil }
        return (stack, pc)
    }

    /// The outermost word of the 64 KiB above `stack` that is one of `taskKeys`: the task the
    /// thread's job runs (the runtime's own frames, outermost, hold it).
    static func taskOnStack(from stack: UInt, among taskKeys: Set<UInt>) -> UInt? {
        let blocks = (0..<4_096).map { stack &+ UInt($0) * 16 }
        let reader = AsyncStackReader(depth: 1, image: ProcessImage())
        var found: UInt?
        for pair in reader.readPairs(blocks) {
            guard let (first, second) = pair else { break }
            if taskKeys.contains(first) { found = first }
            if taskKeys.contains(second) { found = second }
        }
        return found
    }

    /// The frames worth showing: from the innermost named one, without the runtime's own.
    static func shown(_ frames: [String]) -> [String] {
        var shown: [String] = []
        for frame in frames {
            if frame.hasPrefix("swift_job_run") || frame.hasPrefix("swift::") { break }
            if frame.hasPrefix("_dispatch_") || frame.hasPrefix("__") { continue }  // their internals
            if shown.last != frame { shown.append(frame) }
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

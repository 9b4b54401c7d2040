// ThreadSampler.swift -- internal Swift wrapper over CThreadSampler (Linux).
//
// Sample the native stack of any thread of this process (e.g. a stalled
// cooperative-pool thread) and symbolize the frames. Never blocks longer than the
// given timeout, never replaces a signal handler the host installed.

import CTaskScopeNative
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum ThreadSampler {
    enum SampleError: Error, Equatable, CustomStringConvertible {
        case notInstalled(code: Int32)  // no free realtime signal / install failed
        case threadGone  // ESRCH: the thread exited
        case timedOut  // handler did not run in time
        case signalBlocked  // target thread blocks the sampling signal
        case busy  // previous abandoned handler still running
        case handlerReplaced  // host replaced our signal handler after install
        case failed(code: Int32)  // other negative errno

        init(code: Int32) {
            switch code {
            case Int32(TS_ERR_NO_THREAD): self = .threadGone
            case Int32(TS_ERR_TIMEOUT): self = .timedOut
            case Int32(TS_ERR_BLOCKED): self = .signalBlocked
            case Int32(TS_ERR_STALE_BUSY): self = .busy
            case Int32(TS_ERR_NOT_INSTALLED): self = .notInstalled(code: code)
            case Int32(TS_ERR_HANDLER_REPLACED): self = .handlerReplaced
            default: self = .failed(code: code)
            }
        }

        var description: String {
            switch self {
            case .notInstalled(let c): return "notInstalled(\(c))"
            case .threadGone: return "threadGone(ESRCH)"
            case .timedOut: return "timedOut"
            case .signalBlocked: return "signalBlocked"
            case .busy: return "busy"
            case .handlerReplaced: return "handlerReplaced"
            case .failed(let c): return "failed(\(c))"
            }
        }
    }

    /// Result of the one-time installation: signal number (> 0) or TS_ERR_* (< 0).
    private static let installation = Mutex<Int32?>(nil)

    /// Installs the handler (idempotent) on the first signal the host does not own:
    /// SIGPROF (the only one libdispatch/cooperative-pool threads leave unblocked),
    /// else a realtime signal. Returns the signal number, or nil if none is free.
    @discardableResult
    static func install() -> Int32? {
        let result = installation.withLock { state -> Int32 in
            if let s = state, s > 0 { return s }
            let r = Int32(ts_sampler_install_any())
            state = r
            return r
        }
        return result > 0 ? result : nil
    }

    /// Thread ids of this process, from /proc/self/task (at most `limit`).
    static func threadIDs(limit: Int = 4096) -> [Int32] {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        var ids: [Int32] = []
        ids.reserveCapacity(64)
        // A thread that exits while the directory is read moves the entries after it: one may
        // come twice (the kernel resumes the listing by position).
        var listed = Set<Int32>()
        while ids.count < limit, let entry = readdir(dir) {
            let tid: Int32? = withUnsafePointer(to: &entry.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    Int32(String(cString: $0))
                }
            }
            if let tid, tid > 0, listed.insert(tid).inserted { ids.append(tid) }
        }
        return ids
    }

    /// The calling thread's kernel thread id.
    static func currentThreadID() -> Int32 { ts_gettid() }

    /// /proc/self/task/<tid>/comm (thread name), if readable.
    static func threadName(_ tid: Int32) -> String? {
        let fd = open("/proc/self/task/\(tid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 63) }
        guard n > 0 else { return nil }
        var s = String(decoding: buf[0..<n], as: UTF8.self)
        if s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    struct Frame: Sendable, Equatable {
        enum Kind: UInt8, Sendable {
            case pc = 0  // interrupted program counter
            case framePointer = 1  // from the frame-pointer chain
            case stackScan = 2  // heuristic: stack word pointing just after a call instruction
        }
        let address: UInt
        let kind: Kind
    }

    /// Samples thread `tid`: element 0 is the interrupted PC, the rest are return
    /// addresses. With `scanStack` (default) frames of code without frame pointers
    /// (glibc, ...) are recovered heuristically; without it only the frame-pointer
    /// chain is walked. Nil on any failure.
    static func sample(_ tid: Int32, maxFrames: Int = 32, scanStack: Bool = true) -> [UInt]? {
        try? trySampleFrames(tid, maxFrames: maxFrames, scanStack: scanStack).map(\.address)
    }

    static func trySampleFrames(
        _ tid: Int32, maxFrames: Int = 32, timeoutMs: Int32 = 100,
        scanStack: Bool = true
    ) throws(SampleError) -> [Frame] {
        try trySample(tid, maxFrames: maxFrames, timeoutMs: timeoutMs, scanStack: scanStack).frames
    }

    /// A thread's frames and the Swift task it was running when interrupted (0 for none).
    static func trySample(
        _ tid: Int32, maxFrames: Int = 32, timeoutMs: Int32 = 100,
        scanStack: Bool = true
    ) throws(SampleError) -> (frames: [Frame], task: UInt) {
        guard install() != nil else { throw .notInstalled(code: Int32(ts_sampler_signal())) }
        let capacity = max(1, min(maxFrames, Int(TS_MAX_FRAMES)))
        var frames = [UInt](repeating: 0, count: capacity)
        var kinds = [UInt8](repeating: 0, count: capacity)
        let flags: Int32 = scanStack ? Int32(TS_SAMPLE_STACK_SCAN) : 0
        var task: UInt = 0
        let n = frames.withUnsafeMutableBufferPointer { fb in
            kinds.withUnsafeMutableBufferPointer { kb in
                Int(ts_sample_thread_ex(tid, fb.baseAddress, kb.baseAddress, Int32(capacity), timeoutMs, flags, &task))
            }
        }
        guard n > 0 else { throw SampleError(code: Int32(n)) }
        return ((0..<n).map { Frame(address: frames[$0], kind: Frame.Kind(rawValue: kinds[$0]) ?? .stackScan) }, task)
    }

    /// Symbol containing `address`: demangled name when the address lies inside
    /// an exported symbol's [start, start+st_size), otherwise "module+0xoffset".
    static func symbol(of address: UInt) -> String? {
        guard address != 0 else { return nil }
        var info = ts_symbol_info_t()
        guard ts_dladdr1(address, &info) != 0 else { return nil }
        if let sname = info.sym_name, info.sym_addr != 0,
            address >= info.sym_addr, address < info.sym_addr &+ UInt(info.sym_size)
        {
            return demangle(sname)
        }
        guard let fname = info.module_path else { return nil }
        let path = String(cString: fname)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let offset = address &- info.module_base
        return "\(base)+0x\(String(offset, radix: 16))"
    }

    /// Symbolizes a sample: frame 0 as-is, return addresses as (addr - 1) so the
    /// lookup lands inside the calling instruction.
    static func symbols(for frames: [UInt]) -> [String] {
        frames.enumerated().map { i, pc in
            symbol(of: i == 0 ? pc : pc &- 1) ?? "0x\(String(pc, radix: 16))"
        }
    }

    private static func demangle(_ name: UnsafePointer<CChar>) -> String {
        let len = strlen(name)
        // Swift manglings: $s..., _$s..., $S..., _T0...
        let isSwift = len > 2 && (name[0] == 0x24 || (name[0] == 0x5F && (name[1] == 0x24 || name[1] == 0x54)))
        return isSwift ? Symbolicator.demangle(String(cString: name)) : String(cString: name)
    }

    struct Stats { var requests, completed, timeouts, ignoredSignals: UInt64 }
    static func stats() -> Stats {
        var s = ts_stats_t()
        ts_sampler_stats(&s)
        return Stats(
            requests: s.requests, completed: s.completed, timeouts: s.timeouts, ignoredSignals: s.ignored_signals)
    }
}

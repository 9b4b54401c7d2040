// ThreadSampler: sample the native stack of another thread of this process
// (Linux only) by sending it a realtime signal whose handler walks the
// frame-pointer chain with process_vm_readv (never faults).
#ifndef TASKSCOPE_NATIVE_H
#define TASKSCOPE_NATIVE_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Maximum number of frames one sample can hold (larger capacities are clamped).
#define TS_MAX_FRAMES 256

/// Error codes (always negative). Most are negated errno values.
enum {
    TS_ERR_INVALID       = -22,  // -EINVAL: bad signal number / arguments
    TS_ERR_SIGNAL_TAKEN  = -16,  // -EBUSY : install: disposition is not SIG_DFL (host owns it)
    TS_ERR_OTHER_SIGNAL  = -17,  // -EEXIST: install: already installed on a different signal
    TS_ERR_NOT_INSTALLED = -19,  // -ENODEV: sample: ts_sampler_install() not called / failed
    TS_ERR_NO_THREAD     = -3,   // -ESRCH : thread does not exist (exited)
    TS_ERR_TIMEOUT       = -110, // -ETIMEDOUT: handler did not complete in time
    TS_ERR_BLOCKED       = -11,  // -EAGAIN: target thread currently blocks the signal (not sent)
    TS_ERR_STALE_BUSY    = -114, // -EALREADY: an abandoned earlier sample's handler is still running
    TS_ERR_HANDLER_REPLACED = -131, // -ENOTRECOVERABLE: someone replaced our handler after install;
                                    //  we never signal with a handler that is not ours
};

/// Install the sampling handler on `signo` (a realtime signal SIGRTMIN..SIGRTMAX,
/// or SIGPROF), only if its current disposition is SIG_DFL. Idempotent.
///
/// NOTE: libdispatch worker threads -- which include Swift's cooperative pool --
/// block every signal except SIGILL/SIGTRAP/SIGFPE/SIGBUS/SIGSEGV/SIGSYS/SIGPIPE/
/// SIGPROF (see _dispatch_sigmask). A realtime signal therefore never reaches a
/// cooperative thread (ts_sample_thread returns TS_ERR_BLOCKED for them); SIGPROF does.
/// Returns 0 on success / already installed on `signo`, TS_ERR_SIGNAL_TAKEN if
/// someone else owns the signal (their handler is left untouched),
/// TS_ERR_OTHER_SIGNAL if already installed on another signal, TS_ERR_INVALID,
/// or another negative errno from sigaction.
int ts_sampler_install(int signo);

/// Install on the first free signal: SIGPROF first (the only one that reaches
/// libdispatch / Swift cooperative-pool threads), then realtime signals from
/// SIGRTMAX down to SIGRTMIN. Signals whose disposition is not SIG_DFL (owned by
/// the host) are skipped, never replaced.
/// Returns the signal number (> 0), or a negative TS_ERR_* code.
/// If already installed, returns the installed signal.
int ts_sampler_install_any(void);

/// The installed signal number, or 0 when not installed.
int ts_sampler_signal(void);

/// dladdr1(addr, ..., RTLD_DL_SYMENT) flattened for Swift (Dl_info is only
/// visible with _GNU_SOURCE). Returns 0 if the address is in no loaded module.
/// sym_name/sym_addr are NULL/0 when no symbol precedes the address; sym_size is
/// the ELF st_size of that symbol (0 if unknown).
typedef struct {
    const char *module_path;
    uintptr_t   module_base;
    const char *sym_name;
    uintptr_t   sym_addr;
    uint64_t    sym_size;
} ts_symbol_info_t;
int ts_dladdr1(uintptr_t addr, ts_symbol_info_t *out);

/// Small helpers for Swift (SIGRTMIN/SIGRTMAX are function-like macros; gettid).
int ts_sigrtmin(void);
int ts_sigrtmax(void);
pid_t ts_gettid(void);

/// Sample thread `tid` of this process. Writes at most `capacity` addresses into
/// `frames`: frames[0] is the interrupted PC, the following entries are return
/// addresses from the frame-pointer chain (callers should symbolize addr-1 for
/// those). Waits at most `timeout_ms` for the target to run the handler.
/// Returns the frame count (>= 1) or a negative TS_ERR_* code.
/// Thread-safe (callers are serialized internally); never blocks longer than
/// about `timeout_ms` (plus the same again if an abandoned handler is mid-write).
int ts_sample_thread(pid_t tid, uintptr_t *frames, int capacity, int timeout_ms);

/// Frame provenance (ts_sample_thread_ex `kinds` output).
enum {
    TS_FRAME_PC = 0,    // the interrupted program counter
    TS_FRAME_FP = 1,    // return address from the frame-pointer chain (reliable)
    TS_FRAME_SCAN = 2,  // return address found by stack scanning (heuristic: a word that
                        // points just after a call instruction in an executable segment)
};
/// Flags for ts_sample_thread_ex.
enum {
    /// Also recover frames of code built without frame pointers (glibc, ...) by
    /// scanning the stack snapshot taken in the handler, and re-enter the frame
    /// chain when it is broken. Done in the caller, after the target resumed.
    TS_SAMPLE_STACK_SCAN = 1,
};
/// Like ts_sample_thread; `kinds` (nullable, `capacity` entries) receives TS_FRAME_*, and
/// `task` (nullable) the Swift task the thread was running when interrupted
/// (swift_task_getCurrent on that thread), or 0.
int ts_sample_thread_ex(pid_t tid, uintptr_t *frames, uint8_t *kinds, int capacity,
                        int timeout_ms, int flags, uintptr_t *task);

/// Unwinds a thread that is stopped in a system call, without signalling it: `pc` and `sp` as
/// the kernel gives them in /proc/self/task/TID/syscall. Reads up to 32 KiB of its stack from `sp`
/// (process_vm_readv: never faults) and recovers return addresses by scanning, re-entering the
/// frame-pointer chain where one is found. frames[0] is `pc`; `kinds` (nullable) as above.
/// Returns the frame count (>= 1) or a negative errno. Thread-safe; allocates 32 KiB meanwhile.
int ts_unwind_stopped(uintptr_t pc, uintptr_t sp, uintptr_t *frames, uint8_t *kinds, int capacity);

/// Counters for diagnostics (monotonic since process start).
typedef struct {
    uint64_t requests;       // ts_sample_thread calls that sent a signal
    uint64_t completed;      // samples returned successfully
    uint64_t timeouts;       // TS_ERR_TIMEOUT returns
    uint64_t ignored_signals;// handler invocations that found nothing to do (late/foreign)
} ts_stats_t;
void ts_sampler_stats(ts_stats_t *out);

/// Reads `count` blocks of `each` bytes, block i from remote[i], into local + i * each, from
/// this process's own memory through process_vm_readv: an unmapped address fails that block
/// (ok[i] = 0) instead of faulting. Returns how many blocks were read, or a negative errno
/// when the call itself is refused (seccomp, ptrace policy).
long ts_read_blocks(const uintptr_t *remote, void *local, size_t each, size_t count, uint8_t *ok);

#ifdef __cplusplus
}
#endif
#endif

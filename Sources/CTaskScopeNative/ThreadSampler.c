// ThreadSampler.c -- signal-based native stack sampling of threads of this process.
//
// Protocol (one sample in flight at a time; callers serialized by g_caller_lock):
//
//   g_state = (generation << 2) | phase, phase in {IDLE, ARMED, CLAIMED, DONE}
//
//   caller: wait until phase != CLAIMED, write target/capacity, store (gen|ARMED),
//           tgkill(), then wait (futex, bounded) for (gen|DONE) and copy frames out.
//           On timeout: CAS (gen|ARMED) -> (gen|IDLE). If that CAS fails a handler
//           has claimed the slot and is writing right now: give it a short grace.
//   handler: if state is ARMED and the target is this thread, CAS ARMED -> CLAIMED
//           (exactly one handler wins), walk the stack into the static slot,
//           store (gen|DONE), bump the futex word and wake.
//
// A handler that arrives late (after the caller gave up, or a duplicate queued
// realtime signal) finds the state IDLE/DONE or ARMED with another generation,
// its CAS fails, and it writes nothing. The handler never takes locks, never
// allocates, touches no stdio, preserves errno and uses only atomics + syscalls.

#define _GNU_SOURCE
#include "TaskScopeNative.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <sched.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "ThreadSampler supports x86_64 and aarch64 Linux only"
#endif

enum { PH_IDLE = 0, PH_ARMED = 1, PH_CLAIMED = 2, PH_DONE = 3 };

#define TS_MAX_FRAME_JUMP ((uintptr_t)8 << 20)   // 8 MiB between consecutive frames
#define TS_STACK_BYTES    (32 * 1024)              // raw stack snapshot for stack scanning
#define TS_LIVENESS_SLICE_NS (2 * 1000 * 1000LL)   // re-check target liveness every 2 ms
#define TS_STALE_GRACE_NS (20 * 1000 * 1000LL)    // extra wait for a handler mid-write

// ---- shared slot (written by the handler, read by the caller) -------------------
static _Atomic uint64_t g_state;          // (gen << 2) | phase
static _Atomic uint32_t g_futex;          // bumped by the handler after DONE
static _Atomic pid_t    g_target;         // tid that should answer the current gen
static _Atomic int      g_capacity;       // frames wanted for the current gen
static _Atomic int      g_count;          // frames written by the handler
static uintptr_t        g_task;           // the Swift task the interrupted thread was running
// swift_task_getCurrent, looked up at install: it reads a thread-local, nothing more.
static void *(*_Atomic g_current_task_fn)(void);
static uintptr_t        g_frames[TS_MAX_FRAMES];
static uintptr_t        g_sp, g_fp0;      // interrupted sp / frame pointer
static size_t           g_stack_len;      // bytes of g_stack that are valid
static uintptr_t        g_stack[TS_STACK_BYTES / sizeof(uintptr_t)];  // snapshot from g_sp

static _Atomic int      g_in_handler;     // handlers currently executing (any outcome)
static _Atomic int      g_signo;          // installed signal, 0 = not installed
static _Atomic int      g_use_pipe;       // 1 = process_vm_readv unusable, use pipe probe
static int              g_pipe[2] = { -1, -1 };

static _Atomic uint64_t g_stat_requests, g_stat_completed, g_stat_timeouts, g_stat_ignored;

static pthread_mutex_t  g_install_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t  g_caller_lock  = PTHREAD_MUTEX_INITIALIZER;
static uint64_t         g_gen;            // protected by g_caller_lock
static pid_t            g_last_tid;       // protected by g_caller_lock

// ---- async-signal-safe memory probe ---------------------------------------------
// Reads `len` bytes at `addr` of our own address space. Returns true on success,
// false (never a fault) if the memory is unmapped/unreadable.
static bool ts_safe_read(uintptr_t addr, void *out, size_t len) {
    if (!atomic_load_explicit(&g_use_pipe, memory_order_relaxed)) {
        struct iovec local = { out, len };
        struct iovec remote = { (void *)addr, len };
        ssize_t n = (ssize_t)syscall(SYS_process_vm_readv, (long)getpid(), &local, 1UL, &remote, 1UL, 0UL);
        return n == (ssize_t)len;
    }
    // Fallback: write(2) from the address into a pipe; the kernel returns EFAULT
    // instead of faulting. Only one handler holds the slot at a time (CLAIMED), so
    // the pipe is never used concurrently.
    ssize_t w = write(g_pipe[1], (const void *)addr, len);
    if (w <= 0) return false;
    ssize_t r = read(g_pipe[0], out, (size_t)w);   // always drain what was written
    return w == (ssize_t)len && r == w;
}

// Like ts_safe_read but accepts a short read; returns the number of bytes read.
static size_t ts_safe_read_partial(uintptr_t addr, void *out, size_t len) {
    if (!atomic_load_explicit(&g_use_pipe, memory_order_relaxed)) {
        struct iovec local = { out, len };
        struct iovec remote = { (void *)addr, len };
        ssize_t n = (ssize_t)syscall(SYS_process_vm_readv, (long)getpid(), &local, 1UL, &remote, 1UL, 0UL);
        return n > 0 ? (size_t)n : 0;
    }
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < 256 ? len - done : 256;
        if (!ts_safe_read(addr + done, (char *)out + done, chunk)) break;
        done += chunk;
    }
    return done;
}

// ---- the signal handler -----------------------------------------------------------
static void ts_handler(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    int saved_errno = errno;
    atomic_fetch_add_explicit(&g_in_handler, 1, memory_order_relaxed);

    // Only answer tgkill()/tkill() sent by this very process.
    if (si == NULL || ucv == NULL || si->si_code != SI_TKILL || si->si_pid != getpid())
        goto ignored;

    uint64_t s = atomic_load_explicit(&g_state, memory_order_acquire);
    if ((s & 3) != PH_ARMED) goto ignored;
    pid_t self = (pid_t)syscall(SYS_gettid);
    if (atomic_load_explicit(&g_target, memory_order_relaxed) != self) goto ignored;
    uint64_t claimed = (s & ~(uint64_t)3) | PH_CLAIMED;
    if (!atomic_compare_exchange_strong_explicit(&g_state, &s, claimed,
                                                 memory_order_acq_rel, memory_order_relaxed))
        goto ignored;   // the caller gave up or re-armed for another generation

    int cap = atomic_load_explicit(&g_capacity, memory_order_relaxed);
    if (cap < 1 || cap > TS_MAX_FRAMES) cap = TS_MAX_FRAMES;

    const ucontext_t *uc = (const ucontext_t *)ucv;
    uintptr_t pc, fp, sp;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
    sp = (uintptr_t)uc->uc_mcontext.sp;
#endif

    const uintptr_t uc_fp = fp;
    void *(*current_task)(void) = atomic_load_explicit(&g_current_task_fn, memory_order_relaxed);
    g_task = current_task ? (uintptr_t)current_task() : 0;
    int n = 0;
    g_frames[n++] = pc;
    uintptr_t lower = sp;       // the first fp must lie at/above the interrupted sp
    bool first = true;
    while (n < cap) {
        // Swift async frames may tag the saved fp with bit 60 (extended frame info).
        fp &= ~((uintptr_t)1 << 60);
        if (fp == 0 || (fp & 7) != 0) break;
        if (first ? (fp < lower) : (fp <= lower)) break;   // must grow upwards
        if (fp - lower > TS_MAX_FRAME_JUMP) break;
        uintptr_t pair[2];                                  // [saved fp, return address]
        if (!ts_safe_read(fp, pair, sizeof pair)) break;
        uintptr_t ret = pair[1];
        if (ret == 0) break;
        g_frames[n++] = ret;
        lower = fp;
        fp = pair[0];
        first = false;
    }

    // Raw stack snapshot for the caller's (optional) stack-scanning pass.
    g_sp = sp;
    g_fp0 = uc_fp;
    g_stack_len = ts_safe_read_partial(sp, g_stack, sizeof g_stack) & ~(size_t)7;

    atomic_store_explicit(&g_count, n, memory_order_relaxed);
    atomic_store_explicit(&g_state, (s & ~(uint64_t)3) | PH_DONE, memory_order_release);
    atomic_fetch_add_explicit(&g_futex, 1, memory_order_release);
    syscall(SYS_futex, &g_futex, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    atomic_fetch_sub_explicit(&g_in_handler, 1, memory_order_release);
    errno = saved_errno;
    return;

ignored:
    atomic_fetch_add_explicit(&g_stat_ignored, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&g_in_handler, 1, memory_order_release);
    errno = saved_errno;
}

// ---- installation -------------------------------------------------------------------
int ts_sampler_signal(void) { return atomic_load(&g_signo); }
int ts_sigrtmin(void) { return SIGRTMIN; }
int ts_sigrtmax(void) { return SIGRTMAX; }
int ts_dladdr1(uintptr_t addr, ts_symbol_info_t *out) {
    if (out == NULL) return 0;
    memset(out, 0, sizeof *out);
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1((const void *)addr, &info, (void **)&sym, RTLD_DL_SYMENT) == 0) return 0;
    out->module_path = info.dli_fname;
    out->module_base = (uintptr_t)info.dli_fbase;
    out->sym_name = info.dli_sname;
    out->sym_addr = (uintptr_t)info.dli_saddr;
    out->sym_size = sym != NULL ? (uint64_t)sym->st_size : 0;
    return 1;
}
pid_t ts_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int ts_sampler_install(int signo) {
    if (signo != SIGPROF && (signo < SIGRTMIN || signo > SIGRTMAX)) return TS_ERR_INVALID;
    int rc = 0;
    pthread_mutex_lock(&g_install_lock);
    int cur = atomic_load(&g_signo);
    if (cur == signo) goto out;
    if (cur != 0) { rc = TS_ERR_OTHER_SIGNAL; goto out; }

    struct sigaction old;
    memset(&old, 0, sizeof old);
    if (sigaction(signo, NULL, &old) != 0) { rc = -errno; goto out; }
    if (old.sa_handler != SIG_DFL) { rc = TS_ERR_SIGNAL_TAKEN; goto out; }  // never replace
    atomic_store(&g_current_task_fn, (void *(*)(void))dlsym(RTLD_DEFAULT, "swift_task_getCurrent"));

    // Decide how the handler will read memory: process_vm_readv on ourselves, or
    // (if seccomp/ptrace policy forbids it) a pipe-based probe.
    uintptr_t probe_src[2] = { 0x1234, 0x5678 }, probe_dst[2] = { 0, 0 };
    atomic_store(&g_use_pipe, 0);
    if (!ts_safe_read((uintptr_t)probe_src, probe_dst, sizeof probe_dst) ||
        probe_dst[0] != 0x1234 || probe_dst[1] != 0x5678) {
        if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) { rc = -errno; goto out; }
        atomic_store(&g_use_pipe, 1);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = ts_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    struct sigaction prev;
    memset(&prev, 0, sizeof prev);
    if (sigaction(signo, &sa, &prev) != 0) { rc = -errno; goto out; }
    if (prev.sa_handler != SIG_DFL) {
        // Someone installed a handler between our check and our sigaction: give it back.
        sigaction(signo, &prev, NULL);
        rc = TS_ERR_SIGNAL_TAKEN;
        goto out;
    }
    atomic_store(&g_signo, signo);
out:
    pthread_mutex_unlock(&g_install_lock);
    return rc;
}

int ts_sampler_install_any(void) {
    int cur = atomic_load(&g_signo);
    if (cur != 0) return cur;
    int last = TS_ERR_SIGNAL_TAKEN;
    const int nrt = SIGRTMAX - SIGRTMIN + 1;
    for (int i = -1; i < nrt; i++) {
        int signo = i < 0 ? SIGPROF : SIGRTMAX - i;   // SIGPROF, then SIGRTMAX..SIGRTMIN
        int rc = ts_sampler_install(signo);
        if (rc == 0) return signo;
        if (rc == TS_ERR_OTHER_SIGNAL) return atomic_load(&g_signo);  // raced with another installer
        last = rc;
    }
    return last;
}

// ---- caller side --------------------------------------------------------------------
static int64_t ts_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ts_futex_wait(uint32_t expected, int64_t timeout_ns) {
    if (timeout_ns <= 0) return;
    struct timespec rel = { (time_t)(timeout_ns / 1000000000LL), (long)(timeout_ns % 1000000000LL) };
    syscall(SYS_futex, &g_futex, FUTEX_WAIT_PRIVATE, expected, &rel, NULL, 0);
}

// Checks /proc/self/task/<tid>/status: 0 = ok to signal, TS_ERR_NO_THREAD, or
// TS_ERR_BLOCKED when the thread blocks `signo` (a signal sent now would just sit
// in its queue and the sample would time out).
static int ts_check_target(pid_t tid, int signo) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? TS_ERR_NO_THREAD : 0;  // no /proc: just try
    char buf[4096];
    ssize_t len = 0, r;
    while (len < (ssize_t)sizeof buf - 1 &&
           (r = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0)
        len += r;
    close(fd);
    if (len <= 0) return TS_ERR_NO_THREAD;   // thread vanished while reading
    buf[len] = 0;
    const char *p = strstr(buf, "\nSigBlk:");
    if (p == NULL) return 0;
    p += 8;
    while (*p == ' ' || *p == '\t') p++;
    unsigned long long mask = 0;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9') d = *p - '0';
        else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
        else break;
        mask = (mask << 4) | (unsigned)d;
    }
    return (mask >> (signo - 1)) & 1ULL ? TS_ERR_BLOCKED : 0;
}

// ---- caller-side stack scanning (not in the handler; may use dl_iterate_phdr) ------
typedef struct { uintptr_t lo, hi; int module; } ts_range_t;
typedef struct { ts_range_t r[256]; int n, modules; } ts_ranges_t;

static int ts_phdr_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    ts_ranges_t *rs = (ts_ranges_t *)data;
    for (int i = 0; i < info->dlpi_phnum && rs->n < 256; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            rs->r[rs->n].lo = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
            rs->r[rs->n].hi = rs->r[rs->n].lo + ph->p_memsz;
            rs->r[rs->n].module = rs->modules;
            rs->n++;
        }
    }
    rs->modules++;
    return 0;
}

static int ts_range_cmp(const void *a, const void *b) {
    uintptr_t x = ((const ts_range_t *)a)->lo, y = ((const ts_range_t *)b)->lo;
    return x < y ? -1 : x > y;
}

static const ts_range_t *ts_exec_range(const ts_ranges_t *rs, uintptr_t a) {
    int lo = 0, hi = rs->n - 1;               // ranges sorted by lo, non-overlapping
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (a < rs->r[mid].lo) hi = mid - 1;
        else if (a >= rs->r[mid].hi) lo = mid + 1;
        else return &rs->r[mid];
    }
    return NULL;
}

// Is `ra` plausibly a return address: inside an executable segment of a loaded
// module and directly preceded by a call instruction?
static bool ts_plausible_ra(const ts_ranges_t *rs, uintptr_t ra) {
    const ts_range_t *r = ts_exec_range(rs, ra);
    if (r == NULL || ra < r->lo + 8) return false;
#if defined(__x86_64__)
    uint8_t b[8];                        // b[i] = byte at ra - 8 + i
    if (!ts_safe_read(ra - 8, b, sizeof b)) return false;
    if (b[3] == 0xE8) return true;       // call rel32
    // call r/m64: FF /2 with 2..7 byte encodings (modrm.reg == 2)
    static const int lens[] = { 2, 3, 4, 6, 7 };
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        int k = 8 - lens[i];
        if (b[k] == 0xFF && ((b[k + 1] >> 3) & 7) == 2) return true;
    }
    return false;
#elif defined(__aarch64__)
    uint32_t insn;
    if (!ts_safe_read(ra - 4, &insn, sizeof insn)) return false;
    return (insn & 0xFC000000u) == 0x94000000u ||   // BL
           (insn & 0xFFFFFC1Fu) == 0xD63F0000u ||   // BLR
           (insn & 0xFFFFFC00u) == 0xD63F0800u;     // BLRAA/BLRAAZ family (approx.)
#endif
}

// A stack to unwind: the thread's PC, SP and frame pointer (0 when unknown) and a snapshot of
// its stack from SP.
typedef struct {
    uintptr_t pc, sp, fp0;
    const uintptr_t *stack;
    size_t len;
} ts_unwind_t;

#if defined(__x86_64__)
// Where a jump through a PLT stub at `t` goes (the function its GOT slot holds), or `t` itself
// when `t` is not such a stub.
static uintptr_t ts_through_plt(uintptr_t t) {
    uint8_t c[12];
    if (!ts_safe_read(t, c, sizeof c)) return t;
    size_t i = 0;
    if (c[0] == 0xF3 && c[1] == 0x0F && c[2] == 0x1E && c[3] == 0xFA) i = 4;  // endbr64
    if (c[i] == 0xF2) i++;                                                    // bnd
    if (c[i] != 0xFF || c[i + 1] != 0x25) return t;                           // jmp *disp32(%rip)
    int32_t disp;
    memcpy(&disp, c + i + 2, sizeof disp);
    uintptr_t slot = t + i + 6 + (intptr_t)disp, target;
    return ts_safe_read(slot, &target, sizeof target) ? target : t;
}
#endif

// The function the call instruction that ends at `ra` calls, where the instruction tells: a
// direct call's target (through a PLT stub, the function it jumps to), or the GOT slot of a
// `call *disp32(%rip)`; 0 for a call through a register (or on other architectures).
static uintptr_t ts_call_target(uintptr_t ra) {
#if defined(__x86_64__)
    uint8_t b[6];  // b[i] = byte at ra - 6 + i
    if (!ts_safe_read(ra - 6, b, sizeof b)) return 0;
    int32_t disp;
    memcpy(&disp, b + 2, sizeof disp);
    if (b[1] == 0xE8) {
        int32_t rel;
        memcpy(&rel, b + 2, sizeof rel);
        return ts_through_plt(ra + (intptr_t)rel);
    }
    uintptr_t target;
    if (b[0] == 0xFF && b[1] == 0x15 && ts_safe_read(ra + (intptr_t)disp, &target, sizeof target)) return target;
#else
    (void)ra;
#endif
    return 0;
}

// Whether a word found by scanning, `ra`, can be the return address of the frame that called
// the one at `callee`: a call whose target the instruction tells must lead into the callee's
// module (a function may tail-call another of its own module, so no closer). Stale return
// addresses left in a stack's unused slots mostly fail this.
static bool ts_call_fits(const ts_ranges_t *rs, uintptr_t ra, uintptr_t callee) {
    uintptr_t target = ts_call_target(ra);
    if (target == 0) return true;
    const ts_range_t *a = ts_exec_range(rs, target), *b = ts_exec_range(rs, callee);
    return a != NULL && b != NULL && a->module == b->module;
}

// Reads a stack word, from the snapshot when possible (consistent with the
// moment of the signal), otherwise from live memory (never faults).
static bool ts_word(const ts_unwind_t *u, uintptr_t a, uintptr_t *out) {
    if (a >= u->sp && a + sizeof(uintptr_t) <= u->sp + u->len) {
        *out = u->stack[(a - u->sp) / sizeof(uintptr_t)];
        return true;
    }
    return ts_safe_read(a, out, sizeof *out);
}

static bool ts_valid_next_fp(uintptr_t fp, uintptr_t above) {
    return fp != 0 && (fp & 7) == 0 && fp > above && fp - above <= TS_MAX_FRAME_JUMP;
}

// Hybrid unwind of a stack snapshot: PC, then return addresses found by
// scanning the stack gap below the first frame pointer (frames of functions
// built without frame pointers, e.g. glibc), then the frame-pointer chain; when
// the chain breaks (or is garbage or unknown from the start), keep scanning the
// snapshot and re-enter the chain at the first return address whose slot below
// holds a plausible saved frame pointer.
static int ts_unwind_scan(const ts_unwind_t *u, uintptr_t *frames, uint8_t *kinds, int capacity) {
    ts_ranges_t rs;
    rs.n = 0;
    rs.modules = 0;
    dl_iterate_phdr(ts_phdr_cb, &rs);
    qsort(rs.r, (size_t)rs.n, sizeof rs.r[0], ts_range_cmp);

    int n = 0;
    uintptr_t callee = u->pc;  // the frame a scanned return address must have called
#define TS_PUSH(addr, kind) do { frames[n] = (addr); if (kinds) kinds[n] = (kind); n++; callee = (addr) - 1; } while (0)
    TS_PUSH(u->pc, TS_FRAME_PC);
    callee = u->pc;
    const uintptr_t stack_end = u->sp + u->len;
    uintptr_t pos = u->sp;                // next stack address to scan from
    uintptr_t fp = u->fp0 & ~((uintptr_t)1 << 60);
    bool have_chain = (fp >= u->sp && fp - u->sp <= TS_MAX_FRAME_JUMP && (fp & 7) == 0);
    int scanned_gap = 0;

    while (n < capacity) {
        if (have_chain) {
            // Frames without frame pointers between `pos` and the current frame record.
            if (scanned_gap == 0) {
                for (uintptr_t a = pos; a < fp && a < stack_end && n < capacity; a += 8) {
                    uintptr_t w = u->stack[(a - u->sp) / 8];
                    if (ts_plausible_ra(&rs, w) && ts_call_fits(&rs, w, callee)) TS_PUSH(w, TS_FRAME_SCAN);
                }
                scanned_gap = 1;
                if (pos < fp) pos = fp;
            }
            uintptr_t next, ra;
            if (n < capacity && ts_word(u, fp, &next) && ts_word(u, fp + 8, &ra) && ts_plausible_ra(&rs, ra)) {
                TS_PUSH(ra, TS_FRAME_FP);
                pos = fp + 16;
                next &= ~((uintptr_t)1 << 60);
                if (ts_valid_next_fp(next, fp)) { fp = next; continue; }
                if (next == 0) break;    // outermost frame (thread entry): done
            }
            have_chain = false;          // broken chain: fall back to scanning from pos
        }
        // Scan mode: look for the next return address; try to resume the chain there.
        bool resumed = false;
        for (uintptr_t a = pos < u->sp ? u->sp : pos; a < stack_end && n < capacity; a += 8) {
            uintptr_t w = u->stack[(a - u->sp) / 8];
            if (!ts_plausible_ra(&rs, w) || !ts_call_fits(&rs, w, callee)) continue;
            TS_PUSH(w, TS_FRAME_SCAN);
            uintptr_t saved;
            if (a >= u->sp + 8 && ts_word(u, a - 8, &saved)) {
                saved &= ~((uintptr_t)1 << 60);
                uintptr_t ra2;
                if (ts_valid_next_fp(saved, a) && ts_word(u, saved + 8, &ra2) && ts_plausible_ra(&rs, ra2)) {
                    fp = saved; pos = a + 8; have_chain = true; scanned_gap = 1; resumed = true;
                    break;
                }
            }
            pos = a + 8;
        }
        if (!resumed) break;
    }
#undef TS_PUSH
    return n;
}

int ts_unwind_stopped(uintptr_t pc, uintptr_t sp, uintptr_t *frames, uint8_t *kinds, int capacity) {
    if (frames == NULL || capacity <= 0 || sp == 0 || (sp & 7) != 0) return TS_ERR_INVALID;
    if (capacity > TS_MAX_FRAMES) capacity = TS_MAX_FRAMES;
    uintptr_t *stack = malloc(TS_STACK_BYTES);
    if (stack == NULL) return -ENOMEM;
    struct iovec local = { stack, TS_STACK_BYTES };
    struct iovec remote = { (void *)sp, TS_STACK_BYTES };
    ssize_t got = (ssize_t)syscall(SYS_process_vm_readv, (long)getpid(), &local, 1UL, &remote, 1UL, 0UL);
    if (got <= 0) {
        // The stack may end less than TS_STACK_BYTES above sp: read up to its page's end.
        size_t first = 4096 - (sp & 4095);
        local.iov_len = remote.iov_len = first;
        got = (ssize_t)syscall(SYS_process_vm_readv, (long)getpid(), &local, 1UL, &remote, 1UL, 0UL);
        if (got <= 0) { free(stack); return -EFAULT; }
    }
    ts_unwind_t u = { pc, sp, 0, stack, (size_t)got & ~(size_t)7 };
    int n = ts_unwind_scan(&u, frames, kinds, capacity);
    free(stack);
    return n;
}

static int ts_collect(uintptr_t *frames, uint8_t *kinds, int capacity, int flags, uintptr_t *task) {
    int n;
    if (task) *task = g_task;
    if (flags & TS_SAMPLE_STACK_SCAN) {
        ts_unwind_t u = { g_frames[0], g_sp, g_fp0, g_stack, g_stack_len };
        n = ts_unwind_scan(&u, frames, kinds, capacity);
    } else {
        n = atomic_load_explicit(&g_count, memory_order_relaxed);
        if (n > capacity) n = capacity;
        memcpy(frames, g_frames, (size_t)n * sizeof(uintptr_t));
        if (kinds) for (int i = 0; i < n; i++) kinds[i] = i == 0 ? TS_FRAME_PC : TS_FRAME_FP;
    }
    atomic_fetch_add(&g_stat_completed, 1);
    return n;
}

int ts_sample_thread(pid_t tid, uintptr_t *frames, int capacity, int timeout_ms) {
    return ts_sample_thread_ex(tid, frames, NULL, capacity, timeout_ms, 0, NULL);
}

int ts_sample_thread_ex(pid_t tid, uintptr_t *frames, uint8_t *kinds, int capacity,
                        int timeout_ms, int flags, uintptr_t *task) {
    int signo = atomic_load(&g_signo);
    if (signo == 0) return TS_ERR_NOT_INSTALLED;
    if (tid <= 0 || frames == NULL || capacity <= 0 || timeout_ms < 0) return TS_ERR_INVALID;
    if (capacity > TS_MAX_FRAMES) capacity = TS_MAX_FRAMES;

    const int64_t deadline = ts_now_ns() + (int64_t)timeout_ms * 1000000LL;

    // Serialize callers, but never wait for the lock longer than the timeout.
    struct timespec abs_deadline = { (time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL) };
    int rc;
    int lr = pthread_mutex_clocklock(&g_caller_lock, CLOCK_MONOTONIC, &abs_deadline);
    if (lr != 0) return lr == ETIMEDOUT ? TS_ERR_TIMEOUT : -lr;

    // Never send the signal unless the installed handler is still ours.
    {
        struct sigaction cur;
        if (sigaction(signo, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) ||
            cur.sa_sigaction != ts_handler) {
            rc = TS_ERR_HANDLER_REPLACED;
            goto out;
        }
    }

    rc = ts_check_target(tid, signo);
    // While a thread runs *our* handler (e.g. the one that just answered the
    // previous sample) the signal is in its blocked mask: wait for handlers to
    // return and look again before concluding the thread blocks the signal.
    // A thread taken off its CPU between our handler's end and its return keeps the signal
    // blocked for a time slice: look again until the deadline.
    while (rc == TS_ERR_BLOCKED && ts_now_ns() < deadline) {
        bool ours = atomic_load(&g_in_handler) > 0 || tid == g_last_tid;
        if (!ours) break;
        while (atomic_load(&g_in_handler) > 0 && ts_now_ns() < deadline) sched_yield();
        struct timespec pause = { 0, 100 * 1000 };
        nanosleep(&pause, NULL);
        rc = ts_check_target(tid, signo);
    }
    if (rc != 0) goto out;

    // A handler from an abandoned request may still be writing the slot.
    for (;;) {
        uint32_t seq = atomic_load_explicit(&g_futex, memory_order_acquire);
        uint64_t s = atomic_load_explicit(&g_state, memory_order_acquire);
        if ((s & 3) != PH_CLAIMED) break;
        int64_t left = deadline - ts_now_ns();
        if (left <= 0) { rc = TS_ERR_STALE_BUSY; goto out; }
        ts_futex_wait(seq, left);
    }

    const uint64_t gen = ++g_gen;
    const uint64_t armed = (gen << 2) | PH_ARMED;
    const uint64_t done = (gen << 2) | PH_DONE;
    atomic_store_explicit(&g_target, tid, memory_order_relaxed);
    atomic_store_explicit(&g_capacity, capacity, memory_order_relaxed);
    atomic_store_explicit(&g_count, 0, memory_order_relaxed);
    atomic_store_explicit(&g_state, armed, memory_order_release);
    atomic_fetch_add(&g_stat_requests, 1);

    if (syscall(SYS_tgkill, (long)getpid(), (long)tid, (long)signo) != 0) {
        int e = errno;
        uint64_t expect = armed;
        if (atomic_compare_exchange_strong(&g_state, &expect, (gen << 2) | PH_IDLE)) {
            rc = e == ESRCH ? TS_ERR_NO_THREAD : -e;
            goto out;
        }
        // An earlier, still-queued signal to the same thread claimed this request:
        // fall through and wait for it like a normal sample.
    }

    for (;;) {
        uint32_t seq = atomic_load_explicit(&g_futex, memory_order_acquire);
        uint64_t s = atomic_load_explicit(&g_state, memory_order_acquire);
        if (s == done) { rc = ts_collect(frames, kinds, capacity, flags, task); goto out; }
        int64_t left = deadline - ts_now_ns();
        if (left <= 0) break;
        // Wait in slices; a thread that exits after tgkill() silently drops the
        // signal, so notice its death instead of waiting for the full timeout.
        ts_futex_wait(seq, left < TS_LIVENESS_SLICE_NS ? left : TS_LIVENESS_SLICE_NS);
        if (syscall(SYS_tgkill, (long)getpid(), (long)tid, 0L) != 0 && errno == ESRCH) {
            uint64_t expect = armed;
            if (atomic_compare_exchange_strong(&g_state, &expect, (gen << 2) | PH_IDLE)) {
                rc = TS_ERR_NO_THREAD;
                goto out;
            }
        }
    }

    // Timed out. Withdraw the request unless a handler already claimed it.
    {
        uint64_t expect = armed;
        if (atomic_compare_exchange_strong(&g_state, &expect, (gen << 2) | PH_IDLE)) {
            rc = TS_ERR_TIMEOUT;
            atomic_fetch_add(&g_stat_timeouts, 1);
            goto out;
        }
        // Claimed (handler is walking right now) or just finished: short grace period.
        const int64_t grace_deadline = ts_now_ns() + TS_STALE_GRACE_NS;
        for (;;) {
            uint32_t seq = atomic_load_explicit(&g_futex, memory_order_acquire);
            uint64_t s = atomic_load_explicit(&g_state, memory_order_acquire);
            if (s == done) { rc = ts_collect(frames, kinds, capacity, flags, task); goto out; }
            int64_t left = grace_deadline - ts_now_ns();
            if (left <= 0) break;
            ts_futex_wait(seq, left);
        }
        // Still CLAIMED: leave it; the next caller waits for DONE before re-arming,
        // and we never copy from the slot for this generation again.
        rc = TS_ERR_TIMEOUT;
        atomic_fetch_add(&g_stat_timeouts, 1);
    }
out:
    g_last_tid = rc > 0 ? tid : 0;
    pthread_mutex_unlock(&g_caller_lock);
    return rc;
}

void ts_sampler_stats(ts_stats_t *out) {
    if (out == NULL) return;
    out->requests = atomic_load(&g_stat_requests);
    out->completed = atomic_load(&g_stat_completed);
    out->timeouts = atomic_load(&g_stat_timeouts);
    out->ignored_signals = atomic_load(&g_stat_ignored);
}

// MemoryRead.c -- reads of this process's own memory that fail instead of faulting.
#define _GNU_SOURCE
#include "TaskScopeNative.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define TS_BATCH 1024  // IOV_MAX on Linux

long ts_read_blocks(const uintptr_t *remote, void *local, size_t each, size_t count, uint8_t *ok) {
    struct iovec l[TS_BATCH], r[TS_BATCH];
    long pid = (long)getpid();
    long read_blocks = 0;
    size_t start = 0;
    while (start < count) {
        size_t n = count - start < TS_BATCH ? count - start : TS_BATCH;
        for (size_t i = 0; i < n; i++) {
            l[i].iov_base = (char *)local + (start + i) * each;
            l[i].iov_len = each;
            r[i].iov_base = (void *)remote[start + i];
            r[i].iov_len = each;
        }
        ssize_t got = (ssize_t)syscall(SYS_process_vm_readv, pid, l, (unsigned long)n, r, (unsigned long)n, 0UL);
        if (got < 0) {
            if (errno == EFAULT) {  // the first block is unreadable: skip it, go on after it
                ok[start] = 0;
                memset(l[0].iov_base, 0, each);
                start += 1;
                continue;
            }
            if (read_blocks == 0) return -errno;
            for (size_t i = start; i < count; i++) ok[i] = 0;
            return read_blocks;
        }
        // The call stops at the first block it cannot read in full: those before it are read.
        size_t whole = (size_t)got / each;
        for (size_t i = 0; i < whole; i++) ok[start + i] = 1;
        read_blocks += (long)whole;
        if (whole == n) { start += n; continue; }
        ok[start + whole] = 0;
        memset(l[whole].iov_base, 0, each);
        start += whole + 1;
    }
    return read_blocks;
}

/*
 * behindcalls.h - freeing memory behind winmem's back, two ways: through the C library's
 * symbols (munmap, madvise, mremap, mmap(MAP_FIXED): what a program or a library calls, and
 * what winmem sees before the kernel does), or, when the including test sets `direct`, as
 * raw system calls (what the C library's own free makes, which only the monitor hears of).
 */
#ifndef BEHINDCALLS_H
#define BEHINDCALLS_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int direct;

static int do_munmap(void *p, size_t n)
{
    return direct ? (int)syscall(SYS_munmap, p, n) : munmap(p, n);
}

static int do_madvise(void *p, size_t n, int advice)
{
    return direct ? (int)syscall(SYS_madvise, p, n, advice) : madvise(p, n, advice);
}

static void *do_mremap(void *p, size_t n, size_t m, int flags, void *to)
{
    return direct ? (void *)syscall(SYS_mremap, p, n, m, flags, to) : mremap(p, n, m, flags, to);
}

/* A fresh read-write private mapping forced over [p, p+n). */
static void *do_mmap_fixed(void *p, size_t n)
{
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    return direct ? (void *)syscall(SYS_mmap, p, n, prot, flags, -1, 0)
                  : mmap(p, n, prot, flags, -1, 0);
}

#endif

/*
 * interpose.c - munmap, madvise, mremap and mmap as the program sees them: the C library's,
 * with a look first at whether the call is about to take away secured memory.
 *
 * The userfaultfd monitor (uffdmon.c) hears of such a call only after the kernel has made
 * it, or, for a zap, while the caller waits for the event to be read but not for it to be
 * handled: another thread can reuse the memory before the cache callbacks have run.  A call
 * that goes through these symbols runs the callbacks first, in the calling thread, as
 * VirtualFree does on Windows, so by the time the memory changes no cache holds it.  This
 * covers every call made through the dynamic symbols, by the program and by any library
 * loaded after winmem; the C library's own internal calls (free of a large block) and raw
 * system calls are left to the monitor.
 *
 * Defining these symbols in libwinmem.so places them ahead of the C library's for everything
 * that links winmem (and in the executable itself when winmem is linked statically).  Each
 * passes the call on to the definition it hides: the C library's, or a sanitizer's
 * interceptor when one is linked into the executable (whose own calls go to the C library),
 * so AddressSanitizer and ThreadSanitizer keep seeing every mapping change.  winmem's own calls
 * (the wm_os_sys table) are marked, and never look: they are checked under the VM lock.
 *
 * With nothing secured, or WINMEM_SECURE_MONITOR=off, a call costs one more load and a
 * branch.  The symbols stay async-signal-safe as the C library's are: the check (secure.c)
 * takes the VM read lock only when this thread holds none of it, so a handler that
 * interrupted winmem passes unlooked.  A handler that frees secured memory otherwise runs the
 * callbacks in the handler, as it would run anything else it calls.
 */
#include "os.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Exported from the library, whose other symbols are hidden unless they are winmem's API.
 * Where gcc's ThreadSanitizer runtime is a shared library and winmem is linked into the
 * executable, these are found first by the runtime's own calls while it starts, before it can
 * take the entry hook its instrumentation adds to a function: they are not instrumented there
 * (they touch no shared data but the hook, an atomic), nor are the helpers they call. */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#define UNHOOKED __attribute__((no_sanitize_thread))
#else
#define UNHOOKED
#endif
#define PUBLIC __attribute__((visibility("default"))) UNHOOKED

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef int (*madvise_fn)(void *, size_t, int);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);

/* The definitions these hide, found at load (resolve); NULL before that, when the calls are
 * made directly. */
static mmap_fn next_mmap, next_mmap64;
static munmap_fn next_munmap;
static madvise_fn next_madvise;
static mremap_fn next_mremap;

/* The first definitions in the search order, which winmem's own calls go through as any
 * call would: a sanitizer's interceptor ahead of winmem, or these. */
static mmap_fn first_mmap;
static munmap_fn first_munmap;
static madvise_fn first_madvise;

static _Atomic(wm_os_interpose_fn) hook;
/* This thread is inside one of winmem's own calls (wm_os_sys), which must not look. */
static __thread unsigned own __attribute__((tls_model("initial-exec")));

void wm_os_interpose_set(wm_os_interpose_fn fn)
{
    atomic_store_explicit(&hook, fn, memory_order_release);
}

/* Run the hook for the pages of [start, start + len) when something may be secured there
 * (what: WM_OS_LOOK_RUN, _ASK or _GROWN, os.h).  Not for a call the kernel will refuse
 * without changing anything: an unaligned start, a range that wraps (EINVAL), nothing to do
 * (len 0). */
UNHOOKED static inline bool look_as(const void *start, size_t len, int what)
{
    wm_os_interpose_fn fn = atomic_load_explicit(&hook, memory_order_acquire);

    if (__builtin_expect(fn == NULL, 1) || own || len == 0)
        return false;
    uintptr_t s = (uintptr_t)start, page = wm_os_page_size();
    if (s & (page - 1))
        return false;
    uintptr_t e = s + ((len + page - 1) & ~(page - 1));
    if (e <= s)
        return false;
    return fn(s, e, what);
}

UNHOOKED static inline void look(const void *start, size_t len)
{
    look_as(start, len, WM_OS_LOOK_RUN);
}

/* ---- the symbols ------------------------------------------------------------------------ */

PUBLIC int munmap(void *addr, size_t len)
{
    look(addr, len);
    munmap_fn f = next_munmap;
    return f ? f(addr, len) : (int)syscall(SYS_munmap, addr, len);
}

UNHOOKED static bool zaps(int advice)
{
    return advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE ||
           advice == MADV_DONTNEED_LOCKED;
}

PUBLIC int madvise(void *addr, size_t len, int advice)
{
    if (zaps(advice))
        look(addr, len);
    madvise_fn f = next_madvise;
    return f ? f(addr, len, advice) : (int)syscall(SYS_madvise, addr, len, advice);
}

UNHOOKED static void look_fixed(const void *addr, size_t len, int flags)
{
    /* MAP_FIXED replaces what is there; MAP_FIXED_NOREPLACE refuses to. */
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED)
        look(addr, len);
}

PUBLIC void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    look_fixed(addr, len, flags);
    mmap_fn f = next_mmap;
    return f ? f(addr, len, prot, flags, fd, off)
             : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* The same call under its large-file name, which some programs use explicitly. */
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
PUBLIC void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    look_fixed(addr, len, flags);
    mmap_fn f = next_mmap64 ? next_mmap64 : next_mmap;
    return f ? f(addr, len, prot, flags, fd, off)
             : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

PUBLIC void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *to = NULL;

    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        to = va_arg(ap, void *);
        va_end(ap);
    }
    /* A call the kernel refuses at once (no length, a destination not on a page) changes
     * nothing, and runs no callback. */
    bool refused = new_len == 0 || ((uintptr_t)to & (wm_os_page_size() - 1));
    mremap_fn f = next_mremap;
    bool moves = flags & (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP);
    uintptr_t page = wm_os_page_size();
    size_t old_pages = (old_len + page - 1) & ~(page - 1);
    size_t new_pages = (new_len + page - 1) & ~(page - 1);
    /* Pages that only may move stay where they are when the range shrinks (the kernel cuts the
     * tail in place).  Secured pages that are to grow are grown in place first, without
     * MREMAP_MAYMOVE, so the callbacks run only when they do move (ENOMEM: no room there);
     * the hook then hears of the growth (the kernel extends the old pages' registration for
     * events over the new ones). */
    if (!refused && !(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))) {
        if (new_pages <= old_pages) {
            moves = false;
        } else if (old_len > 0 && new_pages > old_pages && look_as(old, old_len, WM_OS_LOOK_ASK)) {
            int keep = errno;
            int here = flags & ~MREMAP_MAYMOVE;
            void *r = f ? f(old, old_len, new_len, here)
                        : (void *)syscall(SYS_mremap, old, old_len, new_len, here, NULL);
            if (r != MAP_FAILED) {
                look_as((char *)old + old_pages, new_pages - old_pages, WM_OS_LOOK_GROWN);
                return r;
            }
            if (errno != ENOMEM || !(flags & MREMAP_MAYMOVE))
                return r;
            errno = keep;
        }
    }
    /* Whatever lies where the pages go is unmapped first. */
    if (!refused && (flags & MREMAP_FIXED))
        look(to, new_len);
    /* Pages that may move, or be cut off, leave the old place. */
    if (!refused && moves)
        look(old, old_len);
    else if (!refused && new_len < old_len)
        look((char *)old + new_len, old_len - new_len);
    return f ? f(old, old_len, new_len, flags, to)
             : (void *)syscall(SYS_mremap, old, old_len, new_len, flags, to);
}

/* ---- winmem's own calls ----------------------------------------------------------------- */

void *wm_os_own_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    mmap_fn f = first_mmap ? first_mmap : mmap;
    own++;
    void *p = f(addr, len, prot, flags, fd, off);
    own--;
    return p;
}

int wm_os_own_munmap(void *addr, size_t len)
{
    munmap_fn f = first_munmap ? first_munmap : munmap;
    own++;
    int rc = f(addr, len);
    own--;
    return rc;
}

int wm_os_own_madvise(void *addr, size_t len, int advice)
{
    madvise_fn f = first_madvise ? first_madvise : madvise;
    own++;
    int rc = f(addr, len, advice);
    own--;
    return rc;
}

/* ---- finding what these hide ------------------------------------------------------------ */

static void resolve(void);

/* Whether p is defined in the object holding this file (the library, or the executable
 * winmem is linked into): within a shared library the public names may resolve to somebody
 * else's, so objects are compared, not addresses. */
static bool mine(void *p)
{
    Dl_info a, b;

    return p && dladdr(p, &a) && dladdr((void *)resolve, &b) && a.dli_fbase == b.dli_fbase;
}

/* The definition after this one: when nothing is ahead of winmem's (it is the executable's,
 * or the first library's), a sanitizer runtime linked into the executable keeps its
 * interceptor under another name; calling that keeps the sanitizer informed (the interceptor
 * itself goes on to the C library).  Otherwise the next definition in the search order. */
static void *next_of(const char *name, const char *icept1, const char *icept2)
{
    void *p = NULL;

    if (mine(dlsym(RTLD_DEFAULT, name))) {
        p = dlsym(RTLD_DEFAULT, icept1);
        if (!p)
            p = dlsym(RTLD_DEFAULT, icept2);
    }
    if (!p)
        p = dlsym(RTLD_NEXT, name);
    return mine(p) ? NULL : p;
}

/* First among winmem's constructors: before it, the calls go straight to the kernel. */
__attribute__((constructor(101))) static void resolve(void)
{
    next_munmap = (munmap_fn)next_of("munmap", "__interceptor_munmap", "___interceptor_munmap");
    next_madvise =
        (madvise_fn)next_of("madvise", "__interceptor_madvise", "___interceptor_madvise");
    next_mmap = (mmap_fn)next_of("mmap", "__interceptor_mmap", "___interceptor_mmap");
    next_mmap64 = (mmap_fn)next_of("mmap64", "__interceptor_mmap64", "___interceptor_mmap64");
    next_mremap = (mremap_fn)next_of("mremap", "__interceptor_mremap", "___interceptor_mremap");
    first_mmap = (mmap_fn)dlsym(RTLD_DEFAULT, "mmap");
    first_munmap = (munmap_fn)dlsym(RTLD_DEFAULT, "munmap");
    first_madvise = (madvise_fn)dlsym(RTLD_DEFAULT, "madvise");
}

/*
 * os.h - the seam between winmem and Linux: the only functions that make memory system
 * calls, and the contract they keep.
 *
 * Every call returns 0 (or a pointer through an out-parameter) on success and a negative
 * errno on failure; nothing here knows NTSTATUS (rtl/status.c translates).  The system calls
 * go through the overridable table wm_os_sys so tests can make any of them fail (SQLite's
 * fault-injection pattern).  Everything here is async-signal-safe unless it says otherwise:
 * raw system calls, no malloc, no stdio.
 */
#ifndef WM_OS_H
#define WM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;

/* ---- os.c ------------------------------------------------------------------------------ */

struct wm_os_sys {
    void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
    int (*munmap)(void *addr, size_t len);
    int (*mprotect)(void *addr, size_t len, int prot);
    int (*madvise)(void *addr, size_t len, int advice);
    int (*mlock)(const void *addr, size_t len);
    int (*mlock2)(const void *addr, size_t len, unsigned int flags);
    int (*munlock)(const void *addr, size_t len);
    int (*mincore)(void *addr, size_t len, unsigned char *vec);
    /* file.c: the calls that size and hold a section's object */
    int (*ftruncate)(int fd, off_t len);
    int (*fstat)(int fd, struct stat *st);
    int (*flock)(int fd, int op);
    /* uffd.c: userfaultfd registration and PAGEMAP_SCAN (write watches) */
    int (*ioctl)(int fd, unsigned long req, void *arg);
};

/* The live table; tests swap entries to inject failures and restore them afterwards. */
extern struct wm_os_sys wm_os_sys;
/* The real system calls, for restoring the table. */
extern const struct wm_os_sys wm_os_sys_default;

/* Page size of the machine (from the auxiliary vector, cached on first use). */
size_t wm_os_page_size(void);
/* Bytes in a large page when the kernel offers them (hugetlb pool or THP), else 0. */
size_t wm_os_large_page_size(void);
int wm_os_cpu_count(void);
unsigned wm_os_process_id(void);

/* Read-write memory for the model's arena: never unmapped, huge pages where possible (the
 * index of a million regions then costs few TLB misses).  NULL on failure. */
void *wm_os_arena_chunk(size_t len);
/* Hand a freed arena block's pages back to the kernel, all but the one holding its first
 * word; it stays mapped and reads as zeros.  Failure is ignored (the pages stay resident). */
void wm_os_arena_discard(void *block, size_t len);
/* Map len bytes of fresh anonymous memory with access `acc` (WM_ACC_* bits).
 * fixed: exactly at *addr, never replacing anything (MAP_FIXED_NOREPLACE; -EEXIST when busy);
 * otherwise *addr is a hint and the result is wherever the kernel put it. */
int wm_os_map(uintptr_t *addr, size_t len, unsigned acc, bool fixed);
/* Map large pages (hugetlb, else transparent huge pages) at a hint; populated. */
int wm_os_map_large(uintptr_t *addr, size_t len, unsigned acc, size_t large);
int wm_os_unmap(uintptr_t addr, size_t len);
int wm_os_protect(uintptr_t addr, size_t len, unsigned acc);
/* Drop the pages of [addr, addr+len) and make it inaccessible, in one step (decommit). */
int wm_os_decommit(uintptr_t addr, size_t len);
/* Drop the pages of [addr, addr+len), which stays mapped as it was: it reads as zeros again. */
int wm_os_zero(uintptr_t addr, size_t len);
/* Read [addr, addr+len) in ahead of use (a hint; PrefetchVirtualMemory). */
int wm_os_willneed(uintptr_t addr, size_t len);
/* Let the kernel reclaim the pages lazily; they keep their data until it does (MEM_RESET). */
int wm_os_reset(uintptr_t addr, size_t len);
/* True when every page of [addr, addr+len) is still resident (MEM_RESET_UNDO). */
int wm_os_resident(uintptr_t addr, size_t len, bool *all);
/* Cancel a lazy reclaim of [addr, addr+len) by dirtying every page without changing it. */
void wm_os_keep(uintptr_t addr, size_t len, size_t page);
int wm_os_lock(uintptr_t addr, size_t len);
/* The same without writing: mlock populates a private writable range with write faults,
 * which a userfaultfd write watch would count as writes.  Lock on fault, then populate by
 * reading (never-written pages map the zero page).  For fast write watches. */
int wm_os_lock_no_write(uintptr_t addr, size_t len);
int wm_os_unlock(uintptr_t addr, size_t len);

/* ---- file.c: files, memfd and shared memory for sections ------------------------------- */

int wm_os_memfd(void);
/* Open (and with create, create if absent) a POSIX shared-memory object; *created says which. */
int wm_os_shm_open(const char *name, bool create, bool *created);
int wm_os_shm_unlink(const char *name);
/* Make a new shared-memory object owner read-write only (mode 0600). */
int wm_os_shm_secure(int fd);
/* 0 when fd is a regular file of this effective user with mode 0600 (what winmem makes),
 * else -EACCES. */
int wm_os_shm_check(int fd);
/* Call fn for every shared-memory name starting with prefix (no leading '/'); stops when fn
 * returns nonzero, which is returned. */
int wm_os_shm_list(const char *prefix, int (*fn)(void *ctx, const char *name), void *ctx);
unsigned wm_os_euid(void);
/* How wm_os_file_open opens: read and/or write (or append), create (exclusively), truncate. */
enum {
    WM_OPEN_READ = 1,
    WM_OPEN_WRITE = 2,
    WM_OPEN_APPEND = 4,
    WM_OPEN_CREATE = 8,
    WM_OPEN_EXCL = 16,
    WM_OPEN_TRUNC = 32,
};
int wm_os_file_open(const char *path, unsigned how);
/* Read / write len bytes at off (off < 0: at the descriptor's position, which moves); the
 * write goes on after short writes.  *done says how many bytes. */
int wm_os_file_read(int fd, void *buf, size_t len, int64_t off, size_t *done);
int wm_os_file_write(int fd, const void *buf, size_t len, int64_t off, size_t *done);
struct wm_os_stat {
    uint64_t size, allocated, dev, ino;
    uint32_t links;
    bool dir;
};
int wm_os_file_stat(int fd, struct wm_os_stat *out);
/* Whether path names something (F_OK). */
bool wm_os_path_exists(const char *path);
/* Whether fd was opened for reading / writing (-EBADF when it is no descriptor). */
int wm_os_fd_mode(int fd, bool *rd, bool *wr);
/* What fd names (the kernel's link: a path, "/memfd:... (deleted)", ...), cut to len - 1
 * bytes and terminated.  Async-signal-safe (readlink). */
int wm_os_fd_path(int fd, char *buf, size_t len);
int wm_os_close(int fd);
/* Remove a name (not a directory: -EISDIR). */
int wm_os_unlink(const char *path);
int wm_os_dup(int fd);
int wm_os_file_size(int fd, uint64_t *size);
int wm_os_truncate(int fd, uint64_t size);
/* whence: 0 from the start, 1 from the position, 2 from the end (FILE_BEGIN, ...). */
int wm_os_seek(int fd, int64_t off, int whence, uint64_t *pos);
int wm_os_fsync(int fd);
int wm_os_flock(int fd, int op);
/* Map fd at off at exactly addr: over address space the caller holds (replace), or only
 * where nothing is mapped (-EEXIST otherwise). */
int wm_os_map_file(uintptr_t addr, size_t len, unsigned acc, int fd, uint64_t off, bool shared,
                   bool replace);
int wm_os_msync(uintptr_t addr, size_t len);

/* ---- sigstack.c: alternate signal stacks ----------------------------------------------- */

/* Bytes the kernel's signal frame takes on this CPU (AT_MINSIGSTKSZ, or a safe guess). */
size_t wm_os_signal_frame_size(void);

struct wm_os_altstack {
    uintptr_t lo, hi; /* the stack: [lo, hi) */
    bool enabled;     /* the thread has one */
    bool active;      /* the thread is running on it now */
};

/* The calling thread's alternate stack.  Async-signal-safe (one system call). */
int wm_os_altstack_query(struct wm_os_altstack *out);
/* Map a stack of size bytes (a guard page below it) and make it the thread's alternate
 * stack; *out describes it. */
int wm_os_altstack_install(size_t size, struct wm_os_altstack *out);
/* Put prev back (or none) and unmap mine, if mine is still the thread's (-EBUSY if not:
 * then mine is left alone, since whoever replaced it may have unmapped it already). */
int wm_os_altstack_restore(const struct wm_os_altstack *mine, const struct wm_os_altstack *prev);

/* ---- uffd.c: userfaultfd asynchronous write-protect + PAGEMAP_SCAN (Linux 6.7+) --------- */

/* A new userfaultfd descriptor (flags: O_CLOEXEC, O_NONBLOCK) after the API handshake asking
 * for the features `want`: user-mode-only where the kernel has that (no privilege needed even
 * with vm.unprivileged_userfaultfd=0), else a plain one.  The descriptor, or a negative errno;
 * -ENOSYS when the kernel grants less than `need` (a subset of want).
 * Used by the write watches below and by the monitor (uffdmon.c). */
int wm_os_uffd_new(int flags, uint64_t want, uint64_t need);

/* Open the process's userfaultfd with UFFD_FEATURE_WP_ASYNC and /proc/self/pagemap, and check
 * on a scratch page that PAGEMAP_SCAN reports exactly a written page.  0, or a negative errno
 * when the kernel lacks them or refuses userfaultfd (then write watches use the fallback).
 * Not async-signal-safe; called once. */
int wm_os_uffd_open(void);
/* Watch [addr, addr+len) (fresh, unwritten anonymous memory): register it for asynchronous
 * write-protect and disable transparent huge pages there (a huge page would report 512
 * pages for one write).  A child after fork() opens descriptors of its own on first use
 * (-ECHILD when it cannot); ranges it inherited are not registered there until watched again. */
int wm_os_uffd_watch(uintptr_t addr, size_t len);
/* Call fn for each run of pages in [start, end) written since they were last write-protected
 * (never-touched and zero-page-only pages are not), in ascending order, write-protecting them
 * again when rearm is set; with max_pages nonzero, stop after that many pages (only those are
 * write-protected) and say in *stop where the next scan would begin (end when done).  0 or a
 * negative errno (-EPERM when part of the range is not registered, as in a child after
 * fork()). */
int wm_os_uffd_scan(uintptr_t start, uintptr_t end, bool rearm, size_t max_pages,
                    void (*fn)(void *ctx, uintptr_t s, uintptr_t e), void *ctx, uintptr_t *stop);

/* ---- uffdmon.c: userfaultfd events on secured ranges (not async-signal-safe) -------------- */

enum { WM_UFFDMON_UNMAP, WM_UFFDMON_REMOVE, WM_UFFDMON_REMAP };
/* Called on a monitor thread, with every signal blocked, for each event: [start, end) was
 * unmapped, zapped (madvise) or, for a remap, moved to `to`. */
typedef void (*wm_os_uffdmon_fn)(int kind, uintptr_t start, uintptr_t end, uintptr_t to);
/* Open the monitor's userfaultfd (events on munmap, madvise and mremap) and start its reader
 * threads, once per process (again in a child after fork).  0 or a negative errno (-EPERM
 * where userfaultfd is refused, -ENOSYS without the events). */
int wm_os_uffdmon_start(wm_os_uffdmon_fn fn);
/* Register [start, end) for events, changing nothing in how the memory behaves.  0, -EBUSY
 * when part of it is registered on another userfaultfd (a write watch), -EINVAL when part is
 * unmapped or of a kind the kernel cannot register. */
int wm_os_uffdmon_register(uintptr_t start, uintptr_t end);
/* Undo that wherever it was done in [start, end): 0, or -EINVAL (nothing undone) when part
 * of the range is registered on another userfaultfd. */
int wm_os_uffdmon_unregister(uintptr_t start, uintptr_t end);
/* winmem itself is about to zap [start, end) (MEM_RESET): its REMOVE events are dropped
 * until quiet_end with the returned slot (-1: none taken, the events go through). */
int wm_os_uffdmon_quiet_begin(uintptr_t start, uintptr_t end);
void wm_os_uffdmon_quiet_end(int slot);
/* Events read since the start (for statistics and tests). */
unsigned long long wm_os_uffdmon_events(void);
/* Whether the readers run with real-time priority: 1, 0 (not permitted), -1 (none yet). */
int wm_os_uffdmon_boosted(void);
void wm_os_uffdmon_fork_prepare(void);
void wm_os_uffdmon_fork_parent(void);
void wm_os_uffdmon_fork_child(void);

/* ---- interpose.c: munmap, madvise, mremap and mmap(MAP_FIXED) made by the program -------- */

/* Called in the calling thread before a munmap, a zapping madvise, an mremap or an
 * mmap(MAP_FIXED) takes the pages [start, end) away (an mremap may call it twice: for the
 * destination it replaces, and for the pages that leave), made through the C library's
 * symbols by anything but winmem itself: WM_OS_LOOK_RUN.  The call goes on when it returns.
 * WM_OS_LOOK_ASK only says whether it would do anything for those pages (an mremap that may
 * move asks, to try growing in place first); WM_OS_LOOK_GROWN tells it, after the call, that
 * a range it answered true for grew in place by [start, end). */
enum { WM_OS_LOOK_RUN, WM_OS_LOOK_ASK, WM_OS_LOOK_GROWN };
typedef bool (*wm_os_interpose_fn)(uintptr_t start, uintptr_t end, int what);
/* Install the hook (NULL: none, the default). */
void wm_os_interpose_set(wm_os_interpose_fn fn);
/* The wm_os_sys table's entries: the same calls, marked as winmem's own (no hook). */
void *wm_os_own_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int wm_os_own_munmap(void *addr, size_t len);
int wm_os_own_madvise(void *addr, size_t len, int advice);

/* ---- uaccess.c: the caller's memory, untrusted ------------------------------------------ */

/* Copy n bytes where either side may be the caller's memory: 0, or -EFAULT when a byte
 * could not be read or written (part may have been copied).  Never with the VM lock held. */
int wm_os_copy(void *dst, const void *src, size_t n);
/* The caller's n bytes at p (n <= 64) can be read and written: read, then written back
 * unchanged.  0 or -EFAULT. */
int wm_os_probe(void *p, size_t n);
/* Where the copy resumes when it faulted at pc, or 0 when pc is not the copy's.
 * Async-signal-safe (the SIGSEGV handler asks it). */
uintptr_t wm_os_copy_fixup_sigsafe(uintptr_t pc);
/* The SIGSEGV handler that applies the fixup is installed: faults in the copy are caught. */
void wm_os_copy_enable_fixup(void);

/* ---- maps.c: /proc/self/maps, the kernel's truth for memory winmem did not map ---------- */

enum { WM_MAPS_SHARED = 1, WM_MAPS_FILE = 2, WM_MAPS_VDSO = 4, WM_MAPS_SPECIAL = 8 };

struct wm_maps_entry {
    uintptr_t start, end;
    unsigned acc;   /* WM_ACC_* */
    unsigned flags; /* WM_MAPS_* */
    uint64_t dev, inode, offset;
    /* The path column ("/usr/lib/...", "[stack]", "" for anonymous memory), not terminated:
     * it points into the reader's buffer and lasts until the next wm_maps_next. */
    const char *path;
    size_t path_len;
};

/* ---- sysmem.c: memory figures of the machine and of the process's cgroup ----------------- */

/* Bytes; UINT64_MAX where a figure does not exist (no cgroup limit, say). */
struct wm_os_memstat {
    uint64_t total, avail;            /* MemTotal, MemAvailable */
    uint64_t swap_total, swap_free;   /* SwapTotal, SwapFree */
    uint64_t commit_limit, committed; /* CommitLimit, Committed_AS */
    bool strict_commit;               /* vm.overcommit_memory == 2: CommitLimit binds */
    uint64_t cg_limit, cg_usage; /* the tightest memory limit of the cgroup and its ancestors */
    uint64_t cg_swap_limit, cg_swap_usage; /* v2: swap alone; v1: memory + swap (memsw) */
    bool cg_memsw;                         /* the swap figures are v1's memory + swap */
};
/* Read the figures with every path under root ("" for the real system; tests pass a
 * directory laid out like / with made-up files).  Not async-signal-safe. */
int wm_os_memstat(const char *root, struct wm_os_memstat *out);
/* Bytes of memory blocks in sysfs (what the firmware reported), 0 when sysfs does not say. */
uint64_t wm_os_installed_memory(const char *root);
/* RLIMIT_MEMLOCK (UINT64_MAX: unlimited), and raising its soft limit towards want (no
 * further than the hard limit; never lowering it). */
int wm_os_memlock_limit(uint64_t *soft, uint64_t *hard);
int wm_os_memlock_raise(uint64_t want);
/* ENOMEM came back from making private memory writable (a commit): -EDQUOT when the commit
 * charge is what refused it (vm.overcommit_memory=2, or a finite RLIMIT_DATA, `ulimit -d`,
 * which counts private writable mappings), unless the process is at vm.max_map_count, the
 * other reason for ENOMEM there; else -ENOMEM.  Async-signal-safe. */
int wm_os_write_refused(void);
/* The soft RLIMIT_AS (ulimit -v) in bytes: what the kernel lets all of the process's mappings
 * add up to.  UINT64_MAX: unlimited. */
uint64_t wm_os_as_limit(void);
/* NUMA from sysfs (one node 0 with every processor when the kernel shows none).  The
 * processors of a node are given for the group (64 processors each) of its first one. */
int wm_os_numa_highest(const char *root, unsigned *node);
int wm_os_numa_cpus(const char *root, unsigned node, uint64_t *mask, unsigned *group);
int wm_os_numa_free(const char *root, unsigned node, uint64_t *bytes);
int wm_os_numa_cpu_node(const char *root, unsigned cpu, unsigned *node);
/* Prefer node for the pages of [addr, addr+len) (mbind MPOL_PREFERRED). */
int wm_os_mbind_preferred(uintptr_t addr, size_t len, unsigned node);
/* The kernel's page map of this process: one entry per page.  Open per use (fork()). */
struct wm_os_pageinfo {
    bool present, swapped;
    bool shared;    /* a file page or shared anonymous memory */
    bool exclusive; /* mapped by this process alone */
};
int wm_os_pagemap_open(void);
int wm_os_pagemap_read(int fd, uint64_t page_index, struct wm_os_pageinfo *out);

/* A streaming reader with a fixed buffer: no malloc, so usable with the VM lock held.
 * Not for the fault path (it opens a file). */
struct wm_maps {
    int fd;
    size_t len, pos;
    char buf[4096];
};

int wm_maps_open(struct wm_maps *m);
/* Whether any mapping of this process maps the file st describes (views of it included). */
int wm_maps_file_mapped(const struct wm_os_stat *st, bool *mapped);
/* 1 with *e filled, 0 at the end, negative errno on error. */
int wm_maps_next(struct wm_maps *m, struct wm_maps_entry *e);
void wm_maps_close(struct wm_maps *m);

/* ---- thread.c: time, sleeping, the calling thread ---------------------------------------- */

/* Nanoseconds since boot, counting time suspended (CLOCK_BOOTTIME). */
uint64_t wm_os_boot_ns(void);
/* Sleep at least ns nanoseconds (signals do not cut it short). */
void wm_os_sleep_ns(uint64_t ns);
void wm_os_sleep_forever(void);
void wm_os_yield(void);
unsigned wm_os_thread_id(void);
/* The processor the thread runs on now (0 when the kernel will not say). */
int wm_os_cpu_number(void);
/* Call fn(ctx) when the calling thread exits (ctx NULL: not).  Every call passes the same fn.
 * Not run for a thread that ends the process with exit(). */
int wm_os_thread_exit_hook(void (*fn)(void *ctx), void *ctx);

/* ---- image.c ----------------------------------------------------------------------------- */

/* Where the executable's image starts (its lowest loaded segment); 0 if unknown. */
uintptr_t wm_os_image_base(void);

#endif

/*
 * mm.h - cross-file functions of the memory manager (src/mm/): the process-wide model and
 * its lock (vmstate.c), what a fault means (fault.c), where system-chosen addresses go
 * (place.c), protections (protect.c), sections and views (section.c, view.c), secured ranges
 * and the refuse -> callbacks -> retry protocol (secure.c) and queries (query.c).  The Nt*
 * entry points themselves are the public ones in winternl.h and ntddk.h.
 *
 * Layer rules, stated once: every function here returns NTSTATUS (or nothing); a `_locked`
 * suffix means the caller holds the VM lock (read or write as it says); nothing under the
 * lock touches caller memory, so the fault handler never waits on a lock its own thread
 * holds.  Arguments are checked before any state changes, in the order Windows checks them,
 * and a failing call leaves the model and the kernel's mappings as they were.
 */
#ifndef WM_MM_H
#define WM_MM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/io.h"
#include "ob/ob.h"
#include "os/os.h"
#include "rtl/rtl.h"
#include "vm/vm.h"

/* ThreadSanitizer cannot see that a sequence check validates racing reads, so under it every
 * reader takes the lock instead. */
#if defined(__SANITIZE_THREAD__)
#define WM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WM_TSAN 1
#endif
#endif
#ifndef WM_TSAN
#define WM_TSAN 0
#endif

/* ---- vmstate.c: the process-wide model, its lock and machine constants ------------------ */

#define WM_GRANULARITY ((uintptr_t)0x10000) /* allocation granularity: 64 KiB */
#define WM_MIN_ADDRESS ((uintptr_t)0x10000) /* lpMinimumApplicationAddress */
/* lpMaximumApplicationAddress: the last byte below Linux x86-64's TASK_SIZE (Windows x64 stops
 * 64 KiB lower, at 0x7ffffffeffff; the Linux stack can live in that last stretch). */
#if defined(__aarch64__)
#define WM_MAX_ADDRESS ((uintptr_t)0xffffffffefff) /* 48-bit arm64 user space */
#else
#define WM_MAX_ADDRESS ((uintptr_t)0x7fffffffefff)
#endif

struct wm_vmstate {
    struct wm_space space; /* every reservation winmem made; guarded by the VM lock */
    size_t page;           /* page size */
    uintptr_t place_low;   /* lowest address where a free range may start (place.c) */
    uintptr_t place_wall;  /* lowest address refused though free (0: none); see place.c */
    size_t place_fit_len;  /* no free range this long starts below place_fit_at (0: unknown) */
    uintptr_t place_fit_at;
};

extern struct wm_vmstate wm_vm;

/* The VM lock: a futex reader-writer lock, async-signal-safe (atomics and raw futex calls
 * only), so the fault path can take it for reading.  Writers: every mutation; readers:
 * queries and the fault path. */
void wm_vmstate_rdlock(void);
void wm_vmstate_rdunlock(void);
void wm_vmstate_wrlock(void);
void wm_vmstate_wrunlock(void);
/* True while the calling thread holds the VM lock (read or write).  Async-signal-safe. */
bool wm_vmstate_held_sigsafe(void);
/* True while the calling thread holds the VM lock for writing (what every _locked mutator
 * asserts).  Async-signal-safe. */
bool wm_vmstate_write_held(void);
/* Lock-free reading (a sequence lock over the model): take a ticket, read through the
 * _sigsafe lookups, and keep the answer only if wm_vmstate_read_valid(ticket) says no writer
 * ran meanwhile.  The model's memory is type-stable (vm/arena.c), so a racing read sees
 * stale bytes at worst.  Async-signal-safe. */
uint32_t wm_vmstate_read_begin(void);
bool wm_vmstate_read_valid(uint32_t seq);
/* A writer about to make a system call that changes nothing in the model (the region it works
 * on reserved room for its update first) lets lock-free readers read meanwhile: stable makes
 * the sequence even until changing makes it odd again (wrlock starts odd, wrunlock ends
 * even).  Readers then answer from the model as it was before the call; a fault the kernel's
 * new protection caused reads as allowed, so the fault path asks
 * wm_vmstate_writer_active_sigsafe and decides such a fault under the lock.  Caller holds the
 * write lock. */
void wm_vmstate_model_stable_locked(void);
void wm_vmstate_model_changing_locked(void);
/* True while some thread holds the VM lock for writing, or has a protection change claimed
 * (wm_vmstate_busy_change_locked) whose system call may have run before its model update.
 * Async-signal-safe. */
bool wm_vmstate_writer_active_sigsafe(void);
/* The same as a callback for the index's lock-free lookups: seq points at the ticket. */
bool wm_vmstate_seq_valid(void *seq);
/* Busy ranges: a reserve, release, map or unmap claims its range under the write lock, makes
 * its mmap or munmap with the lock dropped, and settles the claim once the model says what
 * happened, so the kernel's own mmap lock is the only one the system call waits on.  A range
 * being created is not in the index yet (placement steps over it, as over a region); one being
 * released is still there and reads as it was until it is gone.  Anything else that would
 * touch a claimed range waits for it to settle: a call that must see the outcome takes the
 * lock with the _range variants. */
struct wm_busy {
    uintptr_t start, end;
    const void *owner; /* the claiming thread, which never waits for its own claim */
    bool creating;     /* a new region, not in the index yet (else one being released) */
    bool changing;     /* (not creating) one region changing protection, not being released */
    struct wm_busy *next;
};
/* False while a thread waits for every claim to settle (wm_vmstate_quiesce_locked): the
 * caller then keeps the lock across its system call instead of claiming. */
bool wm_vmstate_busy_allowed_locked(void);
/* Claim [start, end) with b, which lives until it is settled, for a region being created or
 * released.  Caller holds the write lock. */
void wm_vmstate_busy_add_locked(struct wm_busy *b, uintptr_t start, uintptr_t end, bool creating);
/* The same for a region some of whose pages are having their kernel protection changed
 * (its model is unchanged until the claim settles).  While such a claim is out,
 * wm_vmstate_writer_active_sigsafe is true. */
void wm_vmstate_busy_change_locked(struct wm_busy *b, uintptr_t start, uintptr_t end);
/* The claim is over (the region is published, gone, or back as it was); wakes waiters.
 * Caller holds the write lock. */
void wm_vmstate_busy_settle_locked(struct wm_busy *b);
/* Another thread's claim overlapping [start, end), or NULL.  Caller holds the lock. */
const struct wm_busy *wm_vmstate_busy_find_locked(uintptr_t start, uintptr_t end);
/* The calling thread's placer tag (1..127, fixed for its life; threads past the 127th share
 * tags), recorded in the regions it reserves (WM_REGION_PLACER). */
unsigned wm_vmstate_thread_tag(void);
/* True while the caller is the only thread that ever took the write lock: nobody can be
 * waiting for it, so a call may keep it across a system call rather than claim its range
 * (cheaper by two lock operations).  Caller holds the write lock. */
bool wm_vmstate_alone_locked(void);
/* The same counting the calling thread's own claims too (true/false). */
bool wm_vmstate_busy_any_locked(uintptr_t start, uintptr_t end);
/* Narrow [*lo, *hi), a stretch around addr (which no claim holds), to stop at claims. */
void wm_vmstate_busy_clip_locked(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
/* Take the write / read lock with no other thread's claim overlapping [start, end): while one
 * does, the lock is dropped until it settles. */
void wm_vmstate_wrlock_range(uintptr_t start, uintptr_t end);
void wm_vmstate_rdlock_range(uintptr_t start, uintptr_t end);
/* The read lock with no range being created overlapping [start, end): for a query, which
 * reads a region being released as it was, from the index. */
void wm_vmstate_rdlock_created(uintptr_t start, uintptr_t end);
/* The write lock with no other thread's protection change overlapping [start, end): for the
 * fault path, which must see the protection a change gave the kernel, and which waits for no
 * other claim (it may interrupt its own thread's call).  Async-signal-safe. */
void wm_vmstate_wrlock_unchanging_sigsafe(uintptr_t start, uintptr_t end);
/* With the write lock held, wait (the lock dropped meanwhile) until no other thread holds a
 * claim, holding new claims back: for placements that let the kernel or /proc/self/maps choose
 * an address (a range whose munmap is done but whose region is not yet removed looks free
 * there), and for fork. */
void wm_vmstate_quiesce_locked(void);
/* One-time set-up (page size, fork handlers); cheap after the first call. */
void wm_vmstate_init(void);
/* What GetSystemInfo and GetLargePageMinimum report about the machine. */
struct wm_system {
    size_t page;       /* page size */
    int cpus;          /* processors online */
    size_t large_page; /* bytes in a large page, 0 when the kernel offers none */
};
void wm_vmstate_system(struct wm_system *out);
/* STATUS_SUCCESS for the current-process pseudo handle; Windows' error for anything else. */
NTSTATUS wm_vmstate_check_process(HANDLE process);
/* The *BaseAddress / *RegionSize arguments the Virtual* NT calls take: read, and checked
 * writable, before anything changes (STATUS_ACCESS_VIOLATION for a NULL or bad pointer); and
 * written back once the call is done (a failure then is ignored).  Never with the VM lock
 * held: a bad pointer faults into the handler (os/uaccess.c). */
NTSTATUS wm_vmstate_args_in(PVOID *base_ptr, PSIZE_T size_ptr, uintptr_t *addr, size_t *size);
void wm_vmstate_args_out(PVOID *base_ptr, PSIZE_T size_ptr, uintptr_t addr, size_t size);
/* Page-round [addr, addr+size) outward into [*start, *end); false when it wraps. */
bool wm_vmstate_page_range(uintptr_t addr, size_t size, uintptr_t *start, uintptr_t *end);

/* ---- status.c: memory status, installed memory, working-set sizes -------------------------- */

struct wm_memory_status {
    uint32_t load;                         /* percent of physical memory in use */
    uint64_t total_phys, avail_phys;       /* bytes, the cgroup's limit applied */
    uint64_t total_commit, avail_commit;   /* the commit limit and what is left of it */
    uint64_t total_virtual, avail_virtual; /* user address space and what is unmapped */
};
NTSTATUS wm_status_memory(struct wm_memory_status *out);
/* The physical and commit figures from the kernel's (the part tests drive with made-up ones). */
void wm_status_combine(const struct wm_os_memstat *m, struct wm_memory_status *out);
NTSTATUS wm_status_installed(uint64_t *bytes);
NTSTATUS wm_status_working_set(HANDLE process, size_t *min, size_t *max, ULONG *flags);
NTSTATUS wm_status_set_working_set(HANDLE process, size_t min, size_t max, ULONG flags);
/* wsinfo.c: NtQueryVirtualMemory(MemoryWorkingSetExInformation) on the caller's array. */
NTSTATUS wm_query_working_set_ex(PVOID info, SIZE_T len, PSIZE_T ret_len);
/* NtQueryVirtualMemory(MemoryRegionInformation): the allocation holding addr as a whole. */
NTSTATUS wm_query_region_info(uintptr_t addr, PVOID info, SIZE_T len, PSIZE_T ret_len);

/* ---- probe.c: probing and copying untrusted addresses ------------------------------------- */

/* Whether n bytes at p can be read (and written back, write): one byte per page and the last,
 * as Windows probes.  A guard page met loses its guard and counts as bad. */
bool wm_probe_range(const void *p, size_t n, bool write);
/* Whether a string of at most max_chars characters (1 or 2 bytes each) up to its terminator
 * can be read. */
bool wm_probe_string(const void *p, size_t max_chars, size_t char_size);
/* PrefetchVirtualMemory: WIN32_MEMORY_RANGE_ENTRY ranges read in ahead of use. */
NTSTATUS wm_prefetch(HANDLE process, const void *ranges, size_t count);

/* ---- numa.c: nodes and a preferred node for pages ------------------------------------------ */

NTSTATUS wm_numa_highest(ULONG *node);
/* STATUS_INVALID_PARAMETER for a node the machine does not have (NUMA_NO_PREFERRED_NODE is
 * fine). */
NTSTATUS wm_numa_check_node(ULONG node);
NTSTATUS wm_numa_node_processors(ULONG node, uint64_t *mask, USHORT *group);
NTSTATUS wm_numa_node_free(ULONG node, uint64_t *bytes);
NTSTATUS wm_numa_processor_node(ULONG cpu, ULONG *node);
/* Prefer node for the pages of the range (nothing on a one-node machine). */
void wm_numa_prefer(uintptr_t addr, size_t size, ULONG node);
/* ---- free.c ------------------------------------------------------------------------------ */

/* Unmap the whole region r and take it out of the index (0), or change nothing (a negative
 * errno).  The munmap runs with the lock dropped while r's range is claimed (vmstate.c), so
 * the caller must not rely on anything else it read under the lock; r itself is still the
 * caller's to free.  Caller holds the write lock. */
int wm_release_locked(struct wm_region *r);

/* ---- placeholder.c ------------------------------------------------------------------------- */

/* NtFreeVirtualMemory's MEM_RELEASE of [start, end), part of the private allocation r (not a
 * view): the pages before and after become allocations of their own.  Nothing changes on
 * failure.  Caller holds the write lock (kept across the munmap). */
NTSTATUS wm_release_part_locked(struct wm_region *r, uintptr_t start, uintptr_t end);
/* MEM_RELEASE with MEM_PRESERVE_PLACEHOLDER or MEM_COALESCE_PLACEHOLDERS (how) of the
 * page-rounded [start, end).  Caller holds the write lock. */
NTSTATUS wm_placeholder_free_locked(uintptr_t start, uintptr_t end, ULONG how);
/* NtAllocateVirtualMemory's body; ex: called by NtAllocateVirtualMemoryEx, which may ask for
 * placeholders (the plain call may not). */
NTSTATUS wm_allocate(HANDLE process, PVOID *base_ptr, ULONG_PTR zero_bits, PSIZE_T size_ptr,
                     ULONG type, ULONG prot, bool ex);
/* NtMapViewOfSection's body; replace: MEM_REPLACE_PLACEHOLDER (NtMapViewOfSectionEx only). */
NTSTATUS wm_map_view(HANDLE section, HANDLE process, PVOID *base_ptr, ULONG_PTR zero_bits,
                     PLARGE_INTEGER offset_ptr, PSIZE_T size_ptr, ULONG type, ULONG prot, bool ex);
/* NtUnmapViewOfSectionEx with MEM_PRESERVE_PLACEHOLDER: the view, which replaced a
 * placeholder, becomes that placeholder again. */
NTSTATUS wm_unmap_view_preserve(HANDLE process, PVOID addr);

/* ---- fault.c ------------------------------------------------------------------------------ */

enum wm_fault {
    WM_FAULT_VIOLATION, /* raise EXCEPTION_ACCESS_VIOLATION */
    WM_FAULT_GUARD,     /* a guard page: its guard is gone now; raise STATUS_GUARD_PAGE_VIOLATION */
    WM_FAULT_RETRY,     /* the page allows the access now (changed meanwhile): just retry */
    WM_FAULT_WATCHED,   /* a first write to a clean watched page, recorded now: retry (a reset
                         * in between may make the retried write fault again, which is progress,
                         * not a stale fault) */
};

/* What a fault at addr with access acc (WM_ACC_R/W/X) means.  Async-signal-safe; takes the
 * write lock only to consume a guard page, so the caller must not hold the VM lock. */
enum wm_fault wm_fault_classify_sigsafe(uintptr_t addr, unsigned acc);

/* ---- watch.c: write watches ---------------------------------------------------------------- */

enum { WM_WATCH_UNKNOWN, WM_WATCH_FAST, WM_WATCH_FALLBACK };
/* The mechanism, chosen once when the first watched region is made (watch.c says which). */
extern int wm_watch_mode;
/* Make the new region r watched (MEM_WRITE_WATCH); before it is inserted or mapped pages are
 * written.  Caller holds the write lock. */
NTSTATUS wm_watch_start_locked(struct wm_region *r);
/* After the kernel protection of [off, off+len) of r changed: clean writable pages lose
 * write access again (fallback path; nothing to do on the fast path or unwatched regions). */
void wm_watch_arm_locked(struct wm_region *r, size_t off, size_t len);
/* A write fault on a watched page whose protection allows writing (fallback): record it and
 * give the page its protection's access.  WM_FAULT_WATCHED when the page was clean,
 * WM_FAULT_RETRY when another thread recorded it first, WM_FAULT_VIOLATION when the kernel
 * refused.  Async-signal-safe, write lock held. */
enum wm_fault wm_watch_fault_locked(struct wm_region *r, uintptr_t page, uint32_t prot);
/* Fast path, before [off, off+len) of r is decommitted or reset: keep its written pages in the
 * model; after a fresh mapping replaced the range: register it with the kernel again. */
void wm_watch_harvest_locked(struct wm_region *r, size_t off, size_t len);
void wm_watch_rewatch_locked(struct wm_region *r, size_t off, size_t len);

/* ---- place.c: system-chosen addresses ------------------------------------------------------ */

/* The highest address a ZeroBits argument allows (0: no limit), or 0 with *bad set:
 * 1..21 leave 32 - ZeroBits address bits, 22..31 are bad, and larger values are a mask
 * whose leading zero bits count. */
uintptr_t wm_place_zero_bits_limit(ULONG_PTR zero_bits, bool *bad);
/* Map [addr, addr+len) for a new region: with over false only where nothing is mapped
 * (-EEXIST when busy); with over true over a PROT_NONE range the placer holds there.
 * 0 or a negative errno. */
typedef int (*wm_place_claim)(void *ctx, uintptr_t addr, size_t len, bool over);
/* Choose a 64 KiB aligned address for len bytes ending at or below limit (0: no limit),
 * bottom-up (the lowest free range) or, with top_down, the highest; claim maps it there.
 * refused: an address (0: none) where the caller's mmap was just refused, taken as refused
 * again without asking.  Caller holds the write lock and has quiesced
 * (wm_vmstate_quiesce_locked). */
NTSTATUS wm_place_locked(size_t len, uintptr_t limit, bool top_down, uintptr_t refused,
                         wm_place_claim claim, void *ctx, uintptr_t *out);
/* Place and map the new region r (r->size; want: the address the caller named, 0: the
 * system chooses, bottom-up from the model alone) with the mmap made outside the lock: the
 * range is claimed (wm_vmstate_busy_add_locked), claim maps it with the lock dropped, and r is
 * inserted once the mapping exists, so other threads' calls and queries go on meanwhile.  Lock
 * held on entry and on return.  *declined: the model alone cannot place it, or the kernel
 * refused the address chosen (then *refused_at is that address); nothing changed, and the
 * caller places it with wm_place_locked instead. */
NTSTATUS wm_place_outside_locked(struct wm_region *r, uintptr_t want, uintptr_t limit,
                                 wm_place_claim claim, void *ctx, bool *declined,
                                 uintptr_t *refused_at);
/* A region at base was unmapped: the next bottom-up search may reuse it. */
void wm_place_freed_locked(uintptr_t base);

/* ---- protect.c ---------------------------------------------------------------------------- */

/* True when a page of view r in [off, off+len) was written while copy-on-write (has its copy). */
bool wm_protect_any_copied(const struct wm_region *r, size_t off, size_t len);
/* Committed pages [off, off+len) of view r become copy-on-write `prot`, except the already
 * written ones, which keep their read-write protection; *old gets the first page's old
 * protection.  All or nothing.  Caller holds the write lock. */
NTSTATUS wm_protect_copied_locked(struct wm_region *r, size_t off, size_t len, uint32_t prot,
                                  uint32_t *old);
/* A rollback of a protection change failed, so the kernel's protection of some pages of
 * [off, off+len) in r may differ from the model's.  Read the kernel's (/proc/self/maps) and
 * make the model agree: a page with the access of `want` (the protection the failed step was
 * giving; 0: none) records want, any other differing page the plain protection of its access.
 * Caller holds the write lock. */
void wm_protect_adopt_locked(struct wm_region *r, size_t off, size_t len, uint32_t want);

/* ---- section.c / view.c ---------------------------------------------------------------------- */

struct wm_section {
    struct wm_object obj;
    int fd;            /* memfd, shared-memory object, or a dup of the file's descriptor */
    uint64_t size;     /* exact for a file, page-rounded for the paging file */
    uint32_t prot;     /* PAGE_* base protection of the section */
    uint32_t attrs;    /* SEC_COMMIT / SEC_NOCACHE / SEC_WRITECOMBINE, SEC_FILE for a file */
    ACCESS_MASK max;   /* the SECTION_* rights its protection allows */
    char *name;        /* canonical object name (ob/namespace.c), NULL when unnamed */
    uint64_t data_off; /* where the section's data starts in fd (after a named one's header) */
    bool shm;          /* fd is the named shared-memory object, holding a shared flock */
    struct wm_region *commit; /* SEC_RESERVE: which pages are committed (else NULL) */
    /* Handles open to it; -1 once the last one closed, after which it gets no more (a named
     * section has then left the namespace, so it must not come back). */
    atomic_int handles;
    struct wm_section *next_named; /* chain in section.c's name table, under its lock */
};

/* SEC_RESERVE: MEM_COMMIT of pages [off, off+len) of the view asker, which commits the
 * section's pages in every view of it (the asker's with prot), or changes nothing.  Caller
 * holds the write lock. */
NTSTATUS wm_view_commit_locked(struct wm_region *asker, size_t off, size_t len, uint32_t prot);
/* Around fork(): names_lock held across it (vmstate.c orders the calls). */
void wm_section_fork_prepare(void);
void wm_section_fork_release(void);
void wm_section_fork_child(void);
/* msync the view holding addr from addr for size bytes (0: to the view's end). */
NTSTATUS wm_view_flush(uintptr_t addr, size_t size);
/* Base and size of the view holding addr, or NULL. */
void *wm_view_bounds(uintptr_t addr, size_t *size);

/* ---- secure.c ----------------------------------------------------------------------------- */

/* STATUS_INVALID_PAGE_PROTECTION when [start, end) overlaps a secured range; caller holds
 * the VM lock.  A refusal is remembered for wm_secure_take_refusal. */
NTSTATUS wm_secure_check_free_locked(uintptr_t start, uintptr_t end);
/* The same when prot would take away access a secure over [start, end) promised. */
NTSTATUS wm_secure_check_protect_locked(uintptr_t start, uintptr_t end, uint32_t prot);
/* True (once) when this thread's last STATUS_INVALID_PAGE_PROTECTION was for secured memory;
 * every NtFree/NtProtect call clears the mark first, so it always speaks of the last call. */
bool wm_secure_take_refusal(void);
/* The secure memory cache protocol, run by the Nt calls that free or tighten memory once an
 * attempt returned st: true when st was a refusal for secured memory and the callbacks, run
 * now on [addr, addr+size) with no lock held, unsecured something, so the call should be
 * tried once more.  Allocates nothing. */
bool wm_secure_flush_refused(NTSTATUS st, uintptr_t addr, size_t size);
void wm_secure_clear_refusal(void);
/* The i-th secured range (false past the last), for the address-space picture (dbg/).
 * Caller holds the VM lock, or reads racily from a debugger and says so. */
bool wm_secure_range_locked(size_t i, uintptr_t *start, uintptr_t *end, uint32_t *mode);
/* Size of the allocation holding addr (0 if none): the range a release of size 0 attempts. */
size_t wm_secure_allocation_size(uintptr_t addr);

/* ---- cfg.c: Control Flow Guard call targets ------------------------------------------------ */

/* CFG is on for the process: its call-target bitmap exists or could be reserved now. */
bool wm_cfg_enabled(void);
/* Pages [start, start+len) were just committed (or mapped) with prot: executable ones get all
 * their targets valid, or all invalid with PAGE_TARGETS_INVALID.  Caller holds the write lock. */
void wm_cfg_commit_locked(uintptr_t start, size_t len, uint32_t prot);
/* Pages [start, start+len) were just protected with prot (as asked, flags included): made
 * executable, their targets become valid, unless PAGE_TARGETS_NO_UPDATE.  Write lock held. */
void wm_cfg_protect_locked(uintptr_t start, size_t len, uint32_t prot);
/* [start, start+len) was released or unmapped: whatever is mapped there next starts valid. */
void wm_cfg_release_locked(uintptr_t start, size_t len);
/* False when target lies in memory winmem marked as not a valid call target.  No lock, no
 * allocation: async-signal-safe. */
bool wm_cfg_valid_sigsafe(uintptr_t target);
/* SetProcessValidCallTargets: entries processed get CFG_CALL_TARGET_PROCESSED; on a bad entry
 * the ones before it stay applied. */
NTSTATUS wm_cfg_set_targets(HANDLE process, PVOID address, SIZE_T size, ULONG count,
                            PCFG_CALL_TARGET_INFO info);

/* ---- query.c ----------------------------------------------------------------------------- */

/* Fill *mbi for addr (<= WM_MAX_ADDRESS) from the model, or from /proc/self/maps for memory
 * winmem does not own.  Caller holds the VM lock for reading. */
NTSTATUS wm_query_locked(uintptr_t addr, MEMORY_BASIC_INFORMATION *mbi);

#endif

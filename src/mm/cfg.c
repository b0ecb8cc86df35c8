/*
 * cfg.c - Control Flow Guard call targets: the process's call-target bitmap, what
 * PAGE_TARGETS_INVALID / PAGE_TARGETS_NO_UPDATE do to it, and SetProcessValidCallTargets.
 *
 * One bit per 16 bytes of address space, as Windows' bitmap has, in one shadow mapping the
 * kernel places (MAP_NORESERVE, 1/128 of the user address space: 1 TiB on x86-64, of which
 * only the touched pages ever cost memory).  A set bit means "not a valid call target", so
 * the zero pages a fresh mapping reads as say "valid": memory winmem never marked (the
 * program's own code, libraries, anything not executable) passes the check, and marking a
 * range valid again gives its bitmap pages back to the kernel.  The bitmap is reserved the
 * first time a target is made invalid (or CFG is asked about); a process that never does
 * pays nothing.  Bits change under the VM write lock; the check reads them with no lock
 * (win32/cfgapi.c ends the process on an invalid target).  Nothing here is per page in the
 * model: the bitmap is the only record.
 */
#include "mm.h"

#define CFG_SHIFT 4 /* 16 bytes per bit */
#define CFG_WORD_BITS 64

/* The bitmap (NULL until first needed); cfg_off once reserving it failed, so CFG is off for
 * the rest of the process. */
static _Atomic(_Atomic uint64_t *) cfg_bits;
static atomic_bool cfg_off;

static size_t bitmap_bytes(void)
{
    size_t words = (WM_MAX_ADDRESS >> (CFG_SHIFT + 6)) + 1;
    return (words * sizeof(uint64_t) + wm_vm.page - 1) & ~(wm_vm.page - 1);
}

/* The bitmap, reserved now if create says so and nobody has yet; NULL when CFG is off. */
static _Atomic uint64_t *bits_get(bool create)
{
    _Atomic uint64_t *b = atomic_load_explicit(&cfg_bits, memory_order_acquire);
    uintptr_t at = 0;

    if (b || !create || atomic_load_explicit(&cfg_off, memory_order_relaxed))
        return b;
    wm_vmstate_init();
    if (wm_os_map(&at, bitmap_bytes(), WM_ACC_R | WM_ACC_W, false)) {
        atomic_store_explicit(&cfg_off, true, memory_order_relaxed);
        return NULL;
    }
    _Atomic uint64_t *mine = (_Atomic uint64_t *)at;
    if (!atomic_compare_exchange_strong_explicit(&cfg_bits, &b, mine, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        wm_os_unmap(at, bitmap_bytes()); /* another thread reserved it first */
        return b;
    }
    return mine;
}

bool wm_cfg_enabled(void)
{
    return bits_get(true) != NULL;
}

/* Bits of [start, start+len) (page aligned, so whole words) all set (invalid) or all clear. */
static void fill_locked(_Atomic uint64_t *b, uintptr_t start, size_t len, bool invalid)
{
    WM_ASSERT(wm_vmstate_write_held());
    size_t w = start >> (CFG_SHIFT + 6), end = (start + len) >> (CFG_SHIFT + 6);
    size_t per_page = wm_vm.page / sizeof(uint64_t);
    uint64_t want = invalid ? ~(uint64_t)0 : 0;

    /* Clearing whole bitmap pages hands them back to the kernel: the cost of a huge range
     * made valid (or released) is its page tables, not its bitmap. */
    if (!invalid) {
        size_t lo = (w + per_page - 1) / per_page * per_page, hi = end / per_page * per_page;
        if (lo < hi && wm_os_zero((uintptr_t)(b + lo), (hi - lo) * sizeof(uint64_t)) == 0) {
            for (; w < lo; w++)
                if (atomic_load_explicit(&b[w], memory_order_relaxed))
                    atomic_store_explicit(&b[w], 0, memory_order_relaxed);
            w = hi;
        }
    }
    /* Reading before writing leaves untouched (zero) pages untouched when clearing. */
    for (; w < end; w++)
        if (atomic_load_explicit(&b[w], memory_order_relaxed) != want)
            atomic_store_explicit(&b[w], want, memory_order_relaxed);
}

static bool executable(uint32_t prot)
{
    return (wm_prot_class(prot) & WM_ACC_X) != 0;
}

/* Pages of the region at start become executable with all their targets valid or invalid. */
static void decide_locked(uintptr_t start, size_t len, bool invalid)
{
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    _Atomic uint64_t *b = bits_get(invalid);

    if (r)
        r->flags |= WM_REGION_CFG;
    if (b)
        fill_locked(b, start, len, invalid);
}

void wm_cfg_commit_locked(uintptr_t start, size_t len, uint32_t prot)
{
    if (executable(prot))
        decide_locked(start, len, prot & PAGE_TARGETS_INVALID);
}

WM_HOT void wm_cfg_protect_locked(uintptr_t start, size_t len, uint32_t prot)
{
    if (!executable(prot))
        return;
    if (!(prot & PAGE_TARGETS_NO_UPDATE)) {
        decide_locked(start, len, false);
        return;
    }
    /* Windows' bits of memory that was never executable say "invalid", and NO_UPDATE keeps
     * them: so a fresh read-write allocation flipped to execute with NO_UPDATE has no valid
     * target.  Only whole regions are told apart (the model keeps nothing per page): pages
     * never executable in a region where others were keep their bits, which say valid. */
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, start);
    if (r && !(r->flags & WM_REGION_CFG))
        decide_locked(start, len, true);
}

void wm_cfg_release_locked(uintptr_t start, size_t len)
{
    _Atomic uint64_t *b = bits_get(false);
    if (b)
        fill_locked(b, start, len, false);
}

bool wm_cfg_valid_sigsafe(uintptr_t target)
{
    _Atomic uint64_t *b = atomic_load_explicit(&cfg_bits, memory_order_acquire);

    if (!b || target > WM_MAX_ADDRESS)
        return true;
    uintptr_t i = target >> CFG_SHIFT;
    uint64_t w = atomic_load_explicit(&b[i / CFG_WORD_BITS], memory_order_relaxed);
    return !((w >> (i % CFG_WORD_BITS)) & 1);
}

/* ---- SetProcessValidCallTargets ----------------------------------------------------------- */

#define CFG_KNOWN_FLAGS                                                               \
    (CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_PROCESSED |                              \
     CFG_CALL_TARGET_CONVERT_EXPORT_SUPPRESSED_TO_VALID | CFG_CALL_TARGET_VALID_XFG | \
     CFG_CALL_TARGET_CONVERT_XFG_TO_CFG)
#define CFG_CHUNK 64 /* entries copied in from the caller per lock hold */

static int not_executable(void *ctx, const struct wm_region *r, size_t off, size_t len,
                          const struct wm_run *run)
{
    (void)ctx, (void)r, (void)off, (void)len;
    return run->state != WM_STATE_COMMITTED || !executable(run->prot);
}

/* Where [addr, addr+size) is: STATUS_SUCCESS with *tracked set for executable memory of
 * winmem's (its bits may change), clear for executable memory winmem does not own (its
 * targets are always valid here, so there is nothing to change); else Windows' refusal. */
static NTSTATUS range_locked(uintptr_t addr, size_t size, bool *tracked)
{
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, addr);

    if (r) {
        if (size > r->size - (addr - r->base))
            return STATUS_INVALID_PARAMETER;
        /* Allocated executable, or every page of the range executable now. */
        uintptr_t lo = addr & ~(uintptr_t)(wm_vm.page - 1);
        size_t off = lo - r->base, len = ((addr + size - lo) + wm_vm.page - 1) & ~(wm_vm.page - 1);
        if (!executable(r->alloc_prot) && wm_region_walk(r, off, len, not_executable, NULL))
            return STATUS_INVALID_PARAMETER;
        *tracked = true;
        return STATUS_SUCCESS;
    }
    MEMORY_BASIC_INFORMATION mbi;
    if (wm_query_locked(addr, &mbi) || mbi.State != MEM_COMMIT || !executable(mbi.Protect))
        return STATUS_INVALID_PARAMETER;
    *tracked = false;
    return STATUS_SUCCESS;
}

/* One chunk of entries, under the write lock; *done counts the entries applied. */
static NTSTATUS apply_locked(uintptr_t addr, size_t size, CFG_CALL_TARGET_INFO *e, ULONG n,
                             ULONG *done)
{
    WM_ASSERT(wm_vmstate_write_held());
    bool tracked = false;
    NTSTATUS st = range_locked(addr, size, &tracked);
    _Atomic uint64_t *b = NULL;

    if (st)
        return st;
    for (*done = 0; *done < n; (*done)++) {
        ULONG_PTR off = e[*done].Offset, flags = e[*done].Flags;
        if ((flags & ~(ULONG_PTR)CFG_KNOWN_FLAGS) || off >= size || ((addr + off) & 15))
            return STATUS_INVALID_PARAMETER;
        if (!tracked)
            continue;
        bool valid = flags & (CFG_CALL_TARGET_VALID | CFG_CALL_TARGET_VALID_XFG);
        /* The conversions apply to export-suppressed and XFG targets, which winmem's memory
         * never holds: such an entry changes nothing. */
        if (!valid && (flags & (CFG_CALL_TARGET_CONVERT_EXPORT_SUPPRESSED_TO_VALID |
                                CFG_CALL_TARGET_CONVERT_XFG_TO_CFG)))
            continue;
        if (!b && !(b = bits_get(!valid)))
            continue; /* no bitmap yet: every target is valid already */
        uintptr_t i = (addr + off) >> CFG_SHIFT;
        uint64_t bit = (uint64_t)1 << (i % CFG_WORD_BITS);
        if (valid)
            atomic_fetch_and_explicit(&b[i / CFG_WORD_BITS], ~bit, memory_order_relaxed);
        else
            atomic_fetch_or_explicit(&b[i / CFG_WORD_BITS], bit, memory_order_relaxed);
    }
    return STATUS_SUCCESS;
}

NTSTATUS wm_cfg_set_targets(HANDLE process, PVOID address, SIZE_T size, ULONG count,
                            PCFG_CALL_TARGET_INFO info)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    uintptr_t addr = (uintptr_t)address;
    CFG_CALL_TARGET_INFO chunk[CFG_CHUNK];

    if (st)
        return st;
    if (!wm_cfg_enabled())
        return STATUS_NOT_SUPPORTED;
    if (!size || addr > WM_MAX_ADDRESS || size - 1 > WM_MAX_ADDRESS - addr)
        return STATUS_INVALID_PARAMETER;
    for (ULONG at = 0; at < count;) {
        ULONG n = count - at < CFG_CHUNK ? count - at : CFG_CHUNK, done = 0;
        /* The caller's array is read and written with no lock held: a bad pointer faults. */
        if (!info || wm_os_copy(chunk, info + at, n * sizeof(chunk[0])))
            return STATUS_ACCESS_VIOLATION;
        wm_vmstate_wrlock();
        st = apply_locked(addr, size, chunk, n, &done);
        wm_vmstate_wrunlock();
        /* Entries applied before a bad one stay applied, and say so. */
        for (ULONG i = 0; i < done; i++)
            chunk[i].Flags |= CFG_CALL_TARGET_PROCESSED;
        if (done && wm_os_copy(info + at, chunk, done * sizeof(chunk[0])))
            return STATUS_ACCESS_VIOLATION;
        if (st)
            return st;
        at += n;
    }
    return STATUS_SUCCESS;
}

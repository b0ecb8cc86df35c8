/*
 * wsinfo.c - NtQueryVirtualMemory(MemoryWorkingSetExInformation), behind QueryWorkingSetEx:
 * for each address the caller lists, whether its page is resident ("valid") and with which
 * protection, shared, locked, on a large page.
 *
 * Residency comes from the kernel's page map (/proc/self/pagemap: present, file-or-shared,
 * exclusively mapped); protection and locking from winmem's model, or from the kernel's list
 * of mappings for memory winmem did not allocate.  A page the program cannot touch (reserved,
 * PAGE_NOACCESS, a guard page) is not valid, as Windows reports it, even where Linux keeps
 * the frame.  The caller's array is read and written through the copy that turns a bad
 * pointer into STATUS_ACCESS_VIOLATION, never with the VM lock held.
 */
#include "mm.h"

#include <string.h>

/* The MEMORY_WORKING_SET_EX_BLOCK bits of a valid page (winternl.h names the fields). */
#define WS_VALID ((ULONG_PTR)1)
#define WS_SHARE_COUNT_SHIFT 1
#define WS_PROTECTION_SHIFT 4
#define WS_SHARED ((ULONG_PTR)1 << 15)
#define WS_LOCKED ((ULONG_PTR)1 << 22)
#define WS_LARGE ((ULONG_PTR)1 << 23)

struct page_facts {
    bool mine, committed, locked, large;
    uint32_t prot;
};

static int facts_run(void *ctx, const struct wm_region *r, size_t off, size_t len,
                     const struct wm_run *run)
{
    struct page_facts *f = ctx;
    (void)off, (void)len;
    f->committed = run->state == WM_STATE_COMMITTED;
    f->prot = f->committed ? run->prot : 0;
    f->locked = run->flags & WM_RUN_LOCKED;
    f->large = r->flags & WM_REGION_LARGE;
    return 1;
}

static void page_facts(uintptr_t page, struct page_facts *f)
{
    memset(f, 0, sizeof *f);
    wm_vmstate_rdlock();
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page);
    if (r) {
        f->mine = true;
        wm_region_walk(r, page - r->base, wm_vm.page, facts_run, f);
    }
    wm_vmstate_rdunlock();
    if (!f->mine) {
        MEMORY_BASIC_INFORMATION mbi;
        if (NtQueryVirtualMemory(NtCurrentProcess(), (PVOID)page, MemoryBasicInformation, &mbi,
                                 sizeof mbi, NULL) == STATUS_SUCCESS &&
            mbi.State == MEM_COMMIT) {
            f->committed = true;
            f->prot = mbi.Protect;
        }
    }
}

static ULONG_PTR block_of(uintptr_t addr, int pagemap)
{
    if (addr > WM_MAX_ADDRESS)
        return 0;
    uintptr_t page = addr & ~(uintptr_t)(wm_vm.page - 1);
    struct page_facts f;
    page_facts(page, &f);
    uint32_t base = f.prot & WM_PAGE_BASE_MASK;
    if (!f.committed || base == PAGE_NOACCESS || (f.prot & PAGE_GUARD))
        return 0;
    struct wm_os_pageinfo pi;
    if (pagemap < 0 || wm_os_pagemap_read(pagemap, page / wm_vm.page, &pi) || !pi.present)
        return 0;
    ULONG_PTR b = WS_VALID | ((ULONG_PTR)(f.prot & 0x7ff) << WS_PROTECTION_SHIFT);
    if (pi.shared) {
        /* How many processes map it is not known without the frame number (privileged):
         * 1 when this process alone maps it, else 2. */
        b |= WS_SHARED | ((ULONG_PTR)(pi.exclusive ? 1 : 2) << WS_SHARE_COUNT_SHIFT);
    }
    if (f.locked)
        b |= WS_LOCKED;
    if (f.large)
        b |= WS_LARGE;
    return b;
}

NTSTATUS wm_query_working_set_ex(PVOID info, SIZE_T len, PSIZE_T ret_len)
{
    typedef struct {
        PVOID VirtualAddress;
        ULONG_PTR VirtualAttributes;
    } entry;
    size_t n = len / sizeof(entry);

    if (!n)
        return STATUS_INFO_LENGTH_MISMATCH;
    if (!info)
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    int pagemap = wm_os_pagemap_open();
    NTSTATUS st = STATUS_SUCCESS;
    for (size_t i = 0; i < n && st == STATUS_SUCCESS; i++) {
        entry e;
        if (wm_os_copy(&e, (entry *)info + i, sizeof e)) {
            st = STATUS_ACCESS_VIOLATION;
            break;
        }
        e.VirtualAttributes = block_of((uintptr_t)e.VirtualAddress, pagemap);
        if (wm_os_copy((entry *)info + i, &e, sizeof e))
            st = STATUS_ACCESS_VIOLATION;
    }
    if (pagemap >= 0)
        wm_os_close(pagemap);
    if (st == STATUS_SUCCESS && ret_len) {
        SIZE_T done = len; /* 64-bit Windows reports the whole length given */
        if (wm_os_copy(ret_len, &done, sizeof done))
            st = STATUS_ACCESS_VIOLATION;
    }
    return st;
}

/* ---- MemoryRegionInformation: one allocation as a whole ------------------------------------ */

/* The NT layout (MEMORY_REGION_INFORMATION); the first 32 bytes are the Win32 one
 * (WIN32_MEMORY_REGION_INFORMATION), which is the least a caller may pass. */
struct region_info {
    PVOID AllocationBase;
    ULONG AllocationProtect;
    ULONG RegionType;
    SIZE_T RegionSize;
    SIZE_T CommitSize;
    ULONG_PTR PartitionId;
    ULONG_PTR NodePreference;
};
#define REGION_INFO_MIN 32
#define RT_PRIVATE 0x1u
#define RT_MAPPED_DATA_FILE 0x2u
#define RT_MAPPED_IMAGE 0x4u
#define RT_MAPPED_PAGE_FILE 0x8u
#define RT_PLACEHOLDER 0x100u /* PlaceholderReservation, the NT layout's ninth bit */

struct commit_count {
    bool view;
    size_t bytes;
};

static int count_run(void *ctx, const struct wm_region *r, size_t off, size_t len,
                     const struct wm_run *run)
{
    struct commit_count *c = ctx;
    (void)r, (void)off;
    /* Private memory is charged for what is committed; a view only for its pages that are
     * (or may become) private copies. */
    if (run->state == WM_STATE_COMMITTED &&
        (!c->view || (run->flags & WM_RUN_COPIED) || wm_prot_is_cow(run->prot)))
        c->bytes += len;
    return 0;
}

static NTSTATUS region_info_locked(uintptr_t page, struct region_info *ri)
{
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page);
    memset(ri, 0, sizeof *ri);
    if (r) {
        struct commit_count c = { .view = (r->flags & WM_REGION_VIEW) != 0 };
        wm_region_walk(r, 0, r->size, count_run, &c);
        ri->AllocationBase = (PVOID)r->base;
        ri->AllocationProtect = r->alloc_prot;
        if (!c.view)
            ri->RegionType = RT_PRIVATE | ((r->flags & WM_REGION_PLACEHOLDER) ? RT_PLACEHOLDER : 0);
        else
            ri->RegionType = (((const struct wm_section *)r->ext->object)->attrs & SEC_FILE)
                                 ? RT_MAPPED_DATA_FILE
                                 : RT_MAPPED_PAGE_FILE;
        ri->RegionSize = r->size;
        ri->CommitSize = c.bytes;
        return STATUS_SUCCESS;
    }
    /* Memory winmem did not allocate: its allocation as VirtualQuery groups it. */
    MEMORY_BASIC_INFORMATION m;
    NTSTATUS st = wm_query_locked(page, &m);
    if (st)
        return st;
    if (m.State == MEM_FREE)
        return STATUS_INVALID_ADDRESS;
    uintptr_t base = (uintptr_t)m.AllocationBase, a = base;
    ri->AllocationBase = m.AllocationBase;
    ri->AllocationProtect = m.AllocationProtect;
    ri->RegionType = m.Type == MEM_IMAGE    ? RT_MAPPED_IMAGE
                     : m.Type == MEM_MAPPED ? RT_MAPPED_DATA_FILE
                                            : RT_PRIVATE;
    while (a <= WM_MAX_ADDRESS && wm_query_locked(a, &m) == STATUS_SUCCESS && m.State != MEM_FREE &&
           (uintptr_t)m.AllocationBase == base) {
        if (m.State == MEM_COMMIT && (m.Type == MEM_PRIVATE || wm_prot_is_cow(m.Protect)))
            ri->CommitSize += m.RegionSize;
        ri->RegionSize += m.RegionSize;
        a += m.RegionSize;
    }
    return STATUS_SUCCESS;
}

NTSTATUS wm_query_region_info(uintptr_t addr, PVOID info, SIZE_T len, PSIZE_T ret_len)
{
    struct region_info ri;

    if (len < REGION_INFO_MIN)
        return STATUS_INFO_LENGTH_MISMATCH;
    if (!info)
        return STATUS_ACCESS_VIOLATION;
    if (addr > WM_MAX_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();
    wm_vmstate_rdlock();
    NTSTATUS st = region_info_locked(addr & ~(uintptr_t)(wm_vm.page - 1), &ri);
    wm_vmstate_rdunlock();
    if (st)
        return st;
    SIZE_T n = len < sizeof ri ? len : sizeof ri;
    if (wm_os_copy(info, &ri, n) || (ret_len && wm_os_copy(ret_len, &n, sizeof n)))
        return STATUS_ACCESS_VIOLATION;
    return STATUS_SUCCESS;
}

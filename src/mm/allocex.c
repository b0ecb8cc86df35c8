/*
 * allocex.c - NtAllocateVirtualMemoryEx and NtMapViewOfSectionEx (VirtualAlloc2,
 * MapViewOfFile3 and their FromApp forms): the extended parameters, checked as Windows checks
 * them, and the address requirements (lowest starting address, highest ending address,
 * alignment) met by choosing the address first and then reserving or mapping exactly there.
 *
 * The address is the model's first free range when the kernel agrees (one fixed-address
 * claim), else found in the kernel's list of mappings (which holds winmem's own), bottom-up
 * from the lowest address allowed, or top-down under MEM_TOP_DOWN.  Another thread may take
 * the range between the look and the claim; the fixed-address call then reports the conflict
 * and the search runs again, a few times.  Reading the list costs tens of microseconds, paid
 * only when the model's range is refused; the claim itself costs what a VirtualAlloc does, so
 * the heaps (rtl/heapvm.c) can place every region this way.
 *
 * Placeholders (MEM_RESERVE_PLACEHOLDER, MEM_REPLACE_PLACEHOLDER) are asked for only through
 * these calls: they pass the flags on to alloc.c and view.c, which make and replace them
 * (placeholder.c splits, joins and restores them).
 */
#include "mm.h"
#include "rtl/trace.h"

#include <string.h>

#define FLOOR ((uintptr_t)1 << 32) /* where system-chosen addresses start (place.c) */
#define TRIES 8

struct ext_params {
    bool has_req;
    MEM_ADDRESS_REQUIREMENTS req;
    bool has_node;
    ULONG node;
    bool has_attrs;
};

/* Copy and check the caller's parameters. */
static NTSTATUS read_params(const MEM_EXTENDED_PARAMETER *params, ULONG count,
                            struct ext_params *out)
{
    memset(out, 0, sizeof *out);
    for (ULONG i = 0; i < count; i++) {
        MEM_EXTENDED_PARAMETER p;
        if (wm_os_copy(&p, params + i, sizeof p))
            return STATUS_ACCESS_VIOLATION;
        switch (p.Type) {
        case MemExtendedParameterAddressRequirements:
            if (out->has_req)
                return STATUS_INVALID_PARAMETER;
            out->has_req = true;
            if (p.Pointer && wm_os_copy(&out->req, p.Pointer, sizeof out->req))
                return STATUS_ACCESS_VIOLATION;
            break;
        case MemExtendedParameterNumaNode:
            if (out->has_node)
                return STATUS_INVALID_PARAMETER;
            out->has_node = true;
            out->node = p.ULong;
            if (wm_numa_check_node(p.ULong))
                return STATUS_INVALID_PARAMETER;
            break;
        case MemExtendedParameterAttributeFlags:
            /* No attribute (large or huge pages, EC code) is supported through here. */
            if (out->has_attrs || p.ULong64)
                return STATUS_INVALID_PARAMETER;
            out->has_attrs = true;
            break;
        case MemExtendedParameterPartitionHandle:
        case MemExtendedParameterUserPhysicalHandle:
        case MemExtendedParameterImageMachine:
            return STATUS_NOT_SUPPORTED;
        default:
            return STATUS_INVALID_PARAMETER; /* MemExtendedParameterInvalidType, Max and above */
        }
    }
    return STATUS_SUCCESS;
}

/* The requirements' own rules; *low / *high / *align are what the search uses. */
static NTSTATUS check_requirements(const MEM_ADDRESS_REQUIREMENTS *r, uintptr_t *low,
                                   uintptr_t *high, size_t *align)
{
    uintptr_t lo = (uintptr_t)r->LowestStartingAddress, hi = (uintptr_t)r->HighestEndingAddress;
    size_t al = r->Alignment;

    if (al && ((al & (al - 1)) || al < WM_GRANULARITY))
        return STATUS_INVALID_PARAMETER;
    if (hi && (((hi + 1) & (wm_vm.page - 1)) || hi > WM_MAX_ADDRESS))
        return STATUS_INVALID_PARAMETER;
    if ((lo & (WM_GRANULARITY - 1)) || lo > WM_MAX_ADDRESS)
        return STATUS_INVALID_PARAMETER;
    if (hi && lo > hi)
        return STATUS_INVALID_PARAMETER;
    *low = lo;
    *high = hi ? hi : WM_MAX_ADDRESS;
    *align = al ? al : WM_GRANULARITY;
    return STATUS_SUCCESS;
}

static bool requirements_given(const struct ext_params *p)
{
    return p->has_req &&
           (p->req.LowestStartingAddress || p->req.HighestEndingAddress || p->req.Alignment);
}

static uintptr_t align_up(uintptr_t a, size_t align)
{
    return (a + align - 1) & ~(uintptr_t)(align - 1);
}

/* A free range of len bytes, aligned, within [low, high]: the lowest (or, top_down, the
 * highest) between the kernel's mappings.  0 when there is none. */
static NTSTATUS find_range(uintptr_t low, uintptr_t high, size_t align, size_t len, bool top_down,
                           uintptr_t *out)
{
    /* With no lowest address, start where system-chosen addresses start unless the highest
     * address asked for lies below that. */
    uintptr_t start = low ? low : (high < FLOOR + len ? WM_MIN_ADDRESS : FLOOR);
    if (start < WM_MIN_ADDRESS)
        start = WM_MIN_ADDRESS;
    struct wm_maps m;
    struct wm_maps_entry e;
    int rc = wm_maps_open(&m);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    uintptr_t gap = 0, found = 0;
    for (;;) {
        rc = wm_maps_next(&m, &e);
        if (rc < 0)
            break;
        uintptr_t gap_end = rc == 1 ? e.start : WM_MAX_ADDRESS + 1;
        uintptr_t lo = gap > start ? gap : start, hi = gap_end < high + 1 ? gap_end : high + 1;
        if (hi > lo && hi - lo >= len) {
            if (top_down) {
                uintptr_t cand = (hi - len) & ~(uintptr_t)(align - 1);
                if (cand >= lo)
                    found = cand;
            } else {
                uintptr_t cand = align_up(lo, align);
                if (cand >= lo && cand <= hi - len) {
                    found = cand;
                    break;
                }
            }
        }
        if (rc != 1 || e.start > high)
            break;
        if (e.end > gap)
            gap = e.end;
    }
    wm_maps_close(&m);
    if (rc < 0)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    if (!found)
        return STATUS_NO_MEMORY;
    *out = found;
    return STATUS_SUCCESS;
}

/* The first aligned range in [low, high] that no region of winmem's covers, from the model
 * alone: usually free in the kernel too, so one fixed-address claim settles it without reading
 * the kernel's list.  0 when the model has no room there. */
static uintptr_t model_candidate(uintptr_t low, uintptr_t high, size_t align, size_t len)
{
    uintptr_t start = low ? low : (high < FLOOR + len ? WM_MIN_ADDRESS : FLOOR);
    uintptr_t a = align_up(start < WM_MIN_ADDRESS ? WM_MIN_ADDRESS : start, align), found = 0;

    wm_vmstate_rdlock();
    for (int steps = 0; steps < 64 && a >= start && a <= high && high - a >= len - 1; steps++) {
        const struct wm_region *r = wm_space_prev(&wm_vm.space, a);
        if (r && a - r->base < r->size) {
            a = align_up(r->base + r->size, align);
            continue;
        }
        r = wm_space_next(&wm_vm.space, a);
        if (!r || r->base - a >= len) {
            found = a;
            break;
        }
        a = align_up(r->base + r->size, align);
    }
    wm_vmstate_rdunlock();
    return found;
}

/* Make the allocation or view at an address that meets the requirements: claim(ctx, at, ...)
 * reserves or maps exactly at `at`.  The model's first free range is tried first; a refusal
 * there (memory winmem does not own, or an address the kernel will not give, as under a
 * sanitizer) hands the choice to the kernel's list, and a range another thread took since the
 * look is looked for again, a few times. */
typedef NTSTATUS (*claim_at_fn)(void *ctx, PVOID *base, SIZE_T *size);

static NTSTATUS place_and_claim(uintptr_t low, uintptr_t high, size_t align, size_t len,
                                bool top_down, claim_at_fn claim, void *ctx, PVOID *base,
                                SIZE_T *size)
{
    SIZE_T asked = *size;
    uintptr_t guess = top_down ? 0 : model_candidate(low, high, align, len);
    for (int tries = 0;; tries++) {
        uintptr_t at = guess;
        bool guessed = at != 0;
        NTSTATUS st;
        guess = 0; /* after a first refusal, the kernel's list decides */
        if (!at && (st = find_range(low, high, align, len, top_down, &at)))
            return st;
        *base = (PVOID)at;
        *size = asked;
        st = claim(ctx, base, size);
        if (st && guessed)
            continue;
        if (st == STATUS_CONFLICTING_ADDRESSES && tries < TRIES)
            continue;
        return st;
    }
}

struct reserve_ctx {
    HANDLE process;
    ULONG type, prot;
};

static NTSTATUS reserve_at(void *ctx, PVOID *base, SIZE_T *size)
{
    const struct reserve_ctx *c = ctx;
    return wm_allocate(c->process, base, 0, size, c->type, c->prot, true);
}

struct view_ctx {
    HANDLE section, process;
    PLARGE_INTEGER offset;
    ULONG type, prot;
};

static NTSTATUS map_at(void *ctx, PVOID *base, SIZE_T *size)
{
    const struct view_ctx *c = ctx;
    return wm_map_view(c->section, c->process, base, 0, c->offset, size, c->type, c->prot, true);
}

/* What both Ex calls check first, in Windows' order: the process, the address and size
 * pointers, then the extended parameters. */
static NTSTATUS args_in(HANDLE process, PVOID *base_ptr, PSIZE_T size_ptr,
                        const MEM_EXTENDED_PARAMETER *params, ULONG count, uintptr_t *addr,
                        size_t *size, struct ext_params *p)
{
    NTSTATUS st = wm_vmstate_check_process(process);

    if (st)
        return st;
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, addr, size)))
        return st;
    if (count && !params)
        return STATUS_INVALID_PARAMETER;
    return read_params(params, count, p);
}

WINMEM_API NTSTATUS NTAPI NtAllocateVirtualMemoryEx(HANDLE process, PVOID *base_ptr,
                                                    PSIZE_T size_ptr, ULONG type, ULONG prot,
                                                    PMEM_EXTENDED_PARAMETER params, ULONG count)
{
    WM_TRACE(NtAllocateVirtualMemoryEx, process, base_ptr, size_ptr, type, prot, params, count);
    struct ext_params p;
    uintptr_t addr, low, high;
    size_t size, align;
    NTSTATUS st = args_in(process, base_ptr, size_ptr, params, count, &addr, &size, &p);

    if (st)
        return st;
    wm_vmstate_init();

    if (requirements_given(&p)) {
        if ((st = check_requirements(&p.req, &low, &high, &align)))
            return st;
        /* Requirements choose an address: none may be given, and only a reservation has one
         * to choose (a placeholder being replaced has its own). */
        if (addr || !(type & MEM_RESERVE) || (type & MEM_REPLACE_PLACEHOLDER))
            return STATUS_INVALID_PARAMETER;
        uintptr_t start, end;
        if (!size || !wm_vmstate_page_range(0, size, &start, &end))
            return STATUS_INVALID_PARAMETER;
        size_t len = align_up(end, WM_GRANULARITY);
        if (len < end)
            return STATUS_NO_MEMORY;
        struct reserve_ctx c = { process, type & ~(ULONG)MEM_TOP_DOWN, prot };
        PVOID b;
        SIZE_T s = size;
        if ((st = place_and_claim(low, high, align, len, type & MEM_TOP_DOWN, reserve_at, &c, &b,
                                  &s)))
            return st;
        if (p.has_node && (type & MEM_COMMIT))
            wm_numa_prefer((uintptr_t)b, s, p.node);
        wm_vmstate_args_out(base_ptr, size_ptr, (uintptr_t)b, s);
        return STATUS_SUCCESS;
    }

    PVOID b = (PVOID)addr;
    SIZE_T s = size;
    if ((st = wm_allocate(process, &b, 0, &s, type, prot, true)))
        return st;
    if (p.has_node && (type & MEM_COMMIT))
        wm_numa_prefer((uintptr_t)b, s, p.node);
    wm_vmstate_args_out(base_ptr, size_ptr, (uintptr_t)b, s);
    return STATUS_SUCCESS;
}

WINMEM_API NTSTATUS NTAPI NtMapViewOfSectionEx(HANDLE section, HANDLE process, PVOID *base_ptr,
                                               PLARGE_INTEGER offset, PSIZE_T size_ptr, ULONG type,
                                               ULONG prot, PMEM_EXTENDED_PARAMETER params,
                                               ULONG count)
{
    WM_TRACE(NtMapViewOfSectionEx, section, process, base_ptr, offset, size_ptr, type, prot, params,
             count);
    struct ext_params p;
    uintptr_t addr, low, high;
    size_t size, align;
    NTSTATUS st = args_in(process, base_ptr, size_ptr, params, count, &addr, &size, &p);

    if (st)
        return st;
    if (p.has_attrs)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();

    if (!requirements_given(&p)) {
        PVOID b = (PVOID)addr;
        SIZE_T s = size;
        st = wm_map_view(section, process, &b, 0, offset, &s, type, prot, true);
        if (st == STATUS_SUCCESS) {
            if (p.has_node)
                wm_numa_prefer((uintptr_t)b, s, p.node);
            wm_vmstate_args_out(base_ptr, size_ptr, (uintptr_t)b, s);
        }
        return st;
    }
    if ((st = check_requirements(&p.req, &low, &high, &align)))
        return st;
    if (addr || (type & MEM_REPLACE_PLACEHOLDER))
        return STATUS_INVALID_PARAMETER;
    /* The range to find is the view's size: as asked, or when 0 the section's from the offset
     * on (asked of the section: a trial mapping would change the address space). */
    SIZE_T len = size;
    if (!len) {
        SECTION_BASIC_INFORMATION sbi;
        if ((st = NtQuerySection(section, SectionBasicInformation, &sbi, sizeof sbi, NULL)))
            return st;
        uint64_t off = offset ? (uint64_t)offset->QuadPart : 0;
        if ((uint64_t)sbi.MaximumSize.QuadPart <= off)
            return STATUS_INVALID_VIEW_SIZE;
        len = (SIZE_T)((uint64_t)sbi.MaximumSize.QuadPart - off);
    }
    size_t span = align_up(align_up(len, wm_vm.page), WM_GRANULARITY);
    struct view_ctx c = { section, process, offset, type & ~(ULONG)MEM_TOP_DOWN, prot };
    PVOID b;
    SIZE_T s = size;
    if ((st = place_and_claim(low, high, align, span, type & MEM_TOP_DOWN, map_at, &c, &b, &s)))
        return st;
    if (p.has_node)
        wm_numa_prefer((uintptr_t)b, s, p.node);
    wm_vmstate_args_out(base_ptr, size_ptr, (uintptr_t)b, s);
    return STATUS_SUCCESS;
}

WINMEM_API NTSTATUS NTAPI NtUnmapViewOfSectionEx(HANDLE process, PVOID addr, ULONG flags)
{
    WM_TRACE(NtUnmapViewOfSectionEx, process, addr, flags);
    if (flags & ~(ULONG)(MEM_UNMAP_WITH_TRANSIENT_BOOST | MEM_PRESERVE_PLACEHOLDER))
        return STATUS_INVALID_PARAMETER;
    if (flags & MEM_PRESERVE_PLACEHOLDER)
        return wm_unmap_view_preserve(process, addr);
    return NtUnmapViewOfSection(process, addr);
}

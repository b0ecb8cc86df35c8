/*
 * prot.c - PAGE_* protection constants: which combinations each call accepts, and what
 * kernel access each one means.  The rules are those of Microsoft's "Memory Protection
 * Constants" page; the per-call differences (PAGE_TARGETS_* meaning one thing for
 * VirtualAlloc and another for VirtualProtect) live here too so mm/ asks one question, and
 * so do the section rules: which protections a section or view may have, the SECTION_MAP_*
 * rights each needs or grants, and the FILE_MAP_* table MapViewOfFile goes by.
 */
#include "vm.h"

#include "winnt.h"

static bool one_base(uint32_t base)
{
    return base != 0 && (base & (base - 1)) == 0;
}

static bool executable(uint32_t base)
{
    return (base & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE |
                    PAGE_EXECUTE_WRITECOPY)) != 0;
}

WM_HOT bool wm_prot_valid(uint32_t prot, enum wm_prot_use use)
{
    uint32_t base = prot & WM_PAGE_BASE_MASK;
    uint32_t mods = prot & WM_PAGE_MOD_MASK;
    uint32_t high = prot & ~(WM_PAGE_BASE_MASK | WM_PAGE_MOD_MASK);

    if (!one_base(base))
        return false;
    /* Copy-on-write exists only for views of sections, never for private memory. */
    if ((base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY) && use != WM_PROT_VIEW)
        return false;
    /* GUARD, NOCACHE and WRITECOMBINE exclude each other and PAGE_NOACCESS. */
    if (mods && ((mods & (mods - 1)) != 0 || base == PAGE_NOACCESS))
        return false;
    /* 0x40000000 is PAGE_TARGETS_INVALID for VirtualAlloc and PAGE_TARGETS_NO_UPDATE for
     * VirtualProtect: both are meaningful only with an executable protection. */
    if (high == PAGE_TARGETS_INVALID && executable(base))
        return true;
    /* Graphics, enclave and PAGE_REVERT_TO_FILE_MAP bits never apply to private memory. */
    return high == 0;
}

WM_HOT unsigned wm_prot_access(uint32_t prot)
{
    if (prot & PAGE_GUARD)
        return 0;
    switch (prot & WM_PAGE_BASE_MASK) {
    case PAGE_READONLY:
        return WM_ACC_R;
    case PAGE_READWRITE:
        return WM_ACC_R | WM_ACC_W;
    /* A copy-on-write page is read-only in the kernel until its first write, which the fault
     * path turns into a private copy (PAGE_READWRITE from then on). */
    case PAGE_WRITECOPY:
        return WM_ACC_R;
    case PAGE_EXECUTE:
        return WM_ACC_X;
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return WM_ACC_R | WM_ACC_X;
    case PAGE_EXECUTE_READWRITE:
        return WM_ACC_R | WM_ACC_W | WM_ACC_X;
    default:
        return 0;
    }
}

uint32_t wm_prot_from_access(unsigned acc)
{
    /* Windows has no write-only page: write implies read. */
    switch (acc & (WM_ACC_R | WM_ACC_W | WM_ACC_X)) {
    case 0:
        return PAGE_NOACCESS;
    case WM_ACC_R:
        return PAGE_READONLY;
    case WM_ACC_W:
    case WM_ACC_R | WM_ACC_W:
        return PAGE_READWRITE;
    case WM_ACC_X:
        return PAGE_EXECUTE;
    case WM_ACC_R | WM_ACC_X:
        return PAGE_EXECUTE_READ;
    default:
        return PAGE_EXECUTE_READWRITE;
    }
}

bool wm_prot_is_cow(uint32_t prot)
{
    uint32_t base = prot & WM_PAGE_BASE_MASK;
    return base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY;
}

uint32_t wm_prot_written(uint32_t prot)
{
    uint32_t base = prot & WM_PAGE_BASE_MASK;
    if (!wm_prot_is_cow(prot))
        return prot;
    return (prot & ~(uint32_t)WM_PAGE_BASE_MASK) |
           (base == PAGE_WRITECOPY ? PAGE_READWRITE : PAGE_EXECUTE_READWRITE);
}

unsigned wm_prot_class(uint32_t prot)
{
    /* Copy-on-write counts as read-only here, and execute implies read. */
    unsigned a = wm_prot_access(prot & ~(uint32_t)PAGE_GUARD);
    return a & WM_ACC_X ? a | WM_ACC_R : a;
}

WM_HOT uint32_t wm_prot_effective(uint32_t alloc_prot, uint32_t prot)
{
    uint32_t cache = alloc_prot & (PAGE_NOCACHE | PAGE_WRITECOMBINE);

    prot &= ~(uint32_t)(PAGE_NOCACHE | PAGE_WRITECOMBINE | PAGE_TARGETS_INVALID);
    /* Windows keeps the attribute only where it is a legal combination. */
    if (cache && !(prot & PAGE_GUARD) && (prot & WM_PAGE_BASE_MASK) != PAGE_NOACCESS)
        prot |= cache;
    return prot;
}

bool wm_prot_allows(uint32_t prot, unsigned acc)
{
    /* What the protection promises, not what the kernel enforces right now: a copy-on-write
     * page may be written (the write makes the copy). */
    unsigned a = wm_prot_access(prot & ~(uint32_t)PAGE_GUARD);
    uint32_t base = prot & WM_PAGE_BASE_MASK;
    if (base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY)
        a |= WM_ACC_W;
    return (a & acc) == acc;
}

/* ---- sections and views: the same constants in Windows' section rules ------------------- */

bool wm_prot_section_valid(uint32_t prot)
{
    switch (prot) {
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return true;
    default:
        return false;
    }
}

bool wm_prot_view_valid(uint32_t prot)
{
    /* A view may also be mapped with no access (FILE_MAP_* asking for nothing). */
    return prot == PAGE_NOACCESS || wm_prot_section_valid(prot);
}

uint32_t wm_prot_view_rights(uint32_t view_prot)
{
    switch (view_prot & WM_PAGE_BASE_MASK) {
    case PAGE_READWRITE:
        return SECTION_MAP_WRITE;
    case PAGE_EXECUTE_READWRITE:
        return SECTION_MAP_WRITE | SECTION_MAP_EXECUTE;
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return SECTION_MAP_READ | SECTION_MAP_EXECUTE;
    default: /* READONLY, WRITECOPY, NOACCESS */
        return SECTION_MAP_READ;
    }
}

uint32_t wm_prot_section_rights(uint32_t prot)
{
    uint32_t r = STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_READ;
    if (prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE)
        r |= SECTION_MAP_WRITE;
    if (prot & (PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY))
        r |= SECTION_MAP_EXECUTE;
    return r;
}

/* FILE_MAP_* values, as memoryapi.h defines them from the SECTION_* rights. */
#define MAP_COPY 0x00000001u
#define MAP_EXECUTE SECTION_MAP_EXECUTE_EXPLICIT

uint32_t wm_prot_from_file_map(uint32_t access)
{
    /* Windows' table since Vista: COPY counts only when it is all that is asked besides
     * FILE_MAP_EXECUTE, so SECTION_MAP_EXECUTE beside it leaves a view with no access;
     * SECTION_MAP_EXECUTE alone adds nothing. */
    bool exec = access & MAP_EXECUTE;
    uint32_t rest =
        access & (MAP_COPY | SECTION_MAP_WRITE | SECTION_MAP_READ | SECTION_MAP_EXECUTE);

    if (rest == MAP_COPY)
        return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
    if (rest & SECTION_MAP_WRITE)
        return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    if (rest & SECTION_MAP_READ)
        return exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
    return PAGE_NOACCESS;
}

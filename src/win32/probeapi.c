/*
 * probeapi.c - IsBadReadPtr and the other probes, ReadProcessMemory / WriteProcessMemory,
 * FlushInstructionCache, PrefetchVirtualMemory and DiscardVirtualMemory.
 *
 * The probes need winmem's signal handler (a fault in them is caught there, and a guard page
 * loses its guard as on Windows), so they install it first, as VirtualAlloc does.
 */
#include "win32.h"
#include "rtl/trace.h"

#include <pthread.h>
#include <stdlib.h>

#include "except/except.h"
#include "mm/mm.h"

WINMEM_API BOOL WINAPI IsBadReadPtr(const VOID *lp, UINT_PTR ucb)
{
    if (!ucb)
        return FALSE;
    if (!lp)
        return TRUE;
    wm_signal_init();
    return !wm_probe_range(lp, ucb, false);
}

WINMEM_API BOOL WINAPI IsBadWritePtr(LPVOID lp, UINT_PTR ucb)
{
    if (!ucb)
        return FALSE;
    if (!lp)
        return TRUE;
    wm_signal_init();
    return !wm_probe_range(lp, ucb, true);
}

WINMEM_API BOOL WINAPI IsBadHugeReadPtr(const VOID *lp, UINT_PTR ucb)
{
    return IsBadReadPtr(lp, ucb);
}

WINMEM_API BOOL WINAPI IsBadHugeWritePtr(LPVOID lp, UINT_PTR ucb)
{
    return IsBadWritePtr(lp, ucb);
}

/* Whether one byte at the function's address can be read (Windows checks no more). */
WINMEM_API BOOL WINAPI IsBadCodePtr(FARPROC lpfn)
{
    return IsBadReadPtr((const VOID *)(UINT_PTR)lpfn, 1);
}

WINMEM_API BOOL WINAPI IsBadStringPtrA(LPCSTR lpsz, UINT_PTR ucchMax)
{
    if (!ucchMax)
        return FALSE;
    if (!lpsz)
        return TRUE;
    wm_signal_init();
    return !wm_probe_string(lpsz, ucchMax, 1);
}

WINMEM_API BOOL WINAPI IsBadStringPtrW(LPCWSTR lpsz, UINT_PTR ucchMax)
{
    if (!ucchMax)
        return FALSE;
    if (!lpsz)
        return TRUE;
    wm_signal_init();
    return !wm_probe_string(lpsz, ucchMax, sizeof(WCHAR));
}

/* Both set *count (when given) to the bytes copied, also when the copy stopped part way. */
WINMEM_API BOOL WINAPI ReadProcessMemory(HANDLE process, LPCVOID base, LPVOID buffer, SIZE_T size,
                                         SIZE_T *count)
{
    WM_TRACE(ReadProcessMemory, process, base, buffer, size, count);
    wm_signal_init();
    return wm_win32_status(NtReadVirtualMemory(process, (PVOID)base, buffer, size, count));
}

static bool writable(DWORD prot)
{
    switch (prot & 0xff) {
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY:
        return true;
    default:
        return false;
    }
}

/* As Windows' kernel32 does, a write into code (PAGE_EXECUTE, PAGE_EXECUTE_READ) makes the
 * pages writable for the copy, puts the protection back and flushes the instruction cache, so
 * a debugger or patcher can write breakpoints; read-only, inaccessible and guard pages are not
 * written (ERROR_NOACCESS). */
WINMEM_API BOOL WINAPI WriteProcessMemory(HANDLE process, LPVOID base, LPCVOID buffer, SIZE_T size,
                                          SIZE_T *count)
{
    WM_TRACE(WriteProcessMemory, process, base, buffer, size, count);
    MEMORY_BASIC_INFORMATION mbi;
    SIZE_T done = 0;

    wm_signal_init();
    if (count)
        *count = 0;
    NTSTATUS st =
        NtQueryVirtualMemory(process, base, MemoryBasicInformation, &mbi, sizeof mbi, NULL);
    if (st)
        return wm_win32_status(st);
    if (!size || writable(mbi.Protect))
        return wm_win32_status(NtWriteVirtualMemory(process, base, (PVOID)buffer, size, count));
    if (mbi.State != MEM_COMMIT || (mbi.Protect & PAGE_GUARD) ||
        ((mbi.Protect & 0xff) != PAGE_EXECUTE && (mbi.Protect & 0xff) != PAGE_EXECUTE_READ))
        return wm_win32_error(ERROR_NOACCESS);
    PVOID at = base;
    SIZE_T len = size;
    ULONG old;
    ULONG prot = (mbi.Type == MEM_PRIVATE) ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_WRITECOPY;
    if ((st = NtProtectVirtualMemory(process, &at, &len, prot, &old)))
        return wm_win32_status(st);
    st = NtWriteVirtualMemory(process, base, (PVOID)buffer, size, &done);
    at = base;
    len = size;
    ULONG ignored;
    NtProtectVirtualMemory(process, &at, &len, old, &ignored);
    NtFlushInstructionCache(process, base, size);
    if (count)
        *count = done;
    return wm_win32_status(st);
}

WINMEM_API BOOL WINAPI FlushInstructionCache(HANDLE process, LPCVOID base, SIZE_T size)
{
    return wm_win32_status(NtFlushInstructionCache(process, (PVOID)base, size));
}

WINMEM_API BOOL WINAPI PrefetchVirtualMemory(HANDLE process, ULONG_PTR entries,
                                             PWIN32_MEMORY_RANGE_ENTRY ranges, ULONG flags)
{
    WM_TRACE(PrefetchVirtualMemory, process, entries, ranges, flags);
    if (flags || !entries || !ranges)
        return wm_win32_error(ERROR_INVALID_PARAMETER);
    return wm_win32_status(wm_prefetch(process, ranges, entries));
}

static DWORD page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}

WINMEM_API DWORD WINAPI DiscardVirtualMemory(PVOID addr, SIZE_T size)
{
    WM_TRACE(DiscardVirtualMemory, addr, size);
    if (!size || ((UINT_PTR)addr | size) & (page_size() - 1))
        return ERROR_INVALID_PARAMETER;
    PVOID a = addr;
    SIZE_T s = size;
    /* MEM_RESET: the kernel may drop the pages, which then read as zero. */
    NTSTATUS st = NtAllocateVirtualMemory(NtCurrentProcess(), &a, 0, &s, MEM_RESET, PAGE_NOACCESS);
    return RtlNtStatusToDosError(st);
}

/* ---- OfferVirtualMemory / ReclaimVirtualMemory -------------------------------------------- */

/* An offered range: inaccessible until reclaimed, its pages free for the kernel to drop
 * (MEM_RESET underneath), and the protections it had, to put back.  Kept in a short list: a
 * program offers whole buffers it will reclaim, not millions of ranges. */
struct offered {
    struct offered *next;
    uintptr_t addr;
    size_t size;
    size_t n;
    struct {
        size_t len;
        DWORD prot;
    } runs[];
};

static struct offered *offers;
static pthread_mutex_t offers_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork: offers_lock is held around Virtual* calls (it nests outside the VM lock), so fork takes
 * it before the memory manager's lock: registered at priority 104, after mm/vmstate.c's. */
static void offers_prepare(void)
{
    pthread_mutex_lock(&offers_lock);
}

static void offers_release(void)
{
    pthread_mutex_unlock(&offers_lock);
}

__attribute__((constructor(104))) static void offers_register_fork(void)
{
    pthread_atfork(offers_prepare, offers_release, offers_release);
}

/* The committed protections of [addr, addr+size), run by run; NULL (with the error) when a
 * page is not committed private memory. */
static struct offered *record(uintptr_t addr, size_t size, DWORD *err)
{
    size_t cap = 8;
    struct offered *o = malloc(sizeof *o + cap * sizeof o->runs[0]);
    if (!o) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
        return NULL;
    }
    o->addr = addr;
    o->size = size;
    o->n = 0;
    for (uintptr_t a = addr; a < addr + size;) {
        MEMORY_BASIC_INFORMATION mbi;
        if (!VirtualQuery((LPCVOID)a, &mbi, sizeof mbi) || mbi.State != MEM_COMMIT ||
            mbi.Type != MEM_PRIVATE || (mbi.Protect & 0xff) == PAGE_NOACCESS ||
            (mbi.Protect & PAGE_GUARD)) {
            free(o);
            *err = ERROR_INVALID_PARAMETER;
            return NULL;
        }
        size_t len = (uintptr_t)mbi.BaseAddress + mbi.RegionSize - a;
        if (len > addr + size - a)
            len = addr + size - a;
        if (o->n == cap) {
            cap *= 2;
            struct offered *g = realloc(o, sizeof *o + cap * sizeof o->runs[0]);
            if (!g) {
                free(o);
                *err = ERROR_NOT_ENOUGH_MEMORY;
                return NULL;
            }
            o = g;
        }
        o->runs[o->n].len = len;
        o->runs[o->n].prot = mbi.Protect;
        o->n++;
        a += len;
    }
    return o;
}

/* Put the recorded protections back (best effort: they were the range's a moment ago). */
static void restore(const struct offered *o)
{
    uintptr_t a = o->addr;
    for (size_t i = 0; i < o->n; i++) {
        DWORD old;
        VirtualProtect((LPVOID)a, o->runs[i].len, o->runs[i].prot, &old);
        a += o->runs[i].len;
    }
}

WINMEM_API DWORD WINAPI OfferVirtualMemory(PVOID addr, SIZE_T size, OFFER_PRIORITY priority)
{
    WM_TRACE(OfferVirtualMemory, addr, size, priority);
    DWORD page = page_size(), err = ERROR_SUCCESS, old;
    uintptr_t a = (uintptr_t)addr;

    if (!addr || !size || (a | size) & (page - 1) || a + size < a)
        return ERROR_INVALID_PARAMETER;
    if (priority < VmOfferPriorityVeryLow || priority > VmOfferPriorityNormal)
        return ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&offers_lock);
    for (struct offered *o = offers; o; o = o->next)
        if (a < o->addr + o->size && o->addr < a + size)
            err = ERROR_INVALID_PARAMETER; /* offered already */
    struct offered *o = err ? NULL : record(a, size, &err);
    if (o) {
        /* Locked pages lose their lock, as Microsoft documents. */
        VirtualUnlock(addr, size);
        PVOID ra = addr;
        SIZE_T rs = size;
        NTSTATUS st =
            NtAllocateVirtualMemory(NtCurrentProcess(), &ra, 0, &rs, MEM_RESET, PAGE_NOACCESS);
        if (st || !VirtualProtect(addr, size, PAGE_NOACCESS, &old)) {
            err = st ? RtlNtStatusToDosError(st) : GetLastError();
            restore(o);
            free(o);
        } else {
            o->next = offers;
            offers = o;
        }
    }
    pthread_mutex_unlock(&offers_lock);
    return err;
}

WINMEM_API DWORD WINAPI ReclaimVirtualMemory(const void *addr, SIZE_T size)
{
    WM_TRACE(ReclaimVirtualMemory, addr, size);
    uintptr_t a = (uintptr_t)addr;
    struct offered **pp, *o = NULL;

    pthread_mutex_lock(&offers_lock);
    for (pp = &offers; *pp; pp = &(*pp)->next)
        if ((*pp)->addr == a && (*pp)->size == size) {
            o = *pp;
            *pp = o->next;
            break;
        }
    pthread_mutex_unlock(&offers_lock);
    if (!o)
        return ERROR_INVALID_PARAMETER; /* not a range offered as such */
    restore(o);
    free(o);
    /* MEM_RESET_UNDO: the contents are kept if the kernel did not drop a page meanwhile. */
    PVOID ra = (PVOID)addr;
    SIZE_T rs = size;
    NTSTATUS st =
        NtAllocateVirtualMemory(NtCurrentProcess(), &ra, 0, &rs, MEM_RESET_UNDO, PAGE_NOACCESS);
    if (st == STATUS_CONFLICTING_ADDRESSES)
        return ERROR_BUSY; /* some pages were discarded: the contents must be rewritten */
    return RtlNtStatusToDosError(st);
}

/*
 * localmem.c - LocalAlloc ... LocalHandle and their Global* twins: the 16-bit Windows memory
 * calls as 32/64-bit Windows keeps them, on the process heap.
 *
 * A fixed block is a heap block and its handle is its address.  A moveable block is reached
 * through a handle: the address of the second word of a 16-byte entry {flags, pointer} in a
 * table of 65,536 entries, so a handle is 8 modulo 16 and a heap block (16-byte aligned)
 * never looks like one.  The entry's flags word keeps Windows' layout, which programs and
 * test suites read through the handle: bit 0 in use, 1 moveable, 2 discardable, 3 discarded
 * (no memory behind it), 0x8000 GMEM_DDESHARE, bits 16-23 the lock count (it stops at 255).
 * A free entry's flags word holds the next free entry's address instead (16-byte aligned, so
 * bit 0 is clear) and its pointer is NULL.  The table is static: its untouched pages cost
 * nothing.
 *
 * Local and Global differ where Windows does (the heap tests of Windows-verified suites
 * record it): GlobalAlloc(GMEM_FIXED, 0) gets a 1-byte block, LocalAlloc a 0-byte one;
 * GlobalUnlock of anything but a moveable handle returns TRUE, LocalUnlock FALSE with
 * ERROR_NOT_LOCKED; GlobalReAlloc(GMEM_MODIFY | GMEM_MOVEABLE) makes a fixed block moveable,
 * LocalReAlloc leaves it fixed; a pointer that is no block is ERROR_NOACCESS to LocalFlags and
 * LocalHandle but ERROR_INVALID_HANDLE to their Global twins.
 */
#include "win32.h"
#include "rtl/trace.h"

#include <pthread.h>
#include <string.h>

#include "rtl/heap.h"

#define ENTRY_USED 0x1u
#define ENTRY_MOVEABLE 0x2u
#define ENTRY_DISCARDABLE 0x4u
#define ENTRY_DISCARDED 0x8u
#define ENTRY_DDESHARE 0x8000u
#define LOCK_SHIFT 16
#define LOCK_MAX 0xffu
#define TABLE_SIZE 0x10000

struct mem_entry {
    uintptr_t flags; /* ENTRY_* and the lock count; the next free entry when free */
    void *ptr;       /* the block; NULL when discarded or free */
};

static _Alignas(16) struct mem_entry table[TABLE_SIZE];
static size_t table_used;           /* entries ever handed out (a high-water mark) */
static struct mem_entry *free_head; /* freed entries, linked through flags */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork: the child must not inherit the lock held by another thread.  It is never held while
 * another lock is taken, but fork holds every lock at once, so it has its place in the order
 * mm/vmstate.c describes: registered at priority 103, after the memory manager's handler and
 * before the heaps' (default priority), so fork takes it after the heap locks. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&table_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&table_lock);
}

__attribute__((constructor(103))) static void localmem_register_fork(void)
{
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

static bool is_handle(const void *h)
{
    return ((uintptr_t)h & 15) == 8;
}

static HLOCAL handle_of(struct mem_entry *e)
{
    return &e->ptr;
}

/* The entry a handle names, when it is one in use; the caller holds table_lock. */
static struct mem_entry *entry_of_locked(const void *h)
{
    uintptr_t a = (uintptr_t)h - offsetof(struct mem_entry, ptr);
    uintptr_t lo = (uintptr_t)table;

    if (!is_handle(h) || a < lo || a >= lo + table_used * sizeof(struct mem_entry))
        return NULL;
    struct mem_entry *e = (struct mem_entry *)a;
    return (e->flags & ENTRY_USED) ? e : NULL;
}

static struct mem_entry *entry_new_locked(void)
{
    struct mem_entry *e = free_head;
    if (e) {
        free_head = (struct mem_entry *)(e->flags == (uintptr_t)&table[TABLE_SIZE] ? 0 : e->flags);
        return e;
    }
    if (table_used == TABLE_SIZE)
        return NULL;
    return &table[table_used++];
}

static void entry_free_locked(struct mem_entry *e)
{
    /* A free entry's flags hold the next free one; the end of the table ends the list, so the
     * word is never 0 (Windows' free entries read nonzero too). */
    e->flags = free_head ? (uintptr_t)free_head : (uintptr_t)&table[TABLE_SIZE];
    e->ptr = NULL;
    free_head = e;
}

static unsigned lock_count(const struct mem_entry *e)
{
    return (unsigned)(e->flags >> LOCK_SHIFT) & LOCK_MAX;
}

static HANDLE heap(void)
{
    return wm_heap_process();
}

/* A heap block of size bytes, or NULL with the last error set. */
static void *block_alloc(SIZE_T size, bool zero)
{
    void *p = NULL;
    NTSTATUS st = wm_heap_alloc(heap(), zero ? HEAP_ZERO_MEMORY : 0, size, &p);
    if (!NT_SUCCESS(st)) {
        wm_win32_status(st);
        return NULL;
    }
    return p;
}

/* ---- the calls, shared by the Local and Global forms ------------------------------------ */

/* Flags common to both families, in LMEM_* terms; the Global forms translate theirs. */
#define F_MOVEABLE 0x0002u
#define F_ZEROINIT 0x0040u
#define F_MODIFY 0x0080u
#define F_DISCARDABLE 0x0f00u
#define F_DDESHARE 0x10000u /* internal: GMEM_DDESHARE */

static HLOCAL mem_alloc(UINT flags, SIZE_T size, bool global)
{
    bool zero = flags & F_ZEROINIT;

    if (!(flags & F_MOVEABLE)) {
        /* Windows gives GlobalAlloc(GMEM_FIXED, 0) one byte, LocalAlloc none. */
        return block_alloc(global && !size ? 1 : size, zero);
    }
    void *p = NULL;
    if (size && !(p = block_alloc(size, zero)))
        return NULL;
    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_new_locked();
    if (e) {
        e->flags = ENTRY_USED | ENTRY_MOVEABLE | (size ? 0 : ENTRY_DISCARDED) |
                   ((flags & F_DISCARDABLE) ? ENTRY_DISCARDABLE : 0) |
                   ((flags & F_DDESHARE) ? ENTRY_DDESHARE : 0);
        e->ptr = p;
    }
    pthread_mutex_unlock(&table_lock);
    if (!e) {
        if (p)
            wm_heap_free(heap(), 0, p);
        wm_win32_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    return handle_of(e);
}

static HLOCAL mem_free(HLOCAL h)
{
    if (!h)
        return NULL;
    if (is_handle(h)) {
        pthread_mutex_lock(&table_lock);
        struct mem_entry *e = entry_of_locked(h);
        void *p = e ? e->ptr : NULL;
        if (e)
            entry_free_locked(e); /* freed even when locked, as Windows does */
        pthread_mutex_unlock(&table_lock);
        if (!e) {
            wm_win32_error(ERROR_INVALID_HANDLE);
            return h;
        }
        if (p)
            wm_heap_free(heap(), 0, p);
        return NULL;
    }
    if (!wm_heap_probe(heap(), h, NULL)) {
        wm_win32_error(ERROR_NOACCESS);
        return h;
    }
    NTSTATUS st = wm_heap_free(heap(), 0, h);
    if (!NT_SUCCESS(st)) {
        wm_win32_status(st);
        return h;
    }
    return NULL;
}

static LPVOID mem_lock(HLOCAL h, bool global)
{
    if (!is_handle(h)) {
        if (h && wm_heap_probe(heap(), h, NULL))
            return h;
        /* LocalLock refuses a pointer that is no block without a word; GlobalLock says why. */
        if (global)
            wm_win32_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_of_locked(h);
    void *p = e ? e->ptr : NULL;
    if (p && lock_count(e) < LOCK_MAX)
        e->flags += (uintptr_t)1 << LOCK_SHIFT;
    pthread_mutex_unlock(&table_lock);
    if (!e)
        wm_win32_error(ERROR_INVALID_HANDLE);
    else if (!p)
        wm_win32_error(ERROR_DISCARDED);
    return p;
}

static BOOL mem_unlock(HLOCAL h, bool global)
{
    if (!is_handle(h)) {
        if (global)
            return TRUE; /* a fixed block is never locked; Windows reports success */
        wm_win32_error(ERROR_NOT_LOCKED);
        return FALSE;
    }
    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_of_locked(h);
    unsigned count = e ? lock_count(e) : 0;
    if (count)
        e->flags -= (uintptr_t)1 << LOCK_SHIFT;
    pthread_mutex_unlock(&table_lock);
    if (!e) {
        /* GlobalUnlock of a stale handle returns TRUE, with the error set all the same. */
        wm_win32_error(ERROR_INVALID_HANDLE);
        return global;
    }
    if (!count) {
        wm_win32_error(ERROR_NOT_LOCKED);
        return FALSE;
    }
    if (count == 1) {
        wm_win32_error(ERROR_SUCCESS); /* unlocked now: FALSE, and the error says why */
        return FALSE;
    }
    return TRUE;
}

static SIZE_T mem_size(HLOCAL h)
{
    SIZE_T size = 0;

    if (!is_handle(h)) {
        if (h && wm_heap_probe(heap(), h, &size))
            return size;
        wm_win32_error(ERROR_INVALID_HANDLE);
        return 0;
    }
    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_of_locked(h);
    void *p = e ? e->ptr : NULL;
    pthread_mutex_unlock(&table_lock);
    /* Probed after the table's lock is dropped (the heap's locks are never taken under it):
     * a block a racing LocalFree gave back is simply no block any more. */
    if (p && !wm_heap_probe(heap(), p, &size))
        size = 0;
    if (!e)
        wm_win32_error(ERROR_INVALID_HANDLE);
    return size;
}

/* The flags word as LocalFlags reports it (GlobalFlags translates the discardable bit). */
static UINT mem_flags(HLOCAL h, bool global, bool *ok)
{
    *ok = true;
    if (!is_handle(h)) {
        if (h && wm_heap_probe(heap(), h, NULL))
            return 0; /* fixed: no lock count, no attributes */
        wm_win32_error(global ? ERROR_INVALID_HANDLE : ERROR_NOACCESS);
        *ok = false;
        return 0;
    }
    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_of_locked(h);
    uintptr_t f = e ? e->flags : 0;
    pthread_mutex_unlock(&table_lock);
    if (!e) {
        wm_win32_error(ERROR_INVALID_HANDLE);
        *ok = false;
        return 0;
    }
    UINT out = (UINT)((f >> LOCK_SHIFT) & LOCK_MAX);
    if (f & ENTRY_DISCARDED)
        out |= LMEM_DISCARDED;
    if (f & ENTRY_DISCARDABLE)
        out |= global ? GMEM_DISCARDABLE : LMEM_DISCARDABLE;
    if (global && (f & ENTRY_DDESHARE))
        out |= GMEM_DDESHARE;
    return out;
}

static HLOCAL mem_handle(LPCVOID p, bool global)
{
    if (!p || is_handle(p)) {
        pthread_mutex_lock(&table_lock);
        struct mem_entry *e = p ? entry_of_locked(p) : NULL;
        pthread_mutex_unlock(&table_lock);
        if (e)
            return (HLOCAL)p;
        wm_win32_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    /* A locked moveable block's address: its entry.  Rare enough for a walk of the entries
     * in use. */
    struct mem_entry *found = NULL;
    pthread_mutex_lock(&table_lock);
    for (size_t i = 0; i < table_used && !found; i++)
        if ((table[i].flags & ENTRY_USED) && table[i].ptr == p)
            found = &table[i];
    pthread_mutex_unlock(&table_lock);
    if (found)
        return handle_of(found);
    if (wm_heap_probe(heap(), p, NULL))
        return (HLOCAL)p; /* a fixed block is its own handle */
    wm_win32_error(global ? ERROR_INVALID_HANDLE : ERROR_NOACCESS);
    return NULL;
}

/* LocalReAlloc / GlobalReAlloc on a moveable handle. */
static HLOCAL realloc_moveable(HLOCAL h, SIZE_T size, UINT flags)
{
    ULONG hf = (flags & F_ZEROINIT) ? HEAP_ZERO_MEMORY : 0;

    pthread_mutex_lock(&table_lock);
    struct mem_entry *e = entry_of_locked(h);
    if (!e) {
        pthread_mutex_unlock(&table_lock);
        wm_win32_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    if (flags & F_MODIFY) {
        /* Attributes only: the size is ignored. */
        if (flags & F_DISCARDABLE)
            e->flags |= ENTRY_DISCARDABLE;
        pthread_mutex_unlock(&table_lock);
        return h;
    }
    bool locked = lock_count(e) != 0;
    void *old = e->ptr;
    DWORD err = ERROR_SUCCESS;
    if (flags & F_DISCARDABLE) {
        err = ERROR_INVALID_PARAMETER; /* Windows refuses a resize that asks for it */
    } else if (!size) {
        /* Discarding: only an unlocked block, and only when asked to move. */
        if (locked || !(flags & F_MOVEABLE)) {
            err = ERROR_INVALID_PARAMETER;
        } else {
            e->ptr = NULL;
            e->flags |= ENTRY_DISCARDED;
        }
    }
    pthread_mutex_unlock(&table_lock);
    if (err) {
        wm_win32_error(err);
        return NULL;
    }
    if (!size) {
        if (old)
            wm_heap_free(heap(), 0, old);
        return h;
    }

    /* Resizing happens outside the table's lock (the heap has its own); the program must not
     * free or resize the same handle on two threads at once, as on Windows. */
    void *p = NULL;
    NTSTATUS st;
    if (!old) {
        st = wm_heap_alloc(heap(), hf, size, &p);
    } else {
        /* A locked block stays where it is unless the caller lets it move. */
        if (locked && !(flags & F_MOVEABLE))
            hf |= HEAP_REALLOC_IN_PLACE_ONLY;
        st = wm_heap_realloc(heap(), hf, old, size, &p);
    }
    if (!NT_SUCCESS(st)) {
        wm_win32_status(st);
        return NULL;
    }
    pthread_mutex_lock(&table_lock);
    e->ptr = p;
    e->flags &= ~(uintptr_t)ENTRY_DISCARDED;
    pthread_mutex_unlock(&table_lock);
    return h;
}

static HLOCAL mem_realloc(HLOCAL h, SIZE_T size, UINT flags, bool global)
{
    if (!h) {
        wm_win32_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    if (is_handle(h))
        return realloc_moveable(h, size, flags);

    SIZE_T old_size;
    if (!wm_heap_probe(heap(), h, &old_size)) {
        wm_win32_error(ERROR_NOACCESS);
        return NULL;
    }
    if (flags & F_MODIFY) {
        if (!global || !(flags & F_MOVEABLE))
            return h; /* LocalReAlloc never makes a fixed block moveable */
        /* GlobalReAlloc does: the contents move to a new block behind a new handle (a 0-byte
         * block becomes a handle with no memory behind it). */
        HLOCAL nh = mem_alloc(F_MOVEABLE | (flags & (F_DISCARDABLE | F_DDESHARE)), old_size, false);
        if (!nh)
            return NULL;
        if (old_size)
            memcpy(((struct mem_entry *)((char *)nh - offsetof(struct mem_entry, ptr)))->ptr, h,
                   old_size);
        wm_heap_free(heap(), 0, h);
        return nh;
    }
    if (flags & F_DISCARDABLE) {
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    /* A fixed block moves only when the caller allows it. */
    ULONG hf = ((flags & F_ZEROINIT) ? HEAP_ZERO_MEMORY : 0) |
               ((flags & F_MOVEABLE) ? 0 : HEAP_REALLOC_IN_PLACE_ONLY);
    void *p = NULL;
    NTSTATUS st = wm_heap_realloc(heap(), hf, h, size, &p);
    if (!NT_SUCCESS(st)) {
        wm_win32_status(st);
        return NULL;
    }
    return p;
}

/* ---- Local* --------------------------------------------------------------------------------- */

#define LMEM_KNOWN (F_MOVEABLE | F_ZEROINIT | F_MODIFY | F_DISCARDABLE)

WINMEM_API HLOCAL WINAPI LocalAlloc(UINT flags, SIZE_T bytes)
{
    WM_TRACE(LocalAlloc, flags, bytes);
    return mem_alloc(flags & LMEM_KNOWN & ~F_MODIFY, bytes, false);
}

WINMEM_API HLOCAL WINAPI LocalReAlloc(HLOCAL mem, SIZE_T bytes, UINT flags)
{
    WM_TRACE(LocalReAlloc, mem, bytes, flags);
    return mem_realloc(mem, bytes, flags & LMEM_KNOWN, false);
}

WINMEM_API HLOCAL WINAPI LocalFree(HLOCAL mem)
{
    WM_TRACE(LocalFree, mem);
    return mem_free(mem);
}

WINMEM_API LPVOID WINAPI LocalLock(HLOCAL mem)
{
    WM_TRACE(LocalLock, mem);
    return mem_lock(mem, false);
}

WINMEM_API BOOL WINAPI LocalUnlock(HLOCAL mem)
{
    WM_TRACE(LocalUnlock, mem);
    return mem_unlock(mem, false);
}

WINMEM_API SIZE_T WINAPI LocalSize(HLOCAL mem)
{
    WM_TRACE(LocalSize, mem);
    return mem_size(mem);
}

WINMEM_API UINT WINAPI LocalFlags(HLOCAL mem)
{
    bool ok;
    UINT f = mem_flags(mem, false, &ok);
    return ok ? f : LMEM_INVALID_HANDLE;
}

WINMEM_API HLOCAL WINAPI LocalHandle(LPCVOID mem)
{
    WM_TRACE(LocalHandle, mem);
    return mem_handle(mem, false);
}

/* ---- Global*: the same calls with GMEM_* flags ------------------------------------------ */

static UINT from_gmem(UINT g)
{
    return (g & (GMEM_MOVEABLE | GMEM_ZEROINIT | GMEM_MODIFY)) |
           ((g & GMEM_DISCARDABLE) ? F_DISCARDABLE : 0) | ((g & GMEM_DDESHARE) ? F_DDESHARE : 0);
}

WINMEM_API HGLOBAL WINAPI GlobalAlloc(UINT flags, SIZE_T bytes)
{
    WM_TRACE(GlobalAlloc, flags, bytes);
    return mem_alloc(from_gmem(flags) & ~F_MODIFY, bytes, true);
}

WINMEM_API HGLOBAL WINAPI GlobalReAlloc(HGLOBAL mem, SIZE_T bytes, UINT flags)
{
    WM_TRACE(GlobalReAlloc, mem, bytes, flags);
    return mem_realloc(mem, bytes, from_gmem(flags), true);
}

WINMEM_API HGLOBAL WINAPI GlobalFree(HGLOBAL mem)
{
    WM_TRACE(GlobalFree, mem);
    return mem_free(mem);
}

WINMEM_API LPVOID WINAPI GlobalLock(HGLOBAL mem)
{
    WM_TRACE(GlobalLock, mem);
    return mem_lock(mem, true);
}

WINMEM_API BOOL WINAPI GlobalUnlock(HGLOBAL mem)
{
    WM_TRACE(GlobalUnlock, mem);
    return mem_unlock(mem, true);
}

WINMEM_API SIZE_T WINAPI GlobalSize(HGLOBAL mem)
{
    WM_TRACE(GlobalSize, mem);
    return mem_size(mem);
}

WINMEM_API UINT WINAPI GlobalFlags(HGLOBAL mem)
{
    bool ok;
    UINT f = mem_flags(mem, true, &ok);
    return ok ? f : GMEM_INVALID_HANDLE;
}

WINMEM_API HGLOBAL WINAPI GlobalHandle(LPCVOID mem)
{
    WM_TRACE(GlobalHandle, mem);
    return mem_handle(mem, true);
}

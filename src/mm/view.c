/*
 * view.c - NtMapViewOfSection / NtUnmapViewOfSection and the flush of a view: views are
 * regions of type MEM_MAPPED in the same model as private memory, holding a reference to
 * their section.
 *
 * A view is mapped MAP_SHARED, except a copy-on-write view (PAGE_WRITECOPY /
 * PAGE_EXECUTE_WRITECOPY), which is MAP_PRIVATE and read-only in the kernel until a page is
 * first written: the fault path (fault.c) then makes that page writable, the kernel copies
 * it, and the model records PAGE_READWRITE for that page alone, as Windows reports it.
 */
#include "mm.h"
#include "rtl/trace.h"

#include "ntddk.h"

struct mirror {
    struct wm_region *view;
    uint64_t offset; /* the view's offset in the section */
    int rc;
};

static int mirror_run(void *ctx, const struct wm_region *commit, size_t off, size_t len,
                      const struct wm_run *run)
{
    struct mirror *m = ctx;
    size_t voff = off - m->offset;

    (void)commit;
    if (run->state == WM_STATE_COMMITTED)
        return 0;
    m->rc = wm_os_protect(m->view->base + voff, len, 0);
    if (m->rc == 0)
        wm_region_set(m->view, voff, len, WM_STATE_RESERVED, 0, 0, 0);
    return m->rc;
}

/* A new view of a SEC_RESERVE section shows the section's reserved pages as reserved
 * (Protect 0, no access); the committed ones with the view's protection. */
static NTSTATUS mirror_commit_locked(struct wm_section *s, struct wm_region *r, uint64_t offset)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct mirror m = { r, offset, 0 };
    uint32_t n;
    n = wm_region_count_runs(s->commit, offset, r->size);
    if (wm_region_reserve_runs_n(r, 2 * n + 2))
        return STATUS_NO_MEMORY;
    wm_region_walk(s->commit, offset, r->size, mirror_run, &m);
    return wm_status_from_errno(m.rc, WM_ERRNO_MEMORY);
}

/* What a commit does to one reserved piece of another view of the section. */
enum piece_op {
    PIECE_RESERVE, /* make model room for the pieces of this view (once per view) */
    PIECE_COMMIT,  /* give the piece its view's protection in the kernel */
    PIECE_UNDO,    /* take it back (the first `limit` pieces committed before a failure) */
    PIECE_RECORD,  /* the whole commit succeeded: record the piece as committed */
};

struct pieces {
    enum piece_op op;
    uint32_t done, limit; /* PIECE_COMMIT counts pieces changed, PIECE_UNDO stops at limit */
    int rc;
};

/* The protection a view gives pages another view commits. */
static uint32_t view_commit_prot(const struct wm_region *v)
{
    return wm_prot_effective(v->alloc_prot, v->alloc_prot);
}

static int do_piece(struct pieces *p, struct wm_region *v, size_t voff, size_t len)
{
    uint32_t vp = view_commit_prot(v);

    switch (p->op) {
    case PIECE_COMMIT:
        p->rc = wm_os_protect(v->base + voff, len, wm_prot_access(vp));
        p->done += p->rc == 0;
        return p->rc;
    case PIECE_UNDO:
        if (p->done == p->limit)
            return 1;
        p->done++;
        /* If the kernel will not take the access back, the model says what the kernel has. */
        if (wm_os_protect(v->base + voff, len, 0) == 0)
            return 0;
        /* fall through */
    case PIECE_RECORD:
        wm_region_set(v, voff, len, WM_STATE_COMMITTED, vp, WM_RUN_LOCKED, 0);
        wm_space_refresh(&wm_vm.space, v);
        return 0;
    default:
        return 0;
    }
}

/* Run op over every reserved piece, in address order, of the views of s other than asker
 * within section range [soff, soff+len).  The order depends only on the model, which no op
 * but PIECE_RECORD (and a failed undo) changes, so an undo retraces the commit exactly. */
static int each_piece(struct wm_section *s, const struct wm_region *asker, uint64_t soff,
                      size_t len, struct pieces *p)
{
    for (struct wm_region *v = wm_space_next(&wm_vm.space, 0); v;
         v = wm_space_next(&wm_vm.space, v->base)) {
        if (!(v->flags & WM_REGION_VIEW) || v->ext->object != s || v == asker)
            continue;
        uint64_t lo = soff > v->ext->offset ? soff : v->ext->offset;
        uint64_t hi = soff + len < v->ext->offset + v->size ? soff + len : v->ext->offset + v->size;
        if (lo >= hi)
            continue;
        if (p->op == PIECE_RESERVE) {
            uint32_t n;
            n = wm_region_count_runs(v, lo - v->ext->offset, hi - lo);
            if (wm_region_reserve_runs_n(v, 2 * n + 2))
                return -1;
            continue;
        }
        for (uint64_t pos = lo; pos < hi;) {
            size_t voff = pos - v->ext->offset;
            uint32_t i = wm_region_run_index(v, voff);
            size_t end = wm_region_run_end(v, i);
            if (end > hi - v->ext->offset)
                end = hi - v->ext->offset;
            if (v->runs[i].state == WM_STATE_RESERVED) {
                int rc = do_piece(p, v, voff, end - voff);
                if (rc)
                    return rc;
            }
            pos = v->ext->offset + end;
        }
    }
    return 0;
}

/* What a commit of `prot` gives one of the asker's runs: a page already written while
 * copy-on-write keeps its copy, and so its read-write protection (as VirtualProtect does). */
static uint32_t asker_prot(const struct wm_run *run, uint32_t prot)
{
    return (run->flags & WM_RUN_COPIED) ? wm_prot_written(prot) : prot;
}

/* The asker's own pages: one mprotect, or one per run when some keep a copy. */
static int protect_asker(const struct wm_region *r, size_t off, size_t len, uint32_t prot)
{
    if (!wm_prot_is_cow(prot) || !wm_protect_any_copied(r, off, len))
        return wm_os_protect(r->base + off, len, wm_prot_access(prot));
    for (size_t pos = off; pos < off + len;) {
        uint32_t i = wm_region_run_index(r, pos);
        size_t end = wm_region_run_end(r, i) < off + len ? wm_region_run_end(r, i) : off + len;
        int rc =
            wm_os_protect(r->base + pos, end - pos, wm_prot_access(asker_prot(&r->runs[i], prot)));
        if (rc)
            return rc;
        pos = end;
    }
    return 0;
}

/* Record the asker's pages [off, off+len) as committed with prot (or, for a run that keeps
 * its copy, prot as written).  Room was reserved by the caller. */
static void record_asker(struct wm_region *r, size_t off, size_t len, uint32_t prot)
{
    for (size_t pos = off; pos < off + len;) {
        uint32_t i = wm_region_run_index(r, pos);
        size_t end = wm_region_run_end(r, i) < off + len ? wm_region_run_end(r, i) : off + len;
        uint32_t p = asker_prot(&r->runs[i], prot);
        /* Committed pages keep their data and a VirtualLock. */
        wm_region_set(r, pos, end - pos, WM_STATE_COMMITTED, p, WM_RUN_LOCKED | WM_RUN_COPIED, 0);
        pos = end;
    }
    wm_space_refresh(&wm_vm.space, r);
}

/* Put the asker's pages [off, off+len) back to the access their runs record, after its own
 * protection change failed (maybe part way).  A run the kernel will not restore is given the
 * new protection instead and recorded with it, so model and kernel agree either way. */
static void restore_asker(struct wm_region *r, size_t off, size_t len, uint32_t prot)
{
    for (size_t pos = off; pos < off + len;) {
        uint32_t i = wm_region_run_index(r, pos);
        size_t end = wm_region_run_end(r, i) < off + len ? wm_region_run_end(r, i) : off + len;
        const struct wm_run *run = &r->runs[i];
        unsigned acc = run->state == WM_STATE_COMMITTED ? wm_prot_access(run->prot) : 0;
        if (wm_os_protect(r->base + pos, end - pos, acc) != 0 &&
            wm_os_protect(r->base + pos, end - pos, wm_prot_access(asker_prot(run, prot))) == 0)
            record_asker(r, pos, end - pos, prot);
        pos = end;
    }
}

/* MEM_COMMIT of the asker's pages [off, off+len) in a view of a SEC_RESERVE section: the
 * section's pages become committed in every view, the asker's with `prot`, the others' with
 * their own view protection.  All or nothing: the model's room is reserved before the first
 * system call, and a refusal takes back every protection already changed. */
NTSTATUS wm_view_commit_locked(struct wm_region *asker, size_t off, size_t len, uint32_t prot)
{
    WM_ASSERT(wm_vmstate_write_held());
    struct wm_section *s = asker->ext->object;
    uint64_t soff = asker->ext->offset + off;
    struct pieces p = { PIECE_RESERVE, 0, 0, 0 };
    uint32_t n;
    n = wm_region_count_runs(asker, off, len);
    if (wm_region_reserve_runs(s->commit) || wm_region_reserve_runs_n(asker, 2 * n + 2) ||
        each_piece(s, asker, soff, len, &p))
        return STATUS_NO_MEMORY;

    prot = wm_prot_effective(asker->alloc_prot, prot);
    p.op = PIECE_COMMIT;
    if (each_piece(s, asker, soff, len, &p) == 0) {
        p.rc = protect_asker(asker, off, len, prot);
        if (p.rc)
            restore_asker(asker, off, len, prot);
    }
    if (p.rc) {
        int rc = p.rc;
        p = (struct pieces){ PIECE_UNDO, 0, p.done, 0 };
        each_piece(s, asker, soff, len, &p);
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    }

    p.op = PIECE_RECORD;
    each_piece(s, asker, soff, len, &p);
    record_asker(asker, off, len, prot);
    wm_region_set(s->commit, soff, len, WM_STATE_COMMITTED, s->prot, 0, 0);
    return STATUS_SUCCESS;
}

struct view_claim {
    unsigned acc;
    int fd;
    uint64_t offset;
    bool shared;
};

/* Placement's claim for a view: the section's file at the chosen address. */
static int claim_view(void *ctx, uintptr_t addr, size_t len, bool over)
{
    const struct view_claim *c = ctx;

    return wm_os_map_file(addr, len, c->acc, c->fd, c->offset, c->shared, over);
}

/* NtMapViewOfSection's arguments in the order Windows checks them; *size becomes the view's
 * size and *limit the highest address ZeroBits allows (0: none). */
static NTSTATUS check_view(const struct wm_section *s, ACCESS_MASK access, ULONG_PTR zero_bits,
                           uintptr_t want, uint64_t offset, size_t *size, ULONG prot,
                           uintptr_t *limit, bool replace)
{
    bool bad_bits;

    /* ZeroBits first: a bad value, or an address above its limit, wins over a misaligned
     * offset or address. */
    *limit = wm_place_zero_bits_limit(zero_bits, &bad_bits);
    if (bad_bits || (want && *limit && want > *limit))
        return STATUS_INVALID_PARAMETER_4;
    if (!wm_prot_view_valid(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    uint32_t need = wm_prot_view_rights(prot);
    if ((need & access) != need)
        return STATUS_ACCESS_DENIED;
    /* The handle may allow what the section does not (a duplicate with wider rights). */
    if (need & ~s->max)
        return STATUS_SECTION_PROTECTION;
    /* A view replacing a placeholder goes where the placeholder is, which may start on any
     * page: then the offset too need only be page aligned. */
    uintptr_t align = replace ? wm_vm.page : WM_GRANULARITY;
    if (offset % align || want % align)
        return STATUS_MAPPED_ALIGNMENT;
    if (want && (want < WM_MIN_ADDRESS || want > WM_MAX_ADDRESS))
        return STATUS_INVALID_PARAMETER_3;
    if (offset >= s->size || *size > s->size - offset)
        return STATUS_INVALID_VIEW_SIZE;
    if (*size == 0)
        *size = s->size - offset;
    *size = (*size + wm_vm.page - 1) & ~(size_t)(wm_vm.page - 1);
    return STATUS_SUCCESS;
}

/* Map the view r describes (size, protection, section, offset) at want, or where placement
 * puts it, and enter it in the model.  On failure nothing is mapped or entered.  Caller
 * holds the write lock (dropped meanwhile when the mmap is made outside it). */
/* MEM_REPLACE_PLACEHOLDER: the view r goes exactly over the placeholder at want, mapped over
 * it and taking its place in the index.  On failure the placeholder is as it was. */
static NTSTATUS replace_locked(struct wm_section *s, struct wm_region *r, uintptr_t want)
{
    struct wm_region *ph = wm_space_find_sigsafe(&wm_vm.space, want);
    uint64_t at = s->data_off + r->ext->offset;
    NTSTATUS st;

    if (!ph || !(ph->flags & WM_REGION_PLACEHOLDER) || ph->base != want || ph->size != r->size)
        return STATUS_CONFLICTING_ADDRESSES;
    int rc = wm_os_map_file(want, r->size, wm_prot_access(r->alloc_prot), s->fd, at,
                            !(r->flags & WM_REGION_VIEW_PRIVATE), true);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    r->base = want;
    r->flags |= WM_REGION_REPLACED;
    if (s->commit && (st = mirror_commit_locked(s, r, r->ext->offset))) {
        wm_os_decommit(want, r->size); /* the placeholder's fresh PROT_NONE range again */
        return st;
    }
    wm_space_swap(&wm_vm.space, ph, r);
    wm_region_free(ph);
    return STATUS_SUCCESS;
}

static NTSTATUS map_view_locked(struct wm_section *s, struct wm_region *r, uintptr_t want,
                                uintptr_t limit, bool top_down)
{
    WM_ASSERT(wm_vmstate_write_held());
    bool cow = r->flags & WM_REGION_VIEW_PRIVATE;
    unsigned acc = wm_prot_access(r->alloc_prot);
    uint64_t at = s->data_off + r->ext->offset;
    uintptr_t base = want;
    NTSTATUS st;

    if (want && wm_space_overlaps(&wm_vm.space, want, r->size))
        return STATUS_CONFLICTING_ADDRESSES;
    /* A view of a SEC_RESERVE section mirrors the section's commits, which other views'
     * commits change: it is mapped under the lock. */
    uintptr_t refused = 0;
    struct view_claim vc = { acc, s->fd, at, !cow };
    if (!s->commit && !top_down && wm_vmstate_busy_allowed_locked()) {
        bool declined;
        r->base = want;
        st = wm_place_outside_locked(r, want, limit, claim_view, &vc, &declined, &refused);
        if (!declined)
            return st;
    }
    /* The kernel's choice or its map of mappings may name a range another thread has
     * unmapped but not yet removed from the model: let every claim settle first. */
    if (!want)
        wm_vmstate_quiesce_locked();
    if (want) {
        st = wm_status_from_errno(wm_os_map_file(want, r->size, acc, s->fd, at, !cow, false),
                                  WM_ERRNO_MEMORY);
    } else {
        st = wm_place_locked(r->size, limit, top_down, refused, claim_view, &vc, &base);
    }
    if (st)
        return st;
    r->base = base;
    if (s->commit)
        st = mirror_commit_locked(s, r, r->ext->offset);
    if (!st && wm_space_insert(&wm_vm.space, r))
        st = STATUS_NO_MEMORY;
    if (st) {
        wm_os_unmap(base, r->size);
        wm_place_freed_locked(base);
    }
    return st;
}

/* NtMapViewOfSection: map [offset, offset+size) of a section into the current process.
 * Steps: the arguments, the region, the mapping; the outputs only once it all worked. */
WINMEM_API NTSTATUS NTAPI NtMapViewOfSection(HANDLE section, HANDLE process, PVOID *base_ptr,
                                             ULONG_PTR zero_bits, SIZE_T commit,
                                             PLARGE_INTEGER offset_ptr, PSIZE_T size_ptr,
                                             SECTION_INHERIT inherit, ULONG type, ULONG prot)
{
    WM_TRACE(NtMapViewOfSection, section, process, base_ptr, zero_bits, commit, offset_ptr,
             size_ptr, inherit, type, prot);
    return wm_map_view(section, process, base_ptr, zero_bits, offset_ptr, size_ptr, type, prot,
                       false);
}

NTSTATUS wm_map_view(HANDLE section, HANDLE process, PVOID *base_ptr, ULONG_PTR zero_bits,
                     PLARGE_INTEGER offset_ptr, PSIZE_T size_ptr, ULONG type, ULONG prot, bool ex)
{
    struct wm_section *s;
    ACCESS_MASK access;
    NTSTATUS st = wm_vmstate_check_process(process);
    uintptr_t limit;
    bool replace = type & MEM_REPLACE_PLACEHOLDER;

    if (st)
        return st;
    /* Only the Ex call replaces placeholders, and always at an address. */
    if (replace && !ex)
        return STATUS_INVALID_PARAMETER;
    uintptr_t want;
    size_t size;
    LARGE_INTEGER off = { .QuadPart = 0 };
    if ((st = wm_vmstate_args_in(base_ptr, size_ptr, &want, &size)) ||
        (offset_ptr && wm_os_copy(&off, offset_ptr, sizeof(off))))
        return STATUS_ACCESS_VIOLATION;
    uint64_t offset = (uint64_t)off.QuadPart;
    if (replace && !want)
        return STATUS_INVALID_PARAMETER;
    wm_vmstate_init();
    if ((st = wm_handle_get(section, WM_OBJ_SECTION, (struct wm_object **)&s, &access)))
        return st;
    if ((st = check_view(s, access, zero_bits, want, offset, &size, prot, &limit, replace)))
        goto out;

    bool cow = (prot == PAGE_WRITECOPY || prot == PAGE_EXECUTE_WRITECOPY);
    uint32_t view_prot = prot;
    if (prot != PAGE_NOACCESS)
        view_prot |= (s->attrs & SEC_NOCACHE ? PAGE_NOCACHE : 0) |
                     (s->attrs & SEC_WRITECOMBINE ? PAGE_WRITECOMBINE : 0);
    /* The model's memory (vm/arena.c) is the VM lock's: take it before the region exists. */
    if (want)
        wm_vmstate_wrlock_range(want, want + size < want ? UINTPTR_MAX : want + size);
    else
        wm_vmstate_wrlock();
    struct wm_region *r =
        wm_region_new(0, size, view_prot, MEM_MAPPED, WM_STATE_COMMITTED, view_prot);
    if (!r || wm_region_view(r, s, offset, cow)) {
        wm_region_free(r);
        st = STATUS_NO_MEMORY;
    } else {
        if ((st = replace ? replace_locked(s, r, want)
                          : map_view_locked(s, r, want, limit, type & MEM_TOP_DOWN)))
            wm_region_free(r); /* before unlocking, like every arena call */
        else
            want = r->base; /* read now: once unlocked, another thread may unmap it */
        if (!st)
            wm_cfg_commit_locked(want, size, view_prot);
    }
    wm_vmstate_wrunlock();
    if (st)
        goto out;
    wm_object_ref(&s->obj); /* the view's reference */
    wm_vmstate_args_out(base_ptr, size_ptr, want, size);
out:
    wm_object_release(&s->obj);
    return st;
}

/* MEM_PRESERVE_PLACEHOLDER: the view r, which replaced a placeholder, becomes one again: a
 * fresh PROT_NONE range mapped over it, and a placeholder region in its place in the index.
 * On failure r is as it was.  Caller holds the write lock. */
static NTSTATUS preserve_locked(struct wm_region *r)
{
    if (!(r->flags & WM_REGION_REPLACED))
        return STATUS_CONFLICTING_ADDRESSES;
    struct wm_region *ph =
        wm_region_new(r->base, r->size, PAGE_NOACCESS, MEM_PRIVATE, WM_STATE_RESERVED, 0);
    if (!ph)
        return STATUS_NO_MEMORY;
    ph->flags = WM_REGION_PLACEHOLDER;
    int rc = wm_os_decommit(r->base, r->size);
    if (rc) {
        wm_region_free(ph);
        return wm_status_from_errno(rc, WM_ERRNO_MEMORY);
    }
    wm_space_swap(&wm_vm.space, r, ph);
    wm_cfg_release_locked(r->base, r->size);
    return STATUS_SUCCESS;
}

/* One attempt at NtUnmapViewOfSection (preserve: NtUnmapViewOfSectionEx's
 * MEM_PRESERVE_PLACEHOLDER). */
static NTSTATUS unmap_once(HANDLE process, PVOID addr, bool preserve)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    struct wm_section *s = NULL;

    if (st)
        return st;
    wm_secure_clear_refusal();
    wm_vmstate_init();
    /* An unmap racing another unmap of the same view waits for it, then finds it gone. */
    wm_vmstate_wrlock_range((uintptr_t)addr, (uintptr_t)addr + 1);
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, (uintptr_t)addr);
    if (!r || !(r->flags & WM_REGION_VIEW)) {
        st = STATUS_NOT_MAPPED_VIEW;
        goto out_unlock;
    }
    st = wm_secure_check_free_locked(r->base, r->base + r->size);
    if (st)
        goto out_unlock;
    st =
        preserve ? preserve_locked(r) : wm_status_from_errno(wm_release_locked(r), WM_ERRNO_MEMORY);
    if (st)
        goto out_unlock;
    s = r->ext->object;
    wm_region_free(r);
out_unlock:
    wm_vmstate_wrunlock();
    if (s)
        wm_object_release(&s->obj);
    return st;
}

/* NtUnmapViewOfSection: any address inside a view unmaps the whole view.  A secured view is
 * refused, the secure memory cache callbacks run on the whole view, and the unmap is tried
 * once more (secure.c). */
static NTSTATUS unmap(HANDLE process, PVOID addr, bool preserve)
{
    NTSTATUS st = unmap_once(process, addr, preserve);

    if (st == STATUS_INVALID_PAGE_PROTECTION) {
        size_t size = 0;
        void *base = wm_view_bounds((uintptr_t)addr, &size);
        if (base && wm_secure_flush_refused(st, (uintptr_t)base, size))
            st = unmap_once(process, addr, preserve);
        wm_secure_clear_refusal();
    }
    return st;
}

WINMEM_API NTSTATUS NTAPI NtUnmapViewOfSection(HANDLE process, PVOID addr)
{
    WM_TRACE(NtUnmapViewOfSection, process, addr);
    return unmap(process, addr, false);
}

NTSTATUS wm_unmap_view_preserve(HANDLE process, PVOID addr)
{
    return unmap(process, addr, true);
}

NTSTATUS wm_view_flush(uintptr_t addr, size_t size)
{
    uintptr_t start, end;
    NTSTATUS st = STATUS_SUCCESS;

    wm_vmstate_init();
    /* Not while the view is being unmapped: msync could reach whatever is mapped there next. */
    wm_vmstate_rdlock_range(addr, addr + 1);
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, addr);
    if (!r || !(r->flags & WM_REGION_VIEW)) {
        st = STATUS_NOT_MAPPED_VIEW;
    } else {
        /* Size 0 (or past the view) flushes to the end of the view. */
        if (!wm_vmstate_page_range(addr, size, &start, &end) || size == 0 ||
            end > r->base + r->size)
            end = r->base + r->size;
        if (!(r->flags & WM_REGION_VIEW_PRIVATE))
            st = wm_status_from_errno(wm_os_msync(start, end - start), WM_ERRNO_MEMORY);
    }
    wm_vmstate_rdunlock();
    return st;
}

void *wm_view_bounds(uintptr_t addr, size_t *size)
{
    void *base = NULL;

    wm_vmstate_rdlock_range(addr, addr + 1);
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, addr);
    if (r && (r->flags & WM_REGION_VIEW)) {
        base = (void *)r->base;
        *size = r->size;
    }
    wm_vmstate_rdunlock();
    return base;
}

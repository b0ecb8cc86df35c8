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
#include "nt.h"

#include "ntddk.h"

/* VirtualProtect inside a view stays within the view's access class (Windows' rule):
 * WRITECOPY counts as read-only, so a copy-on-write view cannot become read-write. */
unsigned wm_view_class(uint32_t prot)
{
    switch (prot & WM_PAGE_BASE_MASK) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        return WM_ACC_R;
    case PAGE_READWRITE:
        return WM_ACC_R | WM_ACC_W;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return WM_ACC_R | WM_ACC_X;
    case PAGE_EXECUTE_READWRITE:
        return WM_ACC_R | WM_ACC_W | WM_ACC_X;
    default:
        return 0;
    }
}

/* A view may also be mapped with no access (FILE_MAP_* asking for nothing). */
static bool valid_view_prot(uint32_t prot)
{
    return prot == PAGE_NOACCESS || wm_section_prot_valid(prot);
}

/* NtMapViewOfSection: map [offset, offset+size) of a section into the current process. */
WINMEM_API NTSTATUS NTAPI NtMapViewOfSection(HANDLE section, HANDLE process, PVOID *base_ptr,
                                             ULONG_PTR zero_bits, SIZE_T commit,
                                             PLARGE_INTEGER offset_ptr, PSIZE_T size_ptr,
                                             SECTION_INHERIT inherit, ULONG type, ULONG prot)
{
    struct wm_section *s;
    ACCESS_MASK access;
    NTSTATUS st = wm_vmstate_check_process(process);
    uintptr_t want, base = 0;
    uint64_t offset;
    size_t size;

    (void)zero_bits, (void)commit, (void)inherit, (void)type;
    if (st)
        return st;
    if (!base_ptr || !size_ptr)
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    st = wm_handle_get(section, WM_OBJ_SECTION, (struct wm_object **)&s, &access);
    if (st)
        return st;
    want = (uintptr_t)*base_ptr;
    size = *size_ptr;
    offset = offset_ptr ? (uint64_t)offset_ptr->QuadPart : 0;

    if (!valid_view_prot(prot)) {
        st = STATUS_INVALID_PAGE_PROTECTION;
        goto out;
    }
    if ((wm_section_rights_for(prot) & access) != wm_section_rights_for(prot)) {
        st = STATUS_ACCESS_DENIED;
        goto out;
    }
    /* The handle may allow what the section does not (a duplicate with wider rights). */
    if (wm_section_rights_for(prot) & ~s->max) {
        st = STATUS_SECTION_PROTECTION;
        goto out;
    }
    if (offset % WM_GRANULARITY || want % WM_GRANULARITY) {
        st = STATUS_MAPPED_ALIGNMENT;
        goto out;
    }
    if (want && (want < WM_MIN_ADDRESS || want > WM_MAX_ADDRESS)) {
        st = STATUS_INVALID_PARAMETER_3;
        goto out;
    }
    if (offset >= s->size || size > s->size - offset) {
        st = STATUS_INVALID_VIEW_SIZE;
        goto out;
    }
    if (size == 0)
        size = s->size - offset;
    size = (size + wm_vm.page - 1) & ~(size_t)(wm_vm.page - 1);

    bool cow = (prot == PAGE_WRITECOPY || prot == PAGE_EXECUTE_WRITECOPY);
    uint32_t view_prot = prot | (s->attrs & SEC_NOCACHE ? PAGE_NOCACHE : 0) |
                         (s->attrs & SEC_WRITECOMBINE ? PAGE_WRITECOMBINE : 0);
    if (prot == PAGE_NOACCESS)
        view_prot = prot;
    struct wm_region *r =
        wm_region_new(0, size, view_prot, MEM_MAPPED, WM_STATE_COMMITTED, view_prot);
    if (!r) {
        st = STATUS_NO_MEMORY;
        goto out;
    }
    wm_vmstate_wrlock();
    if (want && wm_space_overlaps(&wm_vm.space, want, size)) {
        st = STATUS_CONFLICTING_ADDRESSES;
    } else {
        st = wm_alloc_address_locked(want, size, &base);
        if (st == STATUS_SUCCESS) {
            int rc = wm_os_map_file(base, size, wm_prot_access(view_prot), s->fd, offset, !cow);
            st = wm_status_from_errno(rc);
            if (st == STATUS_SUCCESS) {
                r->base = base;
                r->object = s;
                r->offset = offset;
                r->flags |= WM_REGION_VIEW | (cow ? WM_REGION_VIEW_PRIVATE : 0);
                if (wm_space_insert(&wm_vm.space, r))
                    st = STATUS_NO_MEMORY;
            }
            if (st)
                wm_os_unmap(base, size);
        }
    }
    wm_vmstate_wrunlock();
    if (st) {
        wm_region_free(r);
        goto out;
    }
    wm_object_ref(&s->obj); /* the view's reference */
    *base_ptr = (PVOID)base;
    *size_ptr = size;
out:
    wm_object_release(&s->obj);
    return st;
}

/* NtUnmapViewOfSection: any address inside a view unmaps the whole view. */
WINMEM_API NTSTATUS NTAPI NtUnmapViewOfSection(HANDLE process, PVOID addr)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    struct wm_section *s = NULL;

    if (st)
        return st;
    wm_secure_clear_refusal();
    wm_vmstate_init();
    wm_vmstate_wrlock();
    struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, (uintptr_t)addr);
    if (!r || !(r->flags & WM_REGION_VIEW)) {
        st = STATUS_NOT_MAPPED_VIEW;
        goto out_unlock;
    }
    st = wm_secure_check_free_locked(r->base, r->base + r->size);
    if (st)
        goto out_unlock;
    st = wm_status_from_errno(wm_os_unmap(r->base, r->size));
    if (st)
        goto out_unlock;
    wm_space_remove(&wm_vm.space, r);
    s = r->object;
    wm_region_free(r);
out_unlock:
    wm_vmstate_wrunlock();
    if (s)
        wm_object_release(&s->obj);
    return st;
}

NTSTATUS wm_view_flush(uintptr_t addr, size_t size)
{
    uintptr_t start, end;
    NTSTATUS st = STATUS_SUCCESS;

    wm_vmstate_init();
    wm_vmstate_rdlock();
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, addr);
    if (!r || !(r->flags & WM_REGION_VIEW)) {
        st = STATUS_NOT_MAPPED_VIEW;
    } else {
        /* Size 0 (or past the view) flushes to the end of the view. */
        if (!wm_vmstate_page_range(addr, size, &start, &end) || size == 0 ||
            end > r->base + r->size)
            end = r->base + r->size;
        if (!(r->flags & WM_REGION_VIEW_PRIVATE))
            st = wm_status_from_errno(wm_os_msync(start, end - start));
    }
    wm_vmstate_rdunlock();
    return st;
}

void *wm_view_section_size(uintptr_t addr, size_t *size)
{
    void *base = NULL;

    wm_vmstate_rdlock();
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, addr);
    if (r && (r->flags & WM_REGION_VIEW)) {
        base = (void *)r->base;
        *size = r->size;
    }
    wm_vmstate_rdunlock();
    return base;
}

/*
 * secinfo.c - NtQuerySection (SectionBasicInformation; SectionImageInformation's refusal,
 * winmem having no image sections) and NtAreMappedFilesTheSame.
 *
 * Windows decides NtAreMappedFilesTheSame by what the first address is: a view of an
 * executable image is "the same" as any mapping of that file; a data view only as itself
 * (two views of one data section are not, recorded on Windows).  winmem makes no image views,
 * so the first rule applies to executables and libraries Linux mapped, compared by device and
 * inode with the second address's file.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <string.h>

WINMEM_API NTSTATUS NTAPI NtQuerySection(HANDLE handle, SECTION_INFORMATION_CLASS cls, PVOID info,
                                         SIZE_T len, PSIZE_T ret_len)
{
    WM_TRACE(NtQuerySection, handle, cls, info, len, ret_len);
    if (cls == SectionBasicInformation && len < sizeof(SECTION_BASIC_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    if (cls != SectionBasicInformation && cls != SectionImageInformation)
        return STATUS_INVALID_INFO_CLASS;

    struct wm_section *s;
    ACCESS_MASK access;
    NTSTATUS st = wm_handle_get(handle, WM_OBJ_SECTION, (struct wm_object **)&s, &access);
    if (st)
        return st;
    if (!(access & SECTION_QUERY)) {
        st = STATUS_ACCESS_DENIED;
    } else if (cls == SectionImageInformation) {
        st = STATUS_SECTION_NOT_IMAGE;
    } else {
        SECTION_BASIC_INFORMATION b;
        memset(&b, 0, sizeof b);
        b.BaseAddress = NULL; /* based sections do not exist on 64-bit Windows */
        b.AllocationAttributes = s->attrs;
        b.MaximumSize.QuadPart = (LONGLONG)s->size;
        SIZE_T n = sizeof b;
        if (!info || wm_os_copy(info, &b, sizeof b) ||
            (ret_len && wm_os_copy(ret_len, &n, sizeof n)))
            st = STATUS_ACCESS_VIOLATION;
    }
    wm_object_release(&s->obj);
    return st;
}

/* What is mapped at an address, as NtAreMappedFilesTheSame sees it. */
struct mapped {
    enum { M_FREE, M_PRIVATE, M_VIEW, M_FILE } kind;
    uintptr_t alloc; /* the allocation's base (a view's, or Linux's mapping group) */
    bool image;      /* memory winmem did not map that VirtualQuery calls MEM_IMAGE */
    bool has_id;     /* dev / ino below are known */
    uint64_t dev, ino;
};

static void file_id_of_section(const struct wm_section *s, struct mapped *m)
{
    struct wm_os_stat st;
    if ((s->attrs & SEC_FILE) && wm_os_file_stat(s->fd, &st) == 0) {
        m->has_id = true;
        m->dev = st.dev;
        m->ino = st.ino;
    }
}

/* The file Linux maps at addr (not winmem's memory): from the kernel's list. */
static void file_id_of_mapping(uintptr_t addr, struct mapped *m)
{
    struct wm_maps maps;
    struct wm_maps_entry e;
    if (wm_maps_open(&maps))
        return;
    while (wm_maps_next(&maps, &e) == 1) {
        if (addr >= e.start && addr < e.end) {
            if (e.flags & WM_MAPS_FILE) {
                m->has_id = true;
                m->dev = e.dev;
                m->ino = e.inode;
            }
            break;
        }
    }
    wm_maps_close(&maps);
}

static void what_is_mapped(uintptr_t addr, struct mapped *m)
{
    memset(m, 0, sizeof *m);
    if (!addr || addr > WM_MAX_ADDRESS)
        return; /* M_FREE */
    uintptr_t page = addr & ~(uintptr_t)(wm_vm.page - 1);
    wm_vmstate_rdlock();
    const struct wm_region *r = wm_space_find_sigsafe(&wm_vm.space, page);
    if (r) {
        m->alloc = r->base;
        if (r->flags & WM_REGION_VIEW) {
            m->kind = M_VIEW;
            file_id_of_section(r->ext->object, m);
        } else {
            m->kind = M_PRIVATE;
        }
        wm_vmstate_rdunlock();
        return;
    }
    MEMORY_BASIC_INFORMATION mbi;
    NTSTATUS st = wm_query_locked(page, &mbi);
    wm_vmstate_rdunlock();
    if (st || mbi.State == MEM_FREE)
        return;
    m->alloc = (uintptr_t)mbi.AllocationBase;
    if (mbi.Type == MEM_PRIVATE) {
        m->kind = M_PRIVATE;
        return;
    }
    m->kind = M_FILE;
    m->image = mbi.Type == MEM_IMAGE;
    file_id_of_mapping(page, m);
}

WINMEM_API NTSTATUS NTAPI NtAreMappedFilesTheSame(PVOID image, PVOID file)
{
    WM_TRACE(NtAreMappedFilesTheSame, image, file);
    struct mapped a, b;

    wm_vmstate_init();
    what_is_mapped((uintptr_t)image, &a);
    what_is_mapped((uintptr_t)file, &b);
    if (a.kind == M_FREE || b.kind == M_FREE)
        return STATUS_INVALID_ADDRESS;
    if (a.kind == M_PRIVATE || b.kind == M_PRIVATE)
        return STATUS_CONFLICTING_ADDRESSES;
    if (a.alloc == b.alloc)
        return STATUS_SUCCESS;
    if (a.image && a.has_id && b.has_id && a.dev == b.dev && a.ino == b.ino)
        return STATUS_SUCCESS;
    return STATUS_NOT_SAME_DEVICE;
}

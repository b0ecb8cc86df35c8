/*
 * probe.c - reading and writing this process's memory without trusting the addresses:
 * NtReadVirtualMemory / NtWriteVirtualMemory (behind ReadProcessMemory and WriteProcessMemory),
 * the IsBad*Ptr probes, NtFlushInstructionCache and the prefetch hint.
 *
 * Every access goes through the copy routine of os/uaccess.c, whose faults the SIGSEGV
 * handler turns into an error return.  The handler classifies the fault first, as for any
 * other: a guard page met by a probe or a copy loses its guard (the access raised
 * STATUS_GUARD_PAGE_VIOLATION, which the probe caught), as Windows' probing under __try does.
 * A copy-on-write page written by a probe gets its private copy.  Nothing here holds the VM
 * lock.
 */
#include "mm.h"
#include "rtl/trace.h"

#include <string.h>

#define CHUNK 4096

/* The bytes up to the end of addr's page, at most n. */
static size_t to_page_end(uintptr_t addr, size_t n)
{
    size_t left = wm_vm.page - (addr & (wm_vm.page - 1));
    return n < left ? n : left;
}

/* Copy n bytes from src to dst in chunks that never cross a page of the far side (far: src
 * when reading, dst when writing), through a buffer, so a fault is known to be the far or the
 * near side's: the far side's ends the copy with STATUS_PARTIAL_COPY and *done the bytes
 * copied before the page that failed; the near side's is STATUS_ACCESS_VIOLATION. */
static NTSTATUS copy_checked(uintptr_t dst, uintptr_t src, size_t n, bool far_is_src, size_t *done)
{
    unsigned char buf[CHUNK];

    *done = 0;
    while (*done < n) {
        uintptr_t far = far_is_src ? src + *done : dst + *done;
        size_t len = to_page_end(far, n - *done);
        if (len > sizeof buf)
            len = sizeof buf;
        if (wm_os_copy(buf, (const void *)(src + *done), len))
            return far_is_src ? STATUS_PARTIAL_COPY : STATUS_ACCESS_VIOLATION;
        if (wm_os_copy((void *)(dst + *done), buf, len))
            return far_is_src ? STATUS_ACCESS_VIOLATION : STATUS_PARTIAL_COPY;
        *done += len;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS rw_args(HANDLE process, uintptr_t a, uintptr_t b, size_t n)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    if (st)
        return st;
    /* Both ranges must lie in user space, without wrapping. */
    if (n && (a > WM_MAX_ADDRESS || b > WM_MAX_ADDRESS || WM_MAX_ADDRESS - a < n - 1 ||
              WM_MAX_ADDRESS - b < n - 1))
        return STATUS_ACCESS_VIOLATION;
    wm_vmstate_init();
    return STATUS_SUCCESS;
}

static NTSTATUS report(NTSTATUS st, size_t done, PSIZE_T out)
{
    if (out) {
        SIZE_T d = done;
        if (wm_os_copy(out, &d, sizeof d) && st == STATUS_SUCCESS)
            st = STATUS_ACCESS_VIOLATION;
    }
    return st;
}

WINMEM_API NTSTATUS NTAPI NtReadVirtualMemory(HANDLE process, PVOID base, PVOID buffer, SIZE_T size,
                                              PSIZE_T read)
{
    WM_TRACE(NtReadVirtualMemory, process, base, buffer, size, read);
    size_t done = 0;
    NTSTATUS st = rw_args(process, (uintptr_t)base, (uintptr_t)buffer, size);
    if (st == STATUS_SUCCESS)
        st = copy_checked((uintptr_t)buffer, (uintptr_t)base, size, true, &done);
    return report(st, done, read);
}

WINMEM_API NTSTATUS NTAPI NtWriteVirtualMemory(HANDLE process, PVOID base, PVOID buffer,
                                               SIZE_T size, PSIZE_T written)
{
    WM_TRACE(NtWriteVirtualMemory, process, base, buffer, size, written);
    size_t done = 0;
    NTSTATUS st = rw_args(process, (uintptr_t)base, (uintptr_t)buffer, size);
    if (st == STATUS_SUCCESS)
        st = copy_checked((uintptr_t)base, (uintptr_t)buffer, size, false, &done);
    return report(st, done, written);
}

bool wm_probe_range(const void *p, size_t n, bool write)
{
    uintptr_t a = (uintptr_t)p;
    unsigned char c;

    if (!n)
        return true;
    if (a + n - 1 < a)
        return false; /* wraps */
    wm_vmstate_init();
    /* One byte in every page, and the last byte, as Windows' probes touch them; a write
     * probe writes back what it read. */
    for (uintptr_t at = a;; at = (at | (wm_vm.page - 1)) + 1) {
        uintptr_t touch = at < a + n - 1 ? at : a + n - 1;
        if (wm_os_copy(&c, (const void *)touch, 1) || (write && wm_os_copy((void *)touch, &c, 1)))
            return false;
        if (touch == a + n - 1)
            return true;
    }
}

bool wm_probe_string(const void *p, size_t max_chars, size_t char_size)
{
    uintptr_t a = (uintptr_t)p;
    unsigned char buf[CHUNK];

    wm_vmstate_init();
    while (max_chars) {
        size_t len = to_page_end(a, max_chars * char_size);
        len -= len % char_size;
        if (!len)
            len = char_size; /* a character straddling a page boundary */
        if (wm_os_copy(buf, (const void *)a, len))
            return false;
        for (size_t i = 0; i < len; i += char_size) {
            bool nul = char_size == 1 ? buf[i] == 0 : (buf[i] == 0 && buf[i + 1] == 0);
            if (nul)
                return true;
        }
        a += len;
        max_chars -= len / char_size;
    }
    return true;
}

WINMEM_API NTSTATUS NTAPI NtFlushInstructionCache(HANDLE process, PVOID base, SIZE_T size)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    if (st)
        return st;
#if defined(__aarch64__)
    if (base && size)
        __builtin___clear_cache((char *)base, (char *)base + size);
#else
    (void)base, (void)size; /* x86-64 keeps instruction fetches coherent with stores */
#endif
    return STATUS_SUCCESS;
}

NTSTATUS wm_prefetch(HANDLE process, const void *ranges, size_t count)
{
    NTSTATUS st = wm_vmstate_check_process(process);
    if (st)
        return st;
    wm_vmstate_init();
    for (size_t i = 0; i < count; i++) {
        struct {
            PVOID addr;
            SIZE_T size;
        } r;
        if (wm_os_copy(&r, (const char *)ranges + i * sizeof r, sizeof r))
            return STATUS_ACCESS_VIOLATION;
        uintptr_t start, end;
        /* A hint: ranges that are not mapped are skipped, as the kernel skips them. */
        if (r.size && wm_vmstate_page_range((uintptr_t)r.addr, r.size, &start, &end))
            wm_os_willneed(start, end - start);
    }
    return STATUS_SUCCESS;
}

/*
 * numa.c - the machine's NUMA nodes as Windows reports them, and a preferred node for the
 * pages of an allocation or view (VirtualAllocExNuma, MapViewOfFileExNuma).
 *
 * On a machine with one node (or a kernel without NUMA) node 0 is the only node and a
 * preference for it changes nothing; NUMA_NO_PREFERRED_NODE is accepted everywhere.  With
 * several nodes the preference is mbind(MPOL_PREFERRED): pages come from that node while it
 * has free memory and from others after, which is what Windows' "preferred" means.
 */
#include "mm.h"

#include <errno.h>

NTSTATUS wm_numa_highest(ULONG *node)
{
    unsigned n;
    int rc = wm_os_numa_highest("", &n);
    if (rc)
        return wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    *node = n;
    return STATUS_SUCCESS;
}

NTSTATUS wm_numa_check_node(ULONG node)
{
    ULONG highest = 0;
    NTSTATUS st;
    if (node == NUMA_NO_PREFERRED_NODE)
        return STATUS_SUCCESS;
    if ((st = wm_numa_highest(&highest)))
        return st;
    return node > highest ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
}

NTSTATUS wm_numa_node_processors(ULONG node, uint64_t *mask, USHORT *group)
{
    unsigned g;
    int rc = wm_os_numa_cpus("", node, mask, &g);
    if (rc)
        return rc == -ENOENT ? STATUS_INVALID_PARAMETER : wm_status_from_errno(rc, WM_ERRNO_OBJECT);
    *group = (USHORT)g;
    return STATUS_SUCCESS;
}

NTSTATUS wm_numa_node_free(ULONG node, uint64_t *bytes)
{
    NTSTATUS st = wm_numa_check_node(node);
    if (st || node == NUMA_NO_PREFERRED_NODE)
        return st ? st : STATUS_INVALID_PARAMETER;
    if (wm_os_numa_free("", node, bytes)) {
        /* No per-node figures (a kernel without NUMA): the machine's available memory. */
        struct wm_memory_status s;
        if ((st = wm_status_memory(&s)))
            return st;
        *bytes = s.avail_phys;
    }
    return STATUS_SUCCESS;
}

NTSTATUS wm_numa_processor_node(ULONG cpu, ULONG *node)
{
    unsigned n;
    if (wm_os_numa_cpu_node("", cpu, &n))
        return STATUS_INVALID_PARAMETER;
    *node = n;
    return STATUS_SUCCESS;
}

void wm_numa_prefer(uintptr_t addr, size_t size, ULONG node)
{
    ULONG highest = 0;
    if (node == NUMA_NO_PREFERRED_NODE || !size || wm_numa_highest(&highest) || highest == 0)
        return;
    /* A hint, as on Windows: a kernel that refuses it leaves the default placement. */
    wm_os_mbind_preferred(addr, size, (unsigned)node);
}

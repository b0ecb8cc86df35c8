/*
 * status.c - NTSTATUS translation: errno -> NTSTATUS for os/ results, and
 * RtlNtStatusToDosError, the one table from NTSTATUS to Win32 error codes.
 */
#include "nt.h"

#include <errno.h>

#include "winerror.h"

NTSTATUS wm_status_from_errno(int neg_errno)
{
    switch (-neg_errno) {
    case 0:
        return STATUS_SUCCESS;
    case ENOMEM:
        return STATUS_NO_MEMORY;
    case EEXIST:
        return STATUS_CONFLICTING_ADDRESSES;
    case EAGAIN:
        return STATUS_INSUFFICIENT_RESOURCES;
    case EPERM:
    case EACCES:
        return STATUS_ACCESS_DENIED;
    case EFAULT:
        return STATUS_ACCESS_VIOLATION;
    case EINVAL:
        return STATUS_INVALID_PARAMETER;
    case ENOSYS:
    case EOPNOTSUPP:
        return STATUS_NOT_SUPPORTED;
    default:
        return STATUS_UNSUCCESSFUL;
    }
}

struct status_map {
    NTSTATUS status;
    ULONG error;
};

/* Windows' own mapping for every status winmem produces. */
static const struct status_map table[] = {
    { STATUS_SUCCESS, ERROR_SUCCESS },
    { STATUS_UNSUCCESSFUL, ERROR_GEN_FAILURE },
    { STATUS_NOT_IMPLEMENTED, ERROR_INVALID_FUNCTION },
    { STATUS_INVALID_INFO_CLASS, ERROR_INVALID_PARAMETER },
    { STATUS_INFO_LENGTH_MISMATCH, ERROR_BAD_LENGTH },
    { STATUS_ACCESS_VIOLATION, ERROR_NOACCESS },
    { STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE },
    { STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER },
    { STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY },
    { STATUS_CONFLICTING_ADDRESSES, ERROR_INVALID_ADDRESS },
    { STATUS_NOT_MAPPED_VIEW, ERROR_INVALID_ADDRESS },
    { STATUS_UNABLE_TO_FREE_VM, ERROR_INVALID_PARAMETER },
    { STATUS_ALREADY_COMMITTED, ERROR_ACCESS_DENIED },
    { STATUS_ACCESS_DENIED, ERROR_ACCESS_DENIED },
    { STATUS_BUFFER_TOO_SMALL, ERROR_INSUFFICIENT_BUFFER },
    { STATUS_OBJECT_TYPE_MISMATCH, ERROR_INVALID_HANDLE },
    { STATUS_NOT_LOCKED, ERROR_NOT_LOCKED },
    { STATUS_NOT_COMMITTED, ERROR_INVALID_ADDRESS },
    { STATUS_INVALID_PARAMETER_MIX, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PAGE_PROTECTION, ERROR_INVALID_PARAMETER },
    { STATUS_SECTION_PROTECTION, ERROR_INVALID_PARAMETER },
    { STATUS_PRIVILEGE_NOT_HELD, ERROR_PRIVILEGE_NOT_HELD },
    { STATUS_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES },
    { STATUS_FREE_VM_NOT_AT_BASE, ERROR_INVALID_ADDRESS },
    { STATUS_MEMORY_NOT_ALLOCATED, ERROR_INVALID_ADDRESS },
    { STATUS_WORKING_SET_QUOTA, ERROR_WORKING_SET_QUOTA },
    { STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED },
    { STATUS_INVALID_PARAMETER_1, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_2, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_3, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_4, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_5, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_6, ERROR_INVALID_PARAMETER },
    { STATUS_STACK_OVERFLOW, ERROR_STACK_OVERFLOW },
    { STATUS_COMMITMENT_LIMIT, ERROR_COMMITMENT_LIMIT },
    /* Not a memory status on Windows: it belongs to the network redirector. */
    { STATUS_INVALID_ADDRESS, ERROR_UNEXP_NET_ERR },
    { STATUS_UNABLE_TO_DECOMMIT_VM, ERROR_INVALID_ADDRESS },
    { STATUS_RANGE_NOT_LOCKED, ERROR_NOT_LOCKED },
    { STATUS_DATATYPE_MISALIGNMENT, ERROR_NOACCESS },
    /* Windows maps this warning to itself, so VirtualLock on a guard page leaves
     * GetLastError() == 0x80000001. */
    { STATUS_GUARD_PAGE_VIOLATION, (ULONG)STATUS_GUARD_PAGE_VIOLATION },
};

/* RtlNtStatusToDosError: Win32 error for an NTSTATUS; ERROR_MR_MID_NOT_FOUND for a status
 * with no Win32 equivalent, as Windows answers. */
WINMEM_API ULONG NTAPI RtlNtStatusToDosError(NTSTATUS status)
{
    ULONG s = (ULONG)status;

    /* Customer-defined statuses pass through unchanged; 0xDxxxxxxx reads as 0xCxxxxxxx;
     * Win32 errors wrapped as 0xC001xxxx or 0x8007xxxx come back unwrapped. */
    if (s & 0x20000000u)
        return s;
    if ((s & 0xf0000000u) == 0xd0000000u)
        s &= ~0x10000000u;
    if ((s >> 16) == 0xc001u || (s >> 16) == 0x8007u)
        return s & 0xffff;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if ((ULONG)table[i].status == s)
            return table[i].error;
    return ERROR_MR_MID_NOT_FOUND;
}

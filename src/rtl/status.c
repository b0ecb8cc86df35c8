/*
 * status.c - NTSTATUS translation: errno -> NTSTATUS for os/ results (the one place errno
 * becomes a status), and RtlNtStatusToDosError, the one table from NTSTATUS to Win32 error
 * codes.
 */
#include "rtl.h"

#include <errno.h>

#include "winerror.h"

NTSTATUS wm_status_from_errno(int neg_errno, enum wm_errno_use use)
{
    int e = -neg_errno;

    /* What an errno means can depend on what was being done. */
    switch (use) {
    case WM_ERRNO_MEMORY:
        if (e == EEXIST) /* MAP_FIXED_NOREPLACE: something is mapped there */
            return STATUS_CONFLICTING_ADDRESSES;
        if (e == EDQUOT) /* the commit charge (os/sysmem.c: wm_os_write_refused) */
            return STATUS_COMMITMENT_LIMIT;
        break;
    case WM_ERRNO_LARGE_PAGES:
        if (e == EEXIST)
            return STATUS_CONFLICTING_ADDRESSES;
        /* No huge pages to be had, for whatever reason: Windows' error when the large-page
         * pool cannot satisfy a request. */
        if (e)
            return STATUS_INSUFFICIENT_RESOURCES;
        break;
    case WM_ERRNO_LOCK:
        /* mlock's refusals: ENOMEM beyond RLIMIT_MEMLOCK, EPERM with a zero limit, EAGAIN
         * when pages cannot be pinned: all Windows' working-set quota. */
        if (e == ENOMEM || e == EPERM || e == EAGAIN)
            return STATUS_WORKING_SET_QUOTA;
        break;
    case WM_ERRNO_OBJECT:
        if (e == EEXIST) /* O_EXCL: the name is taken */
            return STATUS_OBJECT_NAME_COLLISION;
        break;
    case WM_ERRNO_SECTION_SIZE:
        /* Past what a memory file can hold: the section is too big, not the disk full. */
        if (e == EFBIG || e == EINVAL)
            return STATUS_SECTION_TOO_BIG;
        break;
    }
    switch (e) {
    case 0:
        return STATUS_SUCCESS;
    case ENOMEM:
        return STATUS_NO_MEMORY;
    case EEXIST:
        return STATUS_OBJECT_NAME_COLLISION;
    case EAGAIN:
    case EMFILE: /* out of descriptors: a section or file cannot be opened */
    case ENFILE:
    case ENOLCK:
        return STATUS_INSUFFICIENT_RESOURCES;
    case EPERM:
    case EACCES:
    case EROFS:
        return STATUS_ACCESS_DENIED;
    case EFAULT:
        return STATUS_ACCESS_VIOLATION;
    case EINVAL:
        return STATUS_INVALID_PARAMETER;
    case ENOSYS:
    case EOPNOTSUPP:
        return STATUS_NOT_SUPPORTED;
    case ENOENT:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    case ENOTDIR:
    case ELOOP:
        return STATUS_OBJECT_PATH_NOT_FOUND;
    case EISDIR:
        return STATUS_FILE_IS_A_DIRECTORY;
    case ENAMETOOLONG:
        return STATUS_OBJECT_NAME_INVALID;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return STATUS_DISK_FULL;
    case EIO:
        return STATUS_IO_DEVICE_ERROR;
    case EBADF:
        return STATUS_INVALID_HANDLE;
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
    { STATUS_INVALID_USER_BUFFER, ERROR_INVALID_USER_BUFFER },
    { STATUS_INVALID_PARAMETER_1, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_2, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_3, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_4, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_5, ERROR_INVALID_PARAMETER },
    { STATUS_INVALID_PARAMETER_6, ERROR_INVALID_PARAMETER },
    { STATUS_STACK_OVERFLOW, ERROR_STACK_OVERFLOW },
    { STATUS_COMMITMENT_LIMIT, ERROR_COMMITMENT_LIMIT },
    { STATUS_SECTION_NOT_IMAGE, ERROR_INVALID_PARAMETER },
    { STATUS_NOT_SAME_DEVICE, ERROR_NOT_SAME_DEVICE },
    { STATUS_PARTIAL_COPY, ERROR_PARTIAL_COPY },
    /* Not a memory status on Windows: it belongs to the network redirector. */
    { STATUS_INVALID_ADDRESS, ERROR_UNEXP_NET_ERR },
    { STATUS_UNABLE_TO_DECOMMIT_VM, ERROR_INVALID_ADDRESS },
    { STATUS_RANGE_NOT_LOCKED, ERROR_NOT_LOCKED },
    { STATUS_DATATYPE_MISALIGNMENT, ERROR_NOACCESS },
    /* Windows maps this warning to itself, so VirtualLock on a guard page leaves
     * GetLastError() == 0x80000001. */
    { STATUS_GUARD_PAGE_VIOLATION, (ULONG)STATUS_GUARD_PAGE_VIOLATION },
    { STATUS_END_OF_FILE, ERROR_HANDLE_EOF },
    { STATUS_INVALID_VIEW_SIZE, ERROR_ACCESS_DENIED },
    { STATUS_OBJECT_NAME_INVALID, ERROR_INVALID_NAME },
    { STATUS_OBJECT_NAME_NOT_FOUND, ERROR_FILE_NOT_FOUND },
    { STATUS_OBJECT_NAME_COLLISION, ERROR_ALREADY_EXISTS },
    { STATUS_OBJECT_PATH_NOT_FOUND, ERROR_PATH_NOT_FOUND },
    { STATUS_SECTION_TOO_BIG, ERROR_NOT_ENOUGH_MEMORY },
    { STATUS_SHARING_VIOLATION, ERROR_SHARING_VIOLATION },
    { STATUS_FILE_INVALID, ERROR_FILE_INVALID },
    { STATUS_MAPPED_FILE_SIZE_ZERO, ERROR_FILE_INVALID },
    { STATUS_INVALID_IMAGE_NOT_MZ, ERROR_BAD_EXE_FORMAT },
    { STATUS_INVALID_FILE_FOR_SECTION, ERROR_BAD_EXE_FORMAT },
    { STATUS_FILE_IS_A_DIRECTORY, ERROR_ACCESS_DENIED },
    { STATUS_NOT_A_DIRECTORY, ERROR_DIRECTORY },
    { STATUS_DISK_FULL, ERROR_DISK_FULL },
    { STATUS_IO_DEVICE_ERROR, ERROR_IO_DEVICE },
    { STATUS_USER_MAPPED_FILE, ERROR_USER_MAPPED_FILE },
    { STATUS_MAPPED_ALIGNMENT, ERROR_MAPPED_ALIGNMENT },
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

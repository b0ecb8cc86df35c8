/*
 * io.h - cross-file functions of the I/O layer (src/io/): files behind handles, the NT file
 * calls (NtCreateFile, NtReadFile, NtWriteFile, NtQueryInformationFile, NtSetInformationFile,
 * NtFlushBuffersFile) and the C runtime's descriptor <-> HANDLE bridge.
 *
 * Layer rules, stated once: every function returns NTSTATUS; Linux is reached only through
 * os/; a file object is a reference-counted descriptor that sections (mm/) map.
 */
#ifndef WM_IO_H
#define WM_IO_H

#include <stdbool.h>

#include "ob/ob.h"

/* A file opened by CreateFile (fileapi.c) or adopted by _open_osfhandle. */
struct wm_file {
    struct wm_object obj;
    int fd;
    ACCESS_MASK access; /* GENERIC_READ / GENERIC_WRITE / GENERIC_EXECUTE */
    bool owns_fd;
};

/* ---- file.c ---------------------------------------------------------------------------- */

/* The HANDLE the C runtime gives descriptor fd: the same one every time for as long as it is
 * open, not owning fd (closing fd is the caller's business, as _close is on Windows). */
NTSTATUS wm_file_handle_for_fd(int fd, HANDLE *out);
/* A new descriptor for the file behind h (a duplicate: the caller owns it). */
NTSTATUS wm_file_fd_of_handle(HANDLE h, int *out);
/* Remove the file oa names (NtDeleteFile): STATUS_OBJECT_NAME_NOT_FOUND or _PATH_NOT_FOUND
 * when it or a directory on the way is missing, STATUS_FILE_IS_A_DIRECTORY for a directory. */
NTSTATUS wm_file_delete(const OBJECT_ATTRIBUTES *oa);

#endif

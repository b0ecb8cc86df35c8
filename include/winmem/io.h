/*
 * io.h - the two CRT calls that turn a POSIX descriptor into a HANDLE and back.
 */
#ifndef WINMEM_IO_H
#define WINMEM_IO_H

#include "windef.h"

WINMEM_EXTERN_C_BEGIN

/* The HANDLE for descriptor fd (owned by the descriptor: do not CloseHandle it), or
 * INVALID_HANDLE_VALUE as an intptr_t. */
WINMEM_API intptr_t _get_osfhandle(int fd);
/* A descriptor that takes ownership of a file HANDLE (closing the descriptor closes it); -1
 * on failure. */
WINMEM_API int _open_osfhandle(intptr_t osfhandle, int flags);

WINMEM_EXTERN_C_END

#endif

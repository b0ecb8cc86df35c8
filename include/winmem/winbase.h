/*
 * winbase.h - the classic umbrella of kernel32 declarations; here it gathers the API-set
 * headers winmem implements.
 */
#ifndef WINMEM_WINBASE_H
#define WINMEM_WINBASE_H

#include "errhandlingapi.h"
#include "fileapi.h"
#include "handleapi.h"
#include "heapapi.h"
#include "memoryapi.h"
#include "processthreadsapi.h"
#include "sysinfoapi.h"

WINMEM_EXTERN_C_BEGIN

/* CreateFile flags (dwFlagsAndAttributes). */
#define FILE_FLAG_WRITE_THROUGH 0x80000000
#define FILE_FLAG_NO_BUFFERING 0x20000000
#define FILE_FLAG_RANDOM_ACCESS 0x10000000
#define FILE_FLAG_SEQUENTIAL_SCAN 0x08000000
#define FILE_FLAG_DELETE_ON_CLOSE 0x04000000
#define FILE_FLAG_BACKUP_SEMANTICS 0x02000000

/* Register / unregister a callback run when a secured range is freed or protected more
 * tightly (see PSECURE_MEMORY_CACHE_CALLBACK). */
WINBASEAPI BOOL WINAPI AddSecureMemoryCacheCallback(PSECURE_MEMORY_CACHE_CALLBACK pfnCallBack);
WINBASEAPI BOOL WINAPI RemoveSecureMemoryCacheCallback(PSECURE_MEMORY_CACHE_CALLBACK pfnCallBack);

WINMEM_EXTERN_C_END

#endif

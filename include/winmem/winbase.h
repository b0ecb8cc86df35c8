/*
 * winbase.h - the classic umbrella of kernel32 declarations; here it gathers the API-set
 * headers winmem implements.
 */
#ifndef WINMEM_WINBASE_H
#define WINMEM_WINBASE_H

#include "errhandlingapi.h"
#include "memoryapi.h"
#include "processthreadsapi.h"
#include "sysinfoapi.h"

#endif

/*
 * handleapi.h - closing and duplicating handles (files and file mappings).
 */
#ifndef WINMEM_HANDLEAPI_H
#define WINMEM_HANDLEAPI_H

#include "winnt.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI BOOL WINAPI CloseHandle(HANDLE hObject);
WINBASEAPI BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                                       HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                                       DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions);

WINMEM_EXTERN_C_END

#endif

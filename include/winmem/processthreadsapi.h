/*
 * processthreadsapi.h - the current process and thread: pseudo handles, ids, the processor,
 * yielding, thread-local storage (TlsAlloc...) and the process token.  No CreateThread:
 * winmem serves the threads a program starts itself.
 */
#ifndef WINMEM_PROCESSTHREADSAPI_H
#define WINMEM_PROCESSTHREADSAPI_H

#include "windef.h"
#include "winnt.h"

WINMEM_EXTERN_C_BEGIN

WINBASEAPI HANDLE WINAPI GetCurrentProcess(VOID);
WINBASEAPI DWORD WINAPI GetCurrentProcessId(VOID);
WINBASEAPI HANDLE WINAPI GetCurrentThread(VOID);
WINBASEAPI DWORD WINAPI GetCurrentThreadId(VOID);
WINBASEAPI DWORD WINAPI GetCurrentProcessorNumber(VOID);
WINBASEAPI BOOL WINAPI SwitchToThread(VOID);

#define TLS_OUT_OF_INDEXES ((DWORD)0xFFFFFFFF)
WINBASEAPI DWORD WINAPI TlsAlloc(VOID);
WINBASEAPI LPVOID WINAPI TlsGetValue(DWORD dwTlsIndex);
WINBASEAPI BOOL WINAPI TlsSetValue(DWORD dwTlsIndex, LPVOID lpTlsValue);
WINBASEAPI BOOL WINAPI TlsFree(DWORD dwTlsIndex);

/* The process's token (securitybaseapi.h adjusts it); a thread has none of its own. */
WINBASEAPI BOOL WINAPI OpenProcessToken(HANDLE ProcessHandle, DWORD DesiredAccess,
                                        PHANDLE TokenHandle);
WINBASEAPI BOOL WINAPI OpenThreadToken(HANDLE ThreadHandle, DWORD DesiredAccess, BOOL OpenAsSelf,
                                       PHANDLE TokenHandle);

/* Makes code written to memory visible to instruction fetches (nothing to do on x86-64). */
WINBASEAPI BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize);

/* Only ProcessControlFlowGuardPolicy is answered (docs/cfg.md). */
WINBASEAPI BOOL WINAPI GetProcessMitigationPolicy(HANDLE hProcess,
                                                  PROCESS_MITIGATION_POLICY MitigationPolicy,
                                                  PVOID lpBuffer, SIZE_T dwLength);

WINMEM_EXTERN_C_END

#endif

/*
 * winmem_export.h - the one export macro of winmem and the calling-convention macros.
 *
 * Everything in libwinmem is hidden by default (-fvisibility=hidden); only declarations marked
 * WINMEM_API, which are exactly the SDK names, are exported.  Windows' WINAPI/CALLBACK
 * conventions are empty here: Linux callers and callees share the System V ABI.
 */
#ifndef WINMEM_EXPORT_H
#define WINMEM_EXPORT_H

#if defined(__GNUC__)
#define WINMEM_API __attribute__((visibility("default")))
#else
#define WINMEM_API
#endif

#ifndef WINAPI
#define WINAPI
#endif
#ifndef NTAPI
#define NTAPI
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef APIENTRY
#define APIENTRY
#endif
#ifndef WINBASEAPI
#define WINBASEAPI WINMEM_API
#endif
#ifndef NTSYSAPI
#define NTSYSAPI WINMEM_API
#endif

#ifdef __cplusplus
#define WINMEM_EXTERN_C_BEGIN extern "C" {
#define WINMEM_EXTERN_C_END }
#else
#define WINMEM_EXTERN_C_BEGIN
#define WINMEM_EXTERN_C_END
#endif

#endif

/*
 * libloaderapi.c - GetModuleHandle, LoadLibrary(Ex), GetProcAddress and FreeLibrary for the
 * system DLLs winmem stands in for.  ntdll.dll resolves the NT-layer exports, kernel32.dll
 * and kernelbase.dll the Win32 ones; both tables are generated from the public headers
 * (cmake/exports.cmake), so every declared function is found and nothing else is, in the
 * static library as in the shared one.  A module handle is the address of the module's
 * record here (inside winmem's image, as a DLL's handle is inside its image); the
 * executable's is its image base.  Any other library: NULL and ERROR_MOD_NOT_FOUND.
 */
#include "win32.h"

#include <string.h>

#include "ps/ps.h"
#include "rtl/rtl.h"

struct module {
    const char *name; /* lower case, without ".dll" */
    const struct wm_export *exports;
    const size_t *count;
};

static const struct module modules[] = {
    { "ntdll", wm_exports_ntdll, &wm_exports_ntdll_count },
    { "kernel32", wm_exports_kernel32, &wm_exports_kernel32_count },
    { "kernelbase", wm_exports_kernel32, &wm_exports_kernel32_count },
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))
#define KERNELBASE (&modules[2])

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether name (from the start, n bytes) equals lower-case want, ignoring case. */
static bool same(const char *name, size_t n, const char *want)
{
    size_t i = 0;
    for (; i < n && want[i]; i++)
        if (lower(name[i]) != want[i])
            return false;
    return i == n && !want[i];
}

/* The module a name means: its file name (after any directory), with ".dll" or no extension
 * (Windows adds ".dll"; a trailing '.' means "no extension"), compared ignoring case.  The
 * core API-set contracts (api-ms-win-core-*) are kernelbase's on Windows 8 and later. */
static const struct module *module_named(const char *path)
{
    const char *name = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            name = p + 1;
    size_t n = strlen(name);
    if (n >= 4 && same(name + n - 4, 4, ".dll"))
        n -= 4;
    else if (n >= 1 && name[n - 1] == '.')
        n -= 1;
    if (n > 16 && same(name, 16, "api-ms-win-core-"))
        return KERNELBASE;
    for (size_t i = 0; i < NMODULES; i++)
        if (same(name, n, modules[i].name))
            return &modules[i];
    return NULL;
}

static const struct module *module_of(HMODULE h)
{
    for (size_t i = 0; i < NMODULES; i++)
        if (h == (HMODULE)&modules[i])
            return &modules[i];
    return NULL;
}

static HMODULE find_module(LPCSTR name)
{
    const struct module *m = module_named(name);
    if (!m) {
        wm_win32_error(ERROR_MOD_NOT_FOUND);
        return NULL;
    }
    return (HMODULE)m;
}

/* A wide name as UTF-8 for the lookup; one that cannot be a system DLL's fails the lookup. */
static bool narrow(LPCWSTR w, char *out, size_t len)
{
    if (!wm_unicode_to_utf8(w, wm_unicode_len(w), out, len)) {
        wm_win32_error(ERROR_MOD_NOT_FOUND);
        return false;
    }
    return true;
}

/* GetModuleHandle: NULL is the executable; a system DLL is always loaded. */
WINMEM_API HMODULE WINAPI GetModuleHandleA(LPCSTR name)
{
    if (!name)
        return (HMODULE)wm_peb_image_base();
    return find_module(name);
}

WINMEM_API HMODULE WINAPI GetModuleHandleW(LPCWSTR name)
{
    char buf[MAX_PATH * 3];
    if (!name)
        return (HMODULE)wm_peb_image_base();
    return narrow(name, buf, sizeof(buf)) ? find_module(buf) : NULL;
}

/* LoadLibraryEx: hFile is reserved and must be NULL; the flags choose where to search, and
 * the system DLLs are found from anywhere. */
WINMEM_API HMODULE WINAPI LoadLibraryExA(LPCSTR name, HANDLE file, DWORD flags)
{
    (void)flags;
    if (!name || file) {
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return find_module(name);
}

WINMEM_API HMODULE WINAPI LoadLibraryExW(LPCWSTR name, HANDLE file, DWORD flags)
{
    char buf[MAX_PATH * 3];
    if (!name || file) {
        wm_win32_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return narrow(name, buf, sizeof(buf)) ? LoadLibraryExA(buf, NULL, flags) : NULL;
}

WINMEM_API HMODULE WINAPI LoadLibraryA(LPCSTR name)
{
    return LoadLibraryExA(name, NULL, 0);
}

WINMEM_API HMODULE WINAPI LoadLibraryW(LPCWSTR name)
{
    return LoadLibraryExW(name, NULL, 0);
}

/* FreeLibrary: the system DLLs and the executable stay loaded whatever the count says. */
WINMEM_API BOOL WINAPI FreeLibrary(HMODULE h)
{
    if (module_of(h) || (h && h == (HMODULE)wm_peb_image_base()))
        return TRUE;
    return wm_win32_error(ERROR_MOD_NOT_FOUND);
}

/* GetProcAddress: by name, exactly as spelled (case matters, as on Windows).  A NULL module
 * is the executable, which exports nothing here; an ordinal (a "name" below 0x10000) finds
 * nothing either, since winmem's modules have no ordinal table. */
WINMEM_API FARPROC WINAPI GetProcAddress(HMODULE h, LPCSTR name)
{
    const struct module *m = module_of(h);

    if (!m && h && h != (HMODULE)wm_peb_image_base()) {
        wm_win32_error(ERROR_MOD_NOT_FOUND);
        return NULL;
    }
    if (m && (uintptr_t)name >= 0x10000)
        for (size_t i = 0; i < *m->count; i++)
            if (strcmp(m->exports[i].name, name) == 0)
                return (FARPROC)m->exports[i].fn;
    wm_win32_error(ERROR_PROC_NOT_FOUND);
    return NULL;
}

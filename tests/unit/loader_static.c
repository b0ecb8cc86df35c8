/*
 * loader_static.c - GetProcAddress in the static library (this program links libwinmem.a):
 * every function in the generated export tables resolves, by its own name and in the right
 * module, to the function itself; the names are unique and each table is sorted.  With
 * --list, print every name (tests/exports/exports.cmake compares them with what the shared
 * library exports).
 */
#include <stdio.h>
#include <string.h>

#include "wmtest.h"
#include "win32/win32.h"

static void check_table(const char *module, const char *other, const struct wm_export *t, size_t n)
{
    HMODULE h = GetModuleHandleA(module), o = GetModuleHandleA(other);

    CHECK(h != NULL && o != NULL);
    CHECK(n > 10);
    for (size_t i = 0; i < n; i++) {
        FARPROC p = GetProcAddress(h, t[i].name);
        if (p != (FARPROC)t[i].fn)
            WMT_FAIL("%s!%s does not resolve to itself", module, t[i].name);
        else
            wmt_passed++;
        /* The other module does not have it. */
        SetLastError(0);
        if (GetProcAddress(o, t[i].name) || GetLastError() != ERROR_PROC_NOT_FOUND)
            WMT_FAIL("%s!%s resolves in %s too", module, t[i].name, other);
        if (i > 0 && strcmp(t[i - 1].name, t[i].name) >= 0)
            WMT_FAIL("%s's table is out of order at %s", module, t[i].name);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < wm_exports_ntdll_count; i++)
            printf("%s\n", wm_exports_ntdll[i].name);
        for (size_t i = 0; i < wm_exports_kernel32_count; i++)
            printf("%s\n", wm_exports_kernel32[i].name);
        return 0;
    }
    check_table("ntdll", "kernel32", wm_exports_ntdll, wm_exports_ntdll_count);
    check_table("kernel32", "ntdll", wm_exports_kernel32, wm_exports_kernel32_count);
    check_table("kernelbase.dll", "NTDLL.DLL", wm_exports_kernel32, wm_exports_kernel32_count);
    /* The names ports look up first. */
    CHECK(GetProcAddress(GetModuleHandleA("kernel32"), "VirtualAlloc") ==
          (FARPROC)(void (*)(void))VirtualAlloc);
    CHECK(GetProcAddress(GetModuleHandleA("ntdll"), "NtAllocateVirtualMemory") ==
          (FARPROC)(void (*)(void))NtAllocateVirtualMemory);
    return wmt_report();
}

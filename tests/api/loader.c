/*
 * loader.c - run-time lookup of the memory API, as allocators and JITs do it:
 * GetModuleHandle / LoadLibrary find ntdll.dll, kernel32.dll and kernelbase.dll by any case,
 * with or without ".dll"; GetProcAddress finds the NT calls in ntdll and the Win32 calls in
 * kernel32 and kernelbase (the same functions the program links against), and not the other
 * way round; anything else fails with ERROR_MOD_NOT_FOUND or ERROR_PROC_NOT_FOUND.
 * GetModuleHandle(NULL) is the executable.  Plain Win32 C: also builds with mingw-w64.
 */
#include "apitest.h"

#include <winternl.h>

/* A WCHAR literal: WCHAR is wchar_t on Windows, char16_t on Linux. */
#ifdef _WIN32
#define W_(s) L##s
#else
#define W_(s) u##s
#endif

typedef LPVOID(WINAPI *virtual_alloc_fn)(LPVOID, SIZE_T, DWORD, DWORD);

/* Through void (*)(void), the one function type GCC lets any other be cast to and from without
 * -Wcast-function-type (FARPROC returns an integer, these functions often a pointer). */
#define AS_PROC(fn) ((FARPROC)(void (*)(void))(fn))

static void test_module_names(void)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    HMODULE kb = GetModuleHandleA("kernelbase.dll");

    CHECK(k32 != NULL && nt != NULL && kb != NULL);
    CHECK(k32 != nt && k32 != kb && nt != kb);
    CHECK(GetModuleHandleA("KERNEL32.DLL") == k32);
    CHECK(GetModuleHandleA("Kernel32") == k32);
    CHECK(GetModuleHandleA("NTDLL") == nt);
    CHECK(GetModuleHandleA("KernelBase.Dll") == kb);
    CHECK(GetModuleHandleW(W_("kernel32.dll")) == k32);
    CHECK(GetModuleHandleW(W_("NtDll")) == nt);

    CHECK_FAILS(GetModuleHandleA("winmem-no-such.dll"), ERROR_MOD_NOT_FOUND);
    CHECK_FAILS(GetModuleHandleA("kernel33.dll"), ERROR_MOD_NOT_FOUND);
    CHECK_FAILS(GetModuleHandleA("kernel32.dllx"), ERROR_MOD_NOT_FOUND);
    CHECK_FAILS(GetModuleHandleW(W_("user32-not-here.dll")), ERROR_MOD_NOT_FOUND);

    /* LoadLibrary of a system DLL gives the loaded module's handle; FreeLibrary balances. */
    HMODULE l = LoadLibraryA("kernel32.dll");
    CHECK(l == k32);
    CHECK(FreeLibrary(l));
    l = LoadLibraryW(W_("NTDLL.DLL"));
    CHECK(l == nt);
    CHECK(FreeLibrary(l));
    l = LoadLibraryExA("kernelbase.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    CHECK(l == kb);
    CHECK(FreeLibrary(l));
    CHECK(GetModuleHandleA("kernel32.dll") == k32);
    CHECK_FAILS(LoadLibraryA("winmem-no-such-library.dll"), ERROR_MOD_NOT_FOUND);
    CHECK_FAILS(LoadLibraryW(W_("winmem-no-such-library.dll")), ERROR_MOD_NOT_FOUND);

    /* The executable: its image base, which VirtualQuery calls an image. */
    HMODULE exe = GetModuleHandleA(NULL);
    MEMORY_BASIC_INFORMATION mbi;
    CHECK(exe != NULL);
    CHECK(exe == GetModuleHandleW(NULL));
    CHECK_EQ(VirtualQuery(exe, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.Type, MEM_IMAGE);
    CHECK_EQ(mbi.State, MEM_COMMIT);
    CHECK(((ULONG_PTR)exe & 0xfff) == 0);
}

static void test_proc_address(void)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    HMODULE kb = GetModuleHandleA("kernelbase.dll");

    FARPROC va = GetProcAddress(k32, "VirtualAlloc");
    CHECK(va == AS_PROC(VirtualAlloc));
    /* kernel32's is a stub that calls kernelbase's on Windows: found, but not the same address. */
    CHECK(GetProcAddress(kb, "VirtualAlloc") != NULL);
    CHECK(GetProcAddress(k32, "VirtualFree") == AS_PROC(VirtualFree));
    CHECK(GetProcAddress(k32, "GetProcAddress") == AS_PROC(GetProcAddress));
    CHECK(GetProcAddress(k32, "HeapAlloc") != NULL);
    CHECK(GetProcAddress(k32, "FlsAlloc") == AS_PROC(FlsAlloc));
#ifdef _WIN32 /* mingw-w64's winternl.h does not declare them */
    CHECK(GetProcAddress(nt, "NtAllocateVirtualMemory") != NULL);
    CHECK(GetProcAddress(nt, "NtFreeVirtualMemory") != NULL);
    CHECK(GetProcAddress(nt, "RtlNtStatusToDosError") != NULL);
#else
    CHECK(GetProcAddress(nt, "NtAllocateVirtualMemory") == AS_PROC(NtAllocateVirtualMemory));
    CHECK(GetProcAddress(nt, "NtFreeVirtualMemory") == AS_PROC(NtFreeVirtualMemory));
    CHECK(GetProcAddress(nt, "RtlNtStatusToDosError") == AS_PROC(RtlNtStatusToDosError));
#endif

    /* What was found works, cast to its type as ports write it. */
    virtual_alloc_fn alloc = (virtual_alloc_fn)(void (*)(void))GetProcAddress(k32, "VirtualAlloc");
    void *p = alloc(NULL, 65536, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    CHECK(p != NULL);
    if (p) {
        ((volatile char *)p)[100] = 1;
        CHECK(VirtualFree(p, 0, MEM_RELEASE));
    }

    /* Each module has its own: the NT calls are ntdll's, the Win32 ones kernel32's. */
    CHECK_FAILS(GetProcAddress(nt, "VirtualAlloc"), ERROR_PROC_NOT_FOUND);
    CHECK_FAILS(GetProcAddress(k32, "NtAllocateVirtualMemory"), ERROR_PROC_NOT_FOUND);
    /* Names are exact: case matters. */
    CHECK_FAILS(GetProcAddress(k32, "virtualalloc"), ERROR_PROC_NOT_FOUND);
    CHECK_FAILS(GetProcAddress(k32, "VirtualAllocNoSuchThing"), ERROR_PROC_NOT_FOUND);
    CHECK_FAILS(GetProcAddress(k32, ""), ERROR_PROC_NOT_FOUND);
    CHECK_FAILS(GetProcAddress(nt, "NtNoSuchCall"), ERROR_PROC_NOT_FOUND);
}

int main(void)
{
    test_module_names();
    test_proc_address();
    return wmt_report();
}

/*
 * prottour - a tour of page protections: allocate, change protection, read the old value
 * back, see what VirtualQuery reports, and see the errors Windows gives for bad requests.
 */
#include <windows.h>

#include <stdio.h>

static const char *prot_name(DWORD p)
{
    static char buf[96];
    const char *base = "?";
    switch (p & 0xff) {
    case 0:
        base = "0 (reserved)";
        break;
    case PAGE_NOACCESS:
        base = "PAGE_NOACCESS";
        break;
    case PAGE_READONLY:
        base = "PAGE_READONLY";
        break;
    case PAGE_READWRITE:
        base = "PAGE_READWRITE";
        break;
    case PAGE_EXECUTE:
        base = "PAGE_EXECUTE";
        break;
    case PAGE_EXECUTE_READ:
        base = "PAGE_EXECUTE_READ";
        break;
    case PAGE_EXECUTE_READWRITE:
        base = "PAGE_EXECUTE_READWRITE";
        break;
    }
    snprintf(buf, sizeof(buf), "%s%s%s%s", base, p & PAGE_GUARD ? "|PAGE_GUARD" : "",
             p & PAGE_NOCACHE ? "|PAGE_NOCACHE" : "",
             p & PAGE_WRITECOMBINE ? "|PAGE_WRITECOMBINE" : "");
    return buf;
}

static void show(const char *what, void *p)
{
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(p, &m, sizeof(m));
    printf("  %-34s %p: %-10s %-28s RegionSize %6zu\n", what, m.BaseAddress,
           m.State == MEM_COMMIT    ? "MEM_COMMIT"
           : m.State == MEM_RESERVE ? "MEM_RESERVE"
                                    : "MEM_FREE",
           prot_name(m.Protect), (size_t)m.RegionSize);
}

int main(void)
{
    DWORD old;
    BYTE *p = VirtualAlloc(NULL, 4 * 4096, MEM_RESERVE, PAGE_READWRITE);

    printf("reserve 4 pages:\n");
    show("after MEM_RESERVE", p);
    VirtualAlloc(p, 2 * 4096, MEM_COMMIT, PAGE_READWRITE);
    printf("commit the first two pages read-write:\n");
    show("page 0", p);
    show("page 2", p + 2 * 4096);
    p[0] = 42;
    VirtualProtect(p + 4096, 4096, PAGE_READONLY, &old);
    printf("make page 1 read-only (old protection %s):\n", prot_name(old));
    show("page 0", p);
    show("page 1", p + 4096);
    VirtualProtect(p, 4096, PAGE_EXECUTE_READ | PAGE_GUARD, &old);
    printf("make page 0 an executable guard page:\n");
    show("page 0", p);

    printf("requests Windows refuses, and the errors it gives:\n");
    SetLastError(0);
    BOOL ok = VirtualProtect(p + 3 * 4096, 4096, PAGE_READWRITE, &old);
    printf("  VirtualProtect(reserved page)       -> %d, GetLastError() = %lu "
           "(ERROR_INVALID_ADDRESS)\n",
           ok, (unsigned long)GetLastError());
    ok = VirtualProtect(p, 4096, PAGE_WRITECOPY, &old);
    printf("  VirtualProtect(PAGE_WRITECOPY)      -> %d, GetLastError() = %lu "
           "(ERROR_INVALID_PARAMETER)\n",
           ok, (unsigned long)GetLastError());
    ok = VirtualProtect(p, 4096, PAGE_READWRITE, NULL);
    printf("  VirtualProtect(old = NULL)          -> %d, GetLastError() = %lu (ERROR_NOACCESS)\n",
           ok, (unsigned long)GetLastError());
    ok = VirtualFree(p + 4096, 0, MEM_RELEASE);
    printf("  VirtualFree(interior, MEM_RELEASE)  -> %d, GetLastError() = %lu "
           "(ERROR_INVALID_ADDRESS)\n",
           ok, (unsigned long)GetLastError());

    VirtualFree(p, 2 * 4096, MEM_DECOMMIT);
    printf("decommit both pages, recommit, read page 0 again: %d (decommitted pages read zero)\n",
           (VirtualAlloc(p, 4096, MEM_COMMIT, PAGE_READWRITE), p[0]));
    VirtualFree(p, 0, MEM_RELEASE);
    show("after MEM_RELEASE", p);
    return 0;
}

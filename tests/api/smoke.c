#include <windows.h>
#include <string.h>
#include "wmtest.h"
int main(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(p != NULL);
    CHECK_EQ((ULONG_PTR)p & 0xffff, 0);
    CHECK(VirtualAlloc(p, 0x1000, MEM_COMMIT, PAGE_READWRITE) == p);
    memset(p, 1, 0x1000);
    CHECK_EQ(VirtualQuery(p, &mbi, sizeof(mbi)), sizeof(mbi));
    CHECK_EQ(mbi.RegionSize, 0x1000);
    CHECK_EQ(mbi.State, MEM_COMMIT);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK_FAILS(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    return wmt_report();
}

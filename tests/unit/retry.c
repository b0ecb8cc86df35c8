/*
 * The fault handler's retry bound.  A fault on a page the model says allows the access is
 * retried (another thread changed the page meanwhile), but when the kernel keeps refusing
 * an access the model allows and nothing changes the model, the retries stop and the
 * access is raised as an access violation instead of looping forever.  Set up here by
 * changing the kernel's protection behind winmem's back.  (The other half, that faults
 * with the model changed in between are never counted, is test_copy_on_write_reused_address
 * in tests/api/view.c.)
 */
#include <sys/mman.h>

#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

static BYTE *page;
static size_t pagesz;
static volatile int violations; /* written by the handler, inside the faulting access */
static volatile ULONG_PTR fault_addr, fault_kind;

static LONG CALLBACK on_fault(EXCEPTION_POINTERS *e)
{
    if (e->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
        return EXCEPTION_CONTINUE_SEARCH;
    violations++;
    fault_kind = e->ExceptionRecord->ExceptionInformation[0];
    fault_addr = e->ExceptionRecord->ExceptionInformation[1];
    /* Put the kernel back in line with the model, so the retried write lands. */
    mprotect(page, pagesz, PROT_READ | PROT_WRITE);
    return EXCEPTION_CONTINUE_EXECUTION;
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    pagesz = si.dwPageSize;
    PVOID h = AddVectoredExceptionHandler(1, on_fault);
    REQUIRE(h != NULL);
    page = VirtualAlloc(NULL, pagesz, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(page != NULL);

    /* The kernel disagrees with a model nobody changes: one access violation, after a
     * bounded number of silent retries, then the write lands. */
    REQUIRE(mprotect(page, pagesz, PROT_READ) == 0);
    *(volatile BYTE *)(page + 7) = 0x5a;
    CHECK_EQ(violations, 1);
    CHECK_EQ(fault_kind, EXCEPTION_WRITE_FAULT);
    CHECK(fault_addr == (ULONG_PTR)(page + 7));
    CHECK_EQ(page[7], 0x5a);

    /* Again at the same address: bounded again (the count starts over), not a hang. */
    REQUIRE(mprotect(page, pagesz, PROT_NONE) == 0);
    CHECK_EQ(*(volatile BYTE *)(page + 7), 0x5a);
    CHECK_EQ(violations, 2);
    CHECK_EQ(fault_kind, EXCEPTION_READ_FAULT);

    CHECK(VirtualFree(page, 0, MEM_RELEASE));
    CHECK(RemoveVectoredExceptionHandler(h));
    return wmt_report();
}

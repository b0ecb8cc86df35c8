/*
 * commitlimit.c - a commit beyond the commit limit fails with ERROR_COMMITMENT_LIMIT (1455,
 * "The paging file is too small for this operation to complete") and changes nothing; what
 * fits still commits.  On Linux the limit a process can be given for itself is RLIMIT_DATA
 * (`ulimit -d`), which counts private writable memory, so this test sets it a little above
 * what the process already has and takes it back at the end.  (On Windows a job's
 * per-process commit limit does the same; not set up here, so the test says it is skipped.)
 */
#include "apitest.h"

#ifndef _WIN32
#include <sys/resource.h>

#define MIB ((SIZE_T)1 << 20)

static void test_data_limit(void)
{
    struct rlimit was, tight;
    REQUIRE_VOID(getrlimit(RLIMIT_DATA, &was) == 0);
    unsigned long long data = at_status_bytes("VmData");
    REQUIRE_VOID(data > 0);
    if (was.rlim_cur != RLIM_INFINITY && was.rlim_cur < data + 64 * MIB) {
        printf("skipped: RLIMIT_DATA %llu leaves less than 64 MiB to test with\n",
               (unsigned long long)was.rlim_cur);
        return;
    }
    /* The reservation is not charged; a commit of it is. */
    BYTE *p = VirtualAlloc(NULL, 512 * MIB, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p);
    tight = was;
    tight.rlim_cur = data + 64 * MIB;
    REQUIRE_VOID(setrlimit(RLIMIT_DATA, &tight) == 0);

    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, 256 * MIB, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT, p, 512 * MIB);
    CHECK_EQ(at_state(p), MEM_RESERVE);
    CHECK_FAILS(VirtualAlloc(NULL, 256 * MIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                ERROR_COMMITMENT_LIMIT);
    /* What fits commits, and is usable. */
    CHECK(VirtualAlloc(p, 16 * MIB, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_EQ(at_state(p), MEM_COMMIT);
    p[16 * MIB - 1] = 1;
    /* Past the limit again, one page more than what is left. */
    CHECK_FAILS(VirtualAlloc(p + 16 * MIB, 64 * MIB, MEM_COMMIT, PAGE_READWRITE),
                ERROR_COMMITMENT_LIMIT);
    CHECK_EQ(at_state(p + 16 * MIB), MEM_RESERVE);

    CHECK(setrlimit(RLIMIT_DATA, &was) == 0);
    /* The limit gone, the same commit succeeds. */
    CHECK(VirtualAlloc(p, 256 * MIB, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK_EQ(p[16 * MIB - 1], 1);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}
#endif

int main(void)
{
    at_init();
#ifndef _WIN32
    test_data_limit();
#else
    printf("skipped: no per-process commit limit is set up on Windows\n");
#endif
    return wmt_report();
}

/*
 * wmtest.h - a tiny assertion harness shared by every test program.  Plain C that builds
 * with mingw-w64 too, so the api tests can run under Wine and on Windows as a cross-check.
 * Each program ends with `return wmt_report();`, which prints "N passed, N failed".
 */
#ifndef WMTEST_H
#define WMTEST_H

#include <stdio.h>
#include <stdlib.h>

static int wmt_passed, wmt_failed;

/* Under ThreadSanitizer most of the address space is the sanitizer's own (only its application
 * ranges take mappings), and whether 1 TiB is free in one piece depends on where ASLR put the
 * executable: tests that reserve that much use less there. */
#if defined(__SANITIZE_THREAD__)
#define WMT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WMT_TSAN 1
#endif
#endif
#ifndef WMT_TSAN
#define WMT_TSAN 0
#endif
/* A huge reservation: 1 TiB, or 256 GiB under ThreadSanitizer. */
#define WMT_HUGE ((SIZE_T)1 << (WMT_TSAN ? 38 : 40))

#ifndef _WIN32
#include <sys/resource.h>
#endif
/* Whether RLIMIT_AS (ulimit -v) leaves room to reserve `need` more bytes of address space (with
 * 1 GiB to spare for what the process has mapped); if not, says that `what` is skipped.  On
 * Windows there is no such limit. */
static inline int wmt_room_for(const char *what, unsigned long long need)
{
#ifndef _WIN32
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (unsigned long long)rl.rlim_cur < need + (1ull << 30)) {
        printf("skipped: %s needs %llu bytes of address space; RLIMIT_AS is %llu\n", what, need,
               (unsigned long long)rl.rlim_cur);
        return 0;
    }
#else
    (void)what, (void)need;
#endif
    return 1;
}

/* Room for `count` more open descriptors (sections, views and names hold one each on Linux;
 * Windows has no such limit on handles): the soft RLIMIT_NOFILE raised as far as the hard one
 * allows, with 256 to spare.  If the hard limit is too low, says that `what` is skipped. */
static inline int wmt_descriptors_for(const char *what, unsigned long long count)
{
#ifndef _WIN32
    struct rlimit rl;
    const unsigned long long want = count + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && (unsigned long long)rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && (unsigned long long)rl.rlim_max < want) {
            printf("skipped: %s needs %llu descriptors; the RLIMIT_NOFILE hard limit is %llu\n",
                   what, want, (unsigned long long)rl.rlim_max);
            return 0;
        }
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            printf("skipped: %s needs %llu descriptors; RLIMIT_NOFILE could not be raised\n", what,
                   want);
            return 0;
        }
    }
#else
    (void)what, (void)count;
#endif
    return 1;
}

#define WMT_FAIL(fmt, ...)                                                    \
    do {                                                                      \
        fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
        wmt_failed++;                                                         \
    } while (0)

#define CHECK(cond)                              \
    do {                                         \
        if (cond)                                \
            wmt_passed++;                        \
        else                                     \
            WMT_FAIL("CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_EQ(a, b)                                                                       \
    do {                                                                                     \
        unsigned long long wmt_a = (unsigned long long)(a), wmt_b = (unsigned long long)(b); \
        if (wmt_a == wmt_b)                                                                  \
            wmt_passed++;                                                                    \
        else                                                                                 \
            WMT_FAIL("%s == %s failed: 0x%llx != 0x%llx", #a, #b, wmt_a, wmt_b);             \
    } while (0)

/* A Win32 call that must fail with a given last error. */
#define CHECK_FAILS(call, err)                                                                \
    do {                                                                                      \
        SetLastError(0xdeadbeef);                                                             \
        unsigned long long wmt_r = (unsigned long long)(call);                                \
        unsigned long long wmt_e = GetLastError();                                            \
        if (wmt_r == 0 && wmt_e == (unsigned long long)(err))                                 \
            wmt_passed++;                                                                     \
        else                                                                                  \
            WMT_FAIL("%s: returned 0x%llx, last error %llu, expected failure with %s (%llu)", \
                     #call, wmt_r, wmt_e, #err, (unsigned long long)(err));                   \
    } while (0)

#define REQUIRE(cond)                                                                            \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed, stopping\n", __FILE__, __LINE__, #cond); \
            wmt_failed++;                                                                        \
            return wmt_report();                                                                 \
        }                                                                                        \
    } while (0)

#define REQUIRE_VOID(cond)                                                         \
    do {                                                                           \
        if (!(cond)) {                                                             \
            WMT_FAIL("REQUIRE(%s) failed, skipping the rest of this case", #cond); \
            return;                                                                \
        }                                                                          \
    } while (0)

static int wmt_report(void)
{
    printf("%d passed, %d failed\n", wmt_passed, wmt_failed);
    return wmt_failed ? 1 : 0;
}

#endif

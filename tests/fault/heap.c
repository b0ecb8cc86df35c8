/*
 * Fault: heap corruption with HeapEnableTerminationOnCorruption on ends the process with a
 * noncontinuable STATUS_HEAP_CORRUPTION (exit status 0x74, the code's low byte): a double
 * free (of a cached and of an uncached block), an overrun into the next block's header found
 * by HeapFree, a pointer that is not from the heap (a stack address, a malloc'd block), a
 * double free of a large block.  Without it the same calls fail and the process goes on
 * (tests/api/heap.c).  An unhandled HEAP_GENERATE_EXCEPTIONS failure ends the process with
 * STATUS_NO_MEMORY.  Under AddressSanitizer a freed block is poisoned: reading it is
 * reported.  One child per case (except_child.h).
 */
#define _GNU_SOURCE
#include "except_child.h"

#include <stdint.h>
#include <stdlib.h>

static HANDLE terminating_heap(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    if (!h || !HeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0))
        _exit(122);
    return h;
}

static void double_free(void)
{
    HANDLE h = terminating_heap();
    void *p = HeapAlloc(h, 0, 100);
    HeapFree(h, 0, p);
    HeapFree(h, 0, p);
    say("resumed after a double free\n");
}

static void double_free_cached(void)
{
    HANDLE h = terminating_heap();
    void *v[40];
    for (int i = 0; i < 40; i++) /* enough of one size to turn the front end on */
        v[i] = HeapAlloc(h, 0, 48);
    for (int i = 0; i < 40; i++)
        HeapFree(h, 0, v[i]);
    HeapFree(h, 0, v[3]);
    say("resumed after a double free of a cached block\n");
}

static void overrun(void)
{
    HANDLE h = terminating_heap();
    char *a = HeapAlloc(h, 0, 40), *b = HeapAlloc(h, 0, 40);
    if (!a || !b || b - a > 256 || b < a)
        _exit(123);
    memset(a, 0x41, (size_t)(b - a)); /* through b's header */
    HeapFree(h, 0, b);
    say("resumed after freeing an overrun block\n");
}

static void foreign_stack(void)
{
    HANDLE h = terminating_heap();
    char buf[128];
    HeapFree(h, 0, (void *)(((uintptr_t)buf + 63) & ~(uintptr_t)63));
    say("resumed after freeing a stack address\n");
}

static void foreign_malloc(void)
{
    HANDLE h = terminating_heap();
    void *m = malloc(64);
    HeapFree(h, 0, m);
    say("resumed after freeing a malloc'd block\n");
}

static void large_double_free(void)
{
    HANDLE h = terminating_heap();
    void *p = HeapAlloc(h, 0, 2 << 20);
    HeapFree(h, 0, p);
    HeapFree(h, 0, p);
    say("resumed after a double free of a large block\n");
}

static void no_memory_unhandled(void)
{
    HANDLE h = HeapCreate(HEAP_GENERATE_EXCEPTIONS, 0x10000, 0x10000);
    if (!h)
        _exit(122);
    HeapAlloc(h, 0, 0x100000);
    say("resumed after an unhandled STATUS_NO_MEMORY\n");
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif

#ifdef HEAP_ASAN
static void use_after_free(void)
{
    HANDLE h = HeapCreate(0, 0, 0);
    volatile char *p = HeapAlloc(h, 0, 100);
    p[50] = 1;
    HeapFree(h, 0, (void *)p);
    (void)p[50];
    say("read a freed block unnoticed\n");
}
#endif

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } corrupt[] = {
        { "double_free", double_free },
        { "double_free_cached", double_free_cached },
        { "overrun", overrun },
        { "foreign_stack", foreign_stack },
        { "foreign_malloc", foreign_malloc },
        { "large_double_free", large_double_free },
    };
    struct child c;

    for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        if (run_case(corrupt[i].name, corrupt[i].fn, CORE_OFF, 20, &c)) {
            CHECK_EXIT(c, 0x74);
            CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc0000374");
        }
    }
    if (run_case("no_memory_unhandled", no_memory_unhandled, CORE_OFF, 20, &c)) {
        CHECK_EXIT(c, 0x17);
        CHECK_ERR_STARTS(c, "winmem: unhandled exception 0xc0000017 (STATUS_NO_MEMORY)");
    }
#ifdef HEAP_ASAN
    if (run_case("use_after_free", use_after_free, CORE_OFF, 20, &c)) {
        CHECK(!(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0));
        CHECK_ERR_HAS(c, "use-after-poison");
    }
#endif
    return wmt_report();
}

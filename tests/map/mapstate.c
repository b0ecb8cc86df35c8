/*
 * mapstate - a process holding every kind of memory the address-space picture shows, which
 * writes the picture and its text dump (winmem_map.h) and checks the dump's records.
 *
 *   mapstate DIR   writes DIR/map.html, DIR/map.txt, DIR/rendered.html (the text drawn by
 *                  wm_map_render) and DIR/expect.txt: one "KIND 0xADDR" line per element the
 *                  picture must draw, for tests/map/browser.sh to look for in the browser.
 *
 * Also: a fork()ed child that exits through exit() must not write WINMEM_MAP's file (only the
 * parent does, at its own exit), and the exported calls fail the Win32 way.
 */
#define _GNU_SOURCE
#include <windows.h>
#include <ntddk.h>
#include <winmem_map.h>

#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wmtest.h"

#define KIB ((SIZE_T)1 << 10)
#define MIB ((SIZE_T)1 << 20)

static char *text;

/* The dump's line starting with `prefix` (NULL when none). */
static const char *line_with(const char *dump, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0)
            return p;
    return NULL;
}

static int has(const char *dump, const char *fmt, uintptr_t a, const char *must)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), fmt, (unsigned long)a);
    const char *l = line_with(dump, prefix);
    if (!l) {
        fprintf(stderr, "no line starting \"%s\"\n", prefix);
        return 0;
    }
    const char *e = strchr(l, '\n');
    if (must && !memmem(l, e ? (size_t)(e - l) : strlen(l), must, strlen(must))) {
        fprintf(stderr, "line \"%.*s\" lacks \"%s\"\n", (int)(e ? e - l : 80), l, must);
        return 0;
    }
    return 1;
}

/* A whole file, read in pieces (/proc files have no size). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0, cap = 1 << 16;
    char *b = malloc(cap);
    if (!f || !b) {
        if (f)
            fclose(f);
        free(b);
        return NULL;
    }
    for (size_t n; (n = fread(b + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len - 1 == 0) {
            char *g = realloc(b, cap * 2);
            if (!g)
                break;
            b = g;
            cap *= 2;
        }
    }
    b[len] = 0;
    fclose(f);
    return b;
}

/* The dump's protection text for a PAGE_* value (base name, then modifiers). */
static void prot_name(DWORD p, char *buf, size_t len)
{
    static const char *const base[] = { "NOACCESS",          "READONLY",         "READWRITE",
                                        "WRITECOPY",         "EXECUTE",          "EXECUTE_READ",
                                        "EXECUTE_READWRITE", "EXECUTE_WRITECOPY" };
    size_t used = 0;
    buf[0] = 0;
    if (p == 0) {
        snprintf(buf, len, "-");
        return;
    }
    for (int i = 0; i < 8; i++)
        if ((p & 0xff) == (1u << i))
            used = (size_t)snprintf(buf, len, "%s", base[i]);
    if (p & PAGE_GUARD)
        used += (size_t)snprintf(buf + used, len - used, "|GUARD");
    if (p & PAGE_NOCACHE)
        snprintf(buf + used, len - used, "|NOCACHE");
}

/* Every run line agrees with VirtualQuery: the same allocation, state and protection, and a
 * region reaching at least to the run's end (VirtualQuery joins runs that differ only in
 * flags such as locked). */
static void runs_agree_with_virtualquery(const char *dump)
{
    unsigned checked = 0;
    for (const char *l = line_with(dump, "run "); l; l = line_with(l + 1, "run ")) {
        unsigned long start, size;
        char state[16], prot[64], want[64];
        MEMORY_BASIC_INFORMATION m;
        if (sscanf(l, "run %lx %lx %15s %63s", &start, &size, state, prot) != 4 ||
            !VirtualQuery((void *)start, &m, sizeof(m))) {
            WMT_FAIL("bad run line or VirtualQuery failed at \"%.40s\"", l);
            continue;
        }
        prot_name(m.Protect, want, sizeof(want));
        CHECK_EQ((uintptr_t)m.BaseAddress, start);
        CHECK_EQ(m.State, strcmp(state, "commit") == 0 ? MEM_COMMIT : MEM_RESERVE);
        CHECK(strcmp(prot, want) == 0);
        CHECK(m.RegionSize >= size);
        checked++;
    }
    CHECK(checked >= 10);
}

int main(int argc, char **argv)
{
    char path[4096], html[4096], rendered[4096], expect_path[4096];
    DWORD old;

    REQUIRE(argc == 2);
    snprintf(path, sizeof(path), "%s/map.txt", argv[1]);
    snprintf(html, sizeof(html), "%s/map.html", argv[1]);
    snprintf(rendered, sizeof(rendered), "%s/rendered.html", argv[1]);
    snprintf(expect_path, sizeof(expect_path), "%s/expect.txt", argv[1]);

    /* A reservation with runs: committed read-write, a guard page, read-only, reserved. */
    BYTE *res = VirtualAlloc(NULL, MIB, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE(res);
    REQUIRE(VirtualAlloc(res, 64 * KIB, MEM_COMMIT, PAGE_READWRITE));
    REQUIRE(VirtualAlloc(res + 64 * KIB, 4 * KIB, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    REQUIRE(VirtualAlloc(res + 128 * KIB, 64 * KIB, MEM_COMMIT, PAGE_READONLY));
    /* A write-watched region with two pages written. */
    BYTE *ww =
        VirtualAlloc(NULL, 256 * KIB, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE(ww);
    ww[0] = 1;
    ww[16 * 4096] = 1;
    /* A secured range. */
    BYTE *sec = VirtualAlloc(NULL, 128 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(sec);
    HANDLE sh = MmSecureVirtualMemory(sec + 8 * KIB, 16 * KIB, PAGE_READWRITE);
    REQUIRE(sh);
    /* A placeholder split in two, one half replaced by a view below. */
    BYTE *ph = VirtualAlloc2(NULL, NULL, 128 * KIB, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                             PAGE_NOACCESS, NULL, 0);
    REQUIRE(ph);
    REQUIRE(VirtualFree(ph, 64 * KIB, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    /* A view of a named pagefile section, and one of a file. */
    char sname[64]; /* one per process: the browser test runs this program beside ctest's */
    snprintf(sname, sizeof(sname), "Local\\winmem-map-test-%ld", (long)getpid());
    HANDLE ps = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, sname);
    REQUIRE(ps);
    BYTE *pv = MapViewOfFile(ps, FILE_MAP_WRITE, 0, 0, 0);
    REQUIRE(pv);
    REQUIRE(MapViewOfFile3(ps, NULL, ph + 64 * KIB, 0, 64 * KIB, MEM_REPLACE_PLACEHOLDER,
                           PAGE_READONLY, NULL, 0) == ph + 64 * KIB);
    char fpath[4096];
    snprintf(fpath, sizeof(fpath), "%s/viewed file.bin", argv[1]);
    HANDLE f = CreateFileA(fpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    REQUIRE(f != INVALID_HANDLE_VALUE);
    static BYTE zeros[64 * 1024];
    DWORD wrote;
    REQUIRE(WriteFile(f, zeros, sizeof(zeros), &wrote, NULL));
    HANDLE fs = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
    REQUIRE(fs);
    BYTE *fv = MapViewOfFile(fs, FILE_MAP_READ, 0, 0, 0);
    REQUIRE(fv);
    /* A heap with a small block and a large one (its own allocation). */
    HANDLE heap = HeapCreate(0, 0, 0);
    REQUIRE(heap);
    REQUIRE(HeapAlloc(heap, 0, 100));
    void *big = HeapAlloc(heap, 0, 2 * MIB);
    REQUIRE(big);
    /* Foreign memory: malloc's brk heap exists once something small is allocated. */
    volatile char *small = malloc(64);
    REQUIRE(small);
    small[0] = 1;
    /* A JIT-style executable page. */
    BYTE *code = VirtualAlloc(NULL, 64 * KIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(code && VirtualProtect(code, 64 * KIB, PAGE_EXECUTE_READ, &old));

    /* The failures. */
    CHECK_FAILS(wm_map_write(NULL, WM_MAP_HTML), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(wm_map_write(path, 7), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(wm_map_render(fpath, rendered), ERROR_INVALID_PARAMETER); /* zeros: no dump */
    CHECK_FAILS(wm_map_render("/nonexistent/dump.txt", rendered), ERROR_FILE_NOT_FOUND);
    CHECK_FAILS(wm_map_write("/nonexistent/map.html", WM_MAP_HTML), ERROR_FILE_NOT_FOUND);

    CHECK(wm_map_write(path, WM_MAP_TEXT));
    CHECK(wm_map_write(html, WM_MAP_HTML));
    CHECK(wm_map_render(path, rendered));
    text = slurp(path);
    REQUIRE(text);
    CHECK(strncmp(text, "winmem-map 1\n", 13) == 0);
    CHECK(has(text, "alloc 0x%lx 0x100000 private READWRITE", (uintptr_t)res, NULL));
    CHECK(has(text, "run 0x%lx 0x10000 commit READWRITE", (uintptr_t)res, NULL));
    CHECK(has(text, "run 0x%lx 0x1000 commit READWRITE|GUARD", (uintptr_t)res + 64 * KIB, NULL));
    CHECK(has(text, "run 0x%lx 0x10000 commit READONLY", (uintptr_t)res + 128 * KIB, NULL));
    CHECK(has(text, "run 0x%lx ", (uintptr_t)res + 192 * KIB, "reserve -"));
    CHECK(has(text, "alloc 0x%lx ", (uintptr_t)ww, " watched"));
    CHECK(has(text, "written 0x%lx 0x1000", (uintptr_t)ww, NULL));
    CHECK(has(text, "written 0x%lx 0x1000", (uintptr_t)ww + 16 * 4096, NULL));
    CHECK(has(text, "secured 0x%lx 0x4000 readwrite", (uintptr_t)sec + 8 * KIB, NULL));
    CHECK(has(text, "alloc 0x%lx 0x10000 mapped", (uintptr_t)pv, " view"));
    CHECK(has(text, "alloc 0x%lx 0x10000 private NOACCESS", (uintptr_t)ph, " placeholder"));
    CHECK(has(text, "alloc 0x%lx 0x10000 mapped READONLY", (uintptr_t)ph + 64 * KIB, " view"));
    CHECK(has(text, "view 0x%lx 0x10000 0x0 READWRITE pagefile", (uintptr_t)pv, "winmem-map-test"));
    CHECK(has(text, "view 0x%lx 0x10000 0x0 READONLY file - ", (uintptr_t)fv, "viewed%20file.bin"));
    CHECK(has(text, "heap 0x%lx 0x", (uintptr_t)heap, " private"));
    CHECK(has(text, "heapseg 0x%lx 0 ", (uintptr_t)heap, NULL));
    CHECK(has(text, "heaplarge 0x%lx ", (uintptr_t)heap, NULL));
    CHECK(line_with(text, "heap ") && strstr(text, " process\n"));
    CHECK(strstr(text, " stack [stack]\n") != NULL);
    /* malloc's brk heap, where malloc uses one (AddressSanitizer's does not). */
    char *maps = slurp("/proc/self/maps");
    CHECK(maps && (strstr(text, " brk [heap]\n") != NULL) == (strstr(maps, "[heap]") != NULL));
    free(maps);
    CHECK(strstr(text, "libwinmem.so") != NULL); /* a library, from the kernel's list */
    CHECK(has(text, "run 0x%lx 0x10000 commit EXECUTE_READ", (uintptr_t)code, NULL));
    CHECK(strstr(text, "\nend\n") != NULL);
    runs_agree_with_virtualquery(text);
    /* No piece of the kernel's list is reported inside one of winmem's reservations. */
    char fl[64];
    snprintf(fl, sizeof(fl), "foreign 0x%lx ", (unsigned long)(uintptr_t)res);
    CHECK(strstr(text, fl) == NULL);

    /* The debugger's dump: the same records, read without the lock. */
    const char *dbg = wm_map_debug_text();
    REQUIRE(dbg);
    CHECK(strstr(dbg, " debugger\n") != NULL);
    CHECK(has(dbg, "run 0x%lx 0x1000 commit READWRITE|GUARD", (uintptr_t)res + 64 * KIB, NULL));
    CHECK(has(dbg, "secured 0x%lx 0x4000 readwrite", (uintptr_t)sec + 8 * KIB, NULL));
    CHECK(has(dbg, "heapseg 0x%lx 0 ", (uintptr_t)heap, NULL));
    CHECK(wm_map_debug_text() == dbg); /* the buffer is reused */

    char *page = slurp(html), *page2 = slurp(rendered);
    REQUIRE(page && page2);
    CHECK(strstr(page, "<svg id=\"map\"") != NULL);
    CHECK(strstr(page, "http-equiv") == NULL && strstr(page, "src=\"http") == NULL);
    CHECK(strstr(page2, "data-kind=\"guard\"") != NULL);

    /* A fork()ed child that calls exit() does not write WINMEM_MAP's file. */
    pid_t child = fork();
    if (child == 0)
        exit(0);
    int status;
    CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status));

    FILE *e = fopen(expect_path, "w");
    REQUIRE(e);
    fprintf(e, "alloc %lx\nguard %lx\nwritten %lx\nsecured %lx\nview %lx\nview %lx\nheapseg %lx\n",
            (unsigned long)(uintptr_t)res, (unsigned long)(uintptr_t)(res + 64 * KIB),
            (unsigned long)(uintptr_t)ww, (unsigned long)(uintptr_t)(sec + 8 * KIB),
            (unsigned long)(uintptr_t)pv, (unsigned long)(uintptr_t)fv,
            (unsigned long)(uintptr_t)heap);
    fprintf(e, "pid %ld\n", (long)getpid());
    fclose(e);
    printf("picture: %s\n", html);

    MmUnsecureVirtualMemory(sh);
    free(page);
    free(page2);
    free(text);
    free((void *)small);
    return wmt_report();
}

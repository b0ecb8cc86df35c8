/*
 * view.c - views of file-mapping objects: MapViewOfFile(Ex) alignment, sizes and addresses,
 * the FILE_MAP_* → protection table, which section protections allow which views,
 * VirtualQuery / VirtualProtect / VirtualAlloc / VirtualFree on views, copy-on-write,
 * UnmapViewOfFile, the lifetime of a mapping behind its views, and FlushViewOfFile.  The
 * expected values are those of /tmp/research/mappings.md.  Plain Win32 C: builds with
 * mingw-w64 and runs under Wine or Windows too.
 */
#include "apitest.h"

#include <stdio.h>

/* A file of size bytes, byte i being (BYTE)(i / 4096 + 1), opened with access. */
static HANDLE make_file(const char *path, size_t size, DWORD access)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return INVALID_HANDLE_VALUE;
    for (size_t i = 0; i < size; i++)
        fputc((int)(i / 4096 + 1) & 0xff, f);
    fclose(f);
    return CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

/* The byte at offset off of the file, read with C stdio (-1 on failure). */
static int file_byte(const char *path, long off)
{
    FILE *f = fopen(path, "rb");
    int c = -1;
    if (f && fseek(f, off, SEEK_SET) == 0)
        c = fgetc(f);
    if (f)
        fclose(f);
    return c;
}

static HANDLE pagefile(DWORD prot, DWORD size)
{
    return CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, prot, 0, size, NULL);
}

#define CHECK_VIEW(v, size, prot) \
    CHECK_REGION((v), (v), (v), (prot), (size), MEM_COMMIT, (prot), MEM_MAPPED)

static void test_alignment_and_size(void)
{
    HANDLE m = pagefile(PAGE_READWRITE, (DWORD)(4 * GRAN));
    REQUIRE_VOID(m != NULL);
    /* Offsets are multiples of the allocation granularity. */
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, (DWORD)PAGE, 0), ERROR_MAPPED_ALIGNMENT);
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, 1, PAGE), ERROR_MAPPED_ALIGNMENT);
    /* So are addresses. */
    BYTE *spot = VirtualAlloc(NULL, 4 * GRAN, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE_VOID(spot != NULL);
    CHECK(VirtualFree(spot, 0, MEM_RELEASE));
    CHECK_FAILS(MapViewOfFileEx(m, FILE_MAP_WRITE, 0, 0, PAGE, spot + PAGE),
                ERROR_MAPPED_ALIGNMENT);
    CHECK_FAILS(MapViewOfFileEx(m, FILE_MAP_WRITE, 0, 0, PAGE, spot + 42), ERROR_MAPPED_ALIGNMENT);
    BYTE *v = MapViewOfFileEx(m, FILE_MAP_WRITE, 0, 0, GRAN, spot);
    CHECK(v == spot);
    if (v == spot) {
        CHECK_VIEW(v, GRAN, PAGE_READWRITE);
        /* Taken addresses: by a view, or by VirtualAlloc memory. */
        CHECK_FAILS_NOCHANGE(MapViewOfFileEx(m, FILE_MAP_WRITE, 0, 0, GRAN, spot),
                             ERROR_INVALID_ADDRESS, spot, GRAN);
        BYTE *a = VirtualAlloc(spot + 2 * GRAN, GRAN, MEM_RESERVE, PAGE_READWRITE);
        CHECK(a == spot + 2 * GRAN);
        if (a)
            CHECK_FAILS_NOCHANGE(MapViewOfFileEx(m, FILE_MAP_READ, 0, 0, GRAN, a),
                                 ERROR_INVALID_ADDRESS, a, GRAN);
        VirtualFree(a, 0, MEM_RELEASE);
        UnmapViewOfFile(v);
    }
    /* Larger than the section, or the whole section; size 0 maps to its end. */
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 4 * GRAN + 1), ERROR_ACCESS_DENIED);
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, (DWORD)GRAN, 3 * GRAN + 1),
                ERROR_ACCESS_DENIED);
    CHECK((v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 4 * GRAN)) != NULL);
    if (v)
        CHECK_VIEW(v, 4 * GRAN, PAGE_READWRITE);
    UnmapViewOfFile(v);
    CHECK((v = MapViewOfFile(m, FILE_MAP_WRITE, 0, (DWORD)GRAN, 0)) != NULL);
    if (v)
        CHECK_VIEW(v, 3 * GRAN, PAGE_READWRITE);
    UnmapViewOfFile(v);
    /* winmem's choice; Windows unverified */
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, (DWORD)(4 * GRAN), 0), ERROR_ACCESS_DENIED);
    CloseHandle(m);

    /* A paging-file section is page-rounded: 4090 bytes map as one page. */
    m = pagefile(PAGE_READWRITE, 4090);
    REQUIRE_VOID(m != NULL);
    CHECK((v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0)) != NULL);
    if (v)
        CHECK_VIEW(v, 4096, PAGE_READWRITE);
    UnmapViewOfFile(v);
    CloseHandle(m);

    /* A file section keeps its exact size: one byte more is too big. */
    char path[400];
    at_tmp_path(path, sizeof(path), "view-size");
    HANDLE f = make_file(path, 0x3452, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    CHECK(m != NULL);
    CHECK_FAILS(MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0x3453), ERROR_ACCESS_DENIED);
    CHECK((v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0x3452)) != NULL);
    if (v)
        CHECK_VIEW(v, 0x4000, PAGE_READWRITE);
    UnmapViewOfFile(v);
    CloseHandle(m);
    CloseHandle(f);
    remove(path);
}

/* FILE_MAP_* → the view's protection (Protect and AllocationProtect), on a section that
 * allows everything: every combination of COPY, WRITE, READ, SECTION_MAP_EXECUTE and
 * FILE_MAP_EXECUTE, as Windows Vista and later give them.  COPY counts only when nothing but
 * FILE_MAP_EXECUTE is beside it: with SECTION_MAP_EXECUTE (0x09, 0x29) the view has no access. */
static void test_access_table(void)
{
    static const struct {
        DWORD access, prot;
    } t[] = {
        { 0, PAGE_NOACCESS },
        { FILE_MAP_COPY, PAGE_WRITECOPY },
        { FILE_MAP_WRITE, PAGE_READWRITE },
        { FILE_MAP_WRITE | FILE_MAP_COPY, PAGE_READWRITE },
        { FILE_MAP_READ, PAGE_READONLY },
        { FILE_MAP_READ | FILE_MAP_COPY, PAGE_READONLY },
        { FILE_MAP_READ | FILE_MAP_WRITE, PAGE_READWRITE },
        { FILE_MAP_READ | FILE_MAP_WRITE | FILE_MAP_COPY, PAGE_READWRITE },
        { SECTION_MAP_EXECUTE, PAGE_NOACCESS },
        { SECTION_MAP_EXECUTE | FILE_MAP_COPY, PAGE_NOACCESS },
        { SECTION_MAP_EXECUTE | FILE_MAP_WRITE, PAGE_READWRITE },
        { SECTION_MAP_EXECUTE | FILE_MAP_WRITE | FILE_MAP_COPY, PAGE_READWRITE },
        { SECTION_MAP_EXECUTE | FILE_MAP_READ, PAGE_READONLY },
        { SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_COPY, PAGE_READONLY },
        { SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE, PAGE_READWRITE },
        { SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE | FILE_MAP_COPY, PAGE_READWRITE },
        { FILE_MAP_EXECUTE, PAGE_NOACCESS },
        { FILE_MAP_EXECUTE | FILE_MAP_COPY, PAGE_EXECUTE_WRITECOPY },
        { FILE_MAP_EXECUTE | FILE_MAP_WRITE, PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | FILE_MAP_WRITE | FILE_MAP_COPY, PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | FILE_MAP_READ, PAGE_EXECUTE_READ },
        { FILE_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_COPY, PAGE_EXECUTE_READ },
        { FILE_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE, PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE | FILE_MAP_COPY,
          PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE, PAGE_NOACCESS },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_COPY, PAGE_NOACCESS },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_WRITE, PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_WRITE | FILE_MAP_COPY,
          PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_READ, PAGE_EXECUTE_READ },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_COPY,
          PAGE_EXECUTE_READ },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE,
          PAGE_EXECUTE_READWRITE },
        { FILE_MAP_EXECUTE | SECTION_MAP_EXECUTE | FILE_MAP_READ | FILE_MAP_WRITE | FILE_MAP_COPY,
          PAGE_EXECUTE_READWRITE },
        { FILE_MAP_ALL_ACCESS, PAGE_READWRITE },
    };
    HANDLE m = pagefile(PAGE_EXECUTE_READWRITE, (DWORD)GRAN);
    REQUIRE_VOID(m != NULL);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        void *v = MapViewOfFile(m, t[i].access, 0, 0, 0);
        CHECK(v != NULL);
        if (!v) {
            fprintf(stderr, "  access 0x%lx: error %lu\n", (unsigned long)t[i].access,
                    (unsigned long)GetLastError());
            continue;
        }
        MEMORY_BASIC_INFORMATION mbi;
        CHECK_EQ(VirtualQuery(v, &mbi, sizeof(mbi)), sizeof(mbi));
        if (mbi.Protect != t[i].prot || mbi.AllocationProtect != t[i].prot)
            WMT_FAIL("access 0x%lx: Protect 0x%lx, AllocationProtect 0x%lx, expected 0x%lx",
                     (unsigned long)t[i].access, (unsigned long)mbi.Protect,
                     (unsigned long)mbi.AllocationProtect, (unsigned long)t[i].prot);
        CHECK_VIEW(v, GRAN, t[i].prot);
        CHECK(UnmapViewOfFile(v));
    }
    CloseHandle(m);
}

/* Which views each section protection allows (the rest: ERROR_ACCESS_DENIED). */
static void test_compatibility(void)
{
    static const DWORD secs[] = {
        PAGE_READONLY,     PAGE_READWRITE,         PAGE_WRITECOPY,
        PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY
    };
    static const struct {
        DWORD access;
        const char *ok; /* one letter per section above: y allowed, n refused */
    } t[] = {
        { FILE_MAP_READ, "yyyyyy" },
        { FILE_MAP_COPY, "yyyyyy" },
        { 0, "yyyyyy" },
        { FILE_MAP_WRITE, "nynnyn" },
        { FILE_MAP_READ | FILE_MAP_WRITE, "nynnyn" },
        { FILE_MAP_EXECUTE | FILE_MAP_READ, "nnnyyy" },
        { FILE_MAP_EXECUTE | FILE_MAP_COPY, "nnnyyy" },
        { FILE_MAP_EXECUTE | FILE_MAP_WRITE, "nnnnyn" },
    };
    char path[400];
    at_tmp_path(path, sizeof(path), "view-compat");
    HANDLE f = make_file(path, 0x2000, GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    for (size_t s = 0; s < sizeof(secs) / sizeof(secs[0]); s++) {
        HANDLE m = CreateFileMappingA(f, NULL, secs[s], 0, 0, NULL);
        CHECK(m != NULL);
        if (!m)
            continue;
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            SetLastError(0xdeadbeef);
            void *v = MapViewOfFile(m, t[i].access, 0, 0, 0);
            DWORD err = GetLastError();
            if (t[i].ok[s] == 'y') {
                CHECK(v != NULL);
            } else {
                CHECK(v == NULL);
                CHECK_EQ(err, ERROR_ACCESS_DENIED);
            }
            if (v != NULL && t[i].ok[s] == 'n')
                fprintf(stderr, "  section 0x%lx access 0x%lx mapped\n", (unsigned long)secs[s],
                        (unsigned long)t[i].access);
            if (v == NULL && t[i].ok[s] == 'y')
                fprintf(stderr, "  section 0x%lx access 0x%lx: error %lu\n", (unsigned long)secs[s],
                        (unsigned long)t[i].access, (unsigned long)err);
            if (v)
                UnmapViewOfFile(v);
        }
        CloseHandle(m);
    }
    CloseHandle(f);
    remove(path);
}

/* VirtualQuery of views, shared memory between views, and VirtualProtect / VirtualAlloc /
 * VirtualFree inside views. */
static void test_query_protect(void)
{
    DWORD old;
    HANDLE m = pagefile(PAGE_READWRITE, (DWORD)GRAN);
    REQUIRE_VOID(m != NULL);
    volatile BYTE *v1 = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    volatile BYTE *v2 = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    volatile BYTE *vc = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0);
    REQUIRE_VOID(v1 && v2 && vc);
    BYTE *p1 = (BYTE *)v1, *p2 = (BYTE *)v2, *pc = (BYTE *)vc;
    CHECK_VIEW(p1, GRAN, PAGE_READWRITE);
    CHECK_REGION(p1 + PAGE + 1, p1 + PAGE, p1, PAGE_READWRITE, GRAN - PAGE, MEM_COMMIT,
                 PAGE_READWRITE, MEM_MAPPED);
    CHECK_VIEW(p2, GRAN, PAGE_READONLY);
    CHECK_VIEW(pc, GRAN, PAGE_WRITECOPY);
    v1[5] = 7;
    CHECK_EQ(v2[5], 7);
    CHECK_EQ(vc[5], 7);

    /* Within the view's access class: a read view takes WRITECOPY, not READWRITE. */
    CHECK(VirtualProtect(p2, PAGE, PAGE_WRITECOPY, &old));
    CHECK_EQ(old, PAGE_READONLY);
    CHECK_REGION(p2, p2, p2, PAGE_READONLY, PAGE, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    CHECK(VirtualProtect(p2, PAGE, PAGE_NOACCESS, &old));
    CHECK_EQ(old, PAGE_WRITECOPY);
    CHECK(VirtualProtect(p2, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_NOACCESS);
    static const DWORD not_r[] = { PAGE_READWRITE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                   PAGE_EXECUTE_WRITECOPY };
    for (size_t i = 0; i < sizeof(not_r) / sizeof(not_r[0]); i++) {
        CHECK_FAILS_NOCHANGE(VirtualProtect(p2, PAGE, not_r[i], &old), ERROR_INVALID_PARAMETER, p2,
                             GRAN);
        CHECK_FAILS_NOCHANGE(VirtualProtect(pc, PAGE, not_r[i], &old), ERROR_INVALID_PARAMETER, pc,
                             GRAN);
    }
    /* A read-write view takes anything without execute. */
    CHECK(VirtualProtect(p1, PAGE, PAGE_WRITECOPY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK(VirtualProtect(p1, PAGE, PAGE_READWRITE, &old));
    CHECK_EQ(old, PAGE_WRITECOPY);
    CHECK_FAILS_NOCHANGE(VirtualProtect(p1, PAGE, PAGE_EXECUTE_READ, &old), ERROR_INVALID_PARAMETER,
                         p1, GRAN);
    CHECK_VIEW(p1, GRAN, PAGE_READWRITE);

    /* Views are not decommitted; a paging-file view takes a commit within its class. */
    CHECK_FAILS_NOCHANGE(VirtualFree(p1, PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p1, GRAN);
    CHECK_FAILS_NOCHANGE(VirtualFree(p2, GRAN, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, p2, GRAN);
    CHECK(VirtualAlloc(p1, PAGE, MEM_COMMIT, PAGE_READONLY) == p1);
    CHECK_REGION(p1, p1, p1, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p2, PAGE, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER, p2, GRAN);

    /* Unmapped: free again. */
    CHECK(UnmapViewOfFile(p1));
    CHECK_FREE(p1, GRAN);
    CHECK_EQ(v2[5], 7);
    CHECK(UnmapViewOfFile(p2));
    CHECK(UnmapViewOfFile(pc));
    CloseHandle(m);

    /* A view of a file is committed by the file: VirtualAlloc(MEM_COMMIT) is refused. */
    char path[400];
    at_tmp_path(path, sizeof(path), "view-commit");
    HANDLE f = make_file(path, 2 * PAGE, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    BYTE *v = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    CHECK(v != NULL);
    if (v) {
        CHECK_FAILS_NOCHANGE(VirtualAlloc(v, PAGE, MEM_COMMIT, PAGE_READWRITE), ERROR_ACCESS_DENIED,
                             v, 2 * PAGE);
        CHECK_FAILS_NOCHANGE(VirtualAlloc(v, PAGE, MEM_COMMIT, PAGE_READONLY), ERROR_ACCESS_DENIED,
                             v, 2 * PAGE);
        CHECK_FAILS_NOCHANGE(VirtualFree(v, PAGE, MEM_DECOMMIT), ERROR_INVALID_PARAMETER, v,
                             2 * PAGE);
        UnmapViewOfFile(v);
    }
    CloseHandle(m);
    CloseHandle(f);
    remove(path);
}

/* The access a protection grants, for the rule a commit inside a view follows: READONLY and
 * WRITECOPY read, EXECUTE* read and execute, and so on. */
static DWORD access_bits(DWORD prot)
{
    switch (prot) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY:
        return 1;
    case PAGE_READWRITE:
        return 3;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_WRITECOPY:
        return 5;
    case PAGE_EXECUTE_READWRITE:
        return 7;
    default:
        return 0;
    }
}

/* VirtualAlloc(MEM_COMMIT) inside a view: Windows looks at the view before the protection
 * (which is why the copy-on-write protections, refused for private memory, can pass).  In a
 * view of a file every commit fails with ERROR_ACCESS_DENIED; in a view of the paging file it
 * succeeds when the protection's access is within the view's, and reads back as asked (so
 * PAGE_WRITECOPY in a read-write view), else ERROR_INVALID_PARAMETER. */
static void test_commit_in_view(void)
{
    static const DWORD prots[] = { PAGE_NOACCESS,          PAGE_READONLY,         PAGE_READWRITE,
                                   PAGE_WRITECOPY,         PAGE_EXECUTE,          PAGE_EXECUTE_READ,
                                   PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY };
    static const DWORD accesses[] = { 0,
                                      FILE_MAP_READ,
                                      FILE_MAP_COPY,
                                      FILE_MAP_WRITE,
                                      FILE_MAP_EXECUTE | FILE_MAP_READ,
                                      FILE_MAP_EXECUTE | FILE_MAP_COPY,
                                      FILE_MAP_EXECUTE | FILE_MAP_WRITE };
    char path[400];
    at_tmp_path(path, sizeof(path), "view-commit-prot");
    HANDLE f = make_file(path, 2 * PAGE, GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    HANDLE sections[2] = { pagefile(PAGE_EXECUTE_READWRITE, (DWORD)(2 * PAGE)),
                           CreateFileMappingA(f, NULL, PAGE_EXECUTE_READWRITE, 0, 0, NULL) };
    REQUIRE_VOID(sections[0] && sections[1]);
    for (int file = 0; file < 2; file++) {
        for (size_t a = 0; a < sizeof(accesses) / sizeof(accesses[0]); a++) {
            BYTE *v = MapViewOfFile(sections[file], accesses[a], 0, 0, 0);
            CHECK(v != NULL);
            if (!v)
                continue;
            DWORD vprot = at_protect(v);
            for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
                DWORD want = access_bits(prots[i]);
                if (file) {
                    CHECK_FAILS_NOCHANGE(VirtualAlloc(v, PAGE, MEM_COMMIT, prots[i]),
                                         ERROR_ACCESS_DENIED, v, 2 * PAGE);
                } else if ((want & access_bits(vprot)) != want) {
                    CHECK_FAILS_NOCHANGE(VirtualAlloc(v, PAGE, MEM_COMMIT, prots[i]),
                                         ERROR_INVALID_PARAMETER, v, 2 * PAGE);
                } else if (VirtualAlloc(v, PAGE, MEM_COMMIT, prots[i]) != v) {
                    WMT_FAIL("view 0x%lx: commit 0x%lx failed with %lu", (unsigned long)accesses[a],
                             (unsigned long)prots[i], (unsigned long)GetLastError());
                } else {
                    CHECK_EQ(at_protect(v), prots[i]);
                    CHECK_EQ(at_state(v), MEM_COMMIT);
                }
            }
            CHECK(UnmapViewOfFile(v));
        }
    }

    /* PAGE_WRITECOPY committed in a read-write view is copy-on-write: the first write makes
     * the page private (PAGE_READWRITE from then on), and another view does not see it. */
    BYTE *w = MapViewOfFile(sections[0], FILE_MAP_WRITE, 0, 0, 0);
    BYTE *r = MapViewOfFile(sections[0], FILE_MAP_READ, 0, 0, 0);
    REQUIRE_VOID(w && r);
    w[0] = 1;
    CHECK(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_WRITECOPY) == w);
    CHECK_REGION(w, w, w, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    w[0] = 2;
    CHECK_EQ(r[0], 1);
    CHECK_REGION(w, w, w, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    /* Committing again keeps the private copy, and it stays private (a later copy-on-write
     * protection does not copy the section's page over it). */
    CHECK(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_READWRITE) == w);
    CHECK_EQ(w[0], 2);
    CHECK_EQ(r[0], 1);
    DWORD old;
    CHECK(VirtualProtect(w, PAGE, PAGE_WRITECOPY, &old));
    w[1] = 9;
    CHECK_EQ(w[0], 2);
    CHECK_EQ(r[1], 0);
    /* So does a copy-on-write commit over it, like VirtualProtect: the page keeps its copy
     * and reads as written. */
    CHECK(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_WRITECOPY) == w);
    CHECK_EQ(at_protect(w), PAGE_READWRITE);
    w[2] = 7;
    CHECK_EQ(w[0], 2);
    CHECK_EQ(r[2], 0);
    CHECK(UnmapViewOfFile(w));
    CHECK(UnmapViewOfFile(r));

    /* The same in a SEC_RESERVE section: the asker's pages become copy-on-write, the other
     * view's committed with its own protection. */
    HANDLE m = pagefile(PAGE_READWRITE | SEC_RESERVE, (DWORD)(2 * PAGE));
    w = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    r = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    REQUIRE_VOID(w && r);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_EXECUTE_WRITECOPY),
                         ERROR_INVALID_PARAMETER, w, 2 * PAGE);
    CHECK_EQ(at_state(r), MEM_RESERVE);
    CHECK(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_WRITECOPY) == w);
    CHECK_REGION(w, w, w, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    CHECK_REGION(r, r, r, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    r[0] = 3;
    CHECK_EQ(w[0], 3);
    w[0] = 4;
    CHECK_EQ(r[0], 3);
    CHECK(VirtualAlloc(w, PAGE, MEM_COMMIT, PAGE_WRITECOPY) == w);
    CHECK_EQ(at_protect(w), PAGE_READWRITE);
    w[1] = 5;
    CHECK_EQ(w[0], 4);
    CHECK_EQ(r[1], 0);
    CHECK(UnmapViewOfFile(w));
    CHECK(UnmapViewOfFile(r));
    CloseHandle(m);

    /* Private memory has no copy-on-write. */
    BYTE *p = VirtualAlloc(NULL, PAGE, MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(p != NULL);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_WRITECOPY), ERROR_INVALID_PARAMETER,
                         p, PAGE);
    CHECK_FAILS_NOCHANGE(VirtualAlloc(p, PAGE, MEM_COMMIT, PAGE_EXECUTE_WRITECOPY),
                         ERROR_INVALID_PARAMETER, p, PAGE);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));

    CloseHandle(sections[0]);
    CloseHandle(sections[1]);
    CloseHandle(f);
    remove(path);
}

/* Copy-on-write: a FILE_MAP_COPY view, and WRITECOPY pages in a read-write view. */
static void test_copy_on_write(void)
{
    char path[400];
    DWORD old;
    at_tmp_path(path, sizeof(path), "view-cow");
    HANDLE f = make_file(path, 4 * PAGE, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    REQUIRE_VOID(m != NULL);
    BYTE *c = MapViewOfFile(m, FILE_MAP_COPY, 0, 0, 0);
    BYTE *w = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    BYTE *r = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    REQUIRE_VOID(c && w && r);

    CHECK_VIEW(c, 4 * PAGE, PAGE_WRITECOPY);
    CHECK_EQ(c[PAGE], 2);
    c[PAGE + 3] = 0x77; /* the first write to page 1 copies that page alone */
    CHECK_EQ(c[PAGE + 3], 0x77);
    CHECK_REGION(c, c, c, PAGE_WRITECOPY, PAGE, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    CHECK_REGION(c + PAGE, c + PAGE, c, PAGE_WRITECOPY, PAGE, MEM_COMMIT, PAGE_READWRITE,
                 MEM_MAPPED);
    CHECK_REGION(c + 2 * PAGE, c + 2 * PAGE, c, PAGE_WRITECOPY, 2 * PAGE, MEM_COMMIT,
                 PAGE_WRITECOPY, MEM_MAPPED);
    CHECK_EQ(w[PAGE + 3], 2);
    CHECK_EQ(r[PAGE + 3], 2);
    CHECK_EQ(file_byte(path, (long)PAGE + 3), 2);
    /* Shared writes no longer reach the copied page; they still reach the others. */
    w[PAGE + 4] = 0x55;
    w[2 * PAGE] = 0x66;
    CHECK_EQ(c[PAGE + 4], 2);
    CHECK_EQ(c[2 * PAGE], 0x66);
    /* A written copy-on-write page is read-write from now on. */
    CHECK(VirtualProtect(c + PAGE, PAGE, PAGE_READONLY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK(VirtualProtect(c + PAGE, PAGE, PAGE_WRITECOPY, &old));
    CHECK_EQ(old, PAGE_READONLY);
    /* A written copy-on-write page keeps reporting read-write when asked for WRITECOPY. */
    CHECK_EQ(at_protect(c + PAGE), PAGE_READWRITE);
    CHECK_FAILS(VirtualProtect(c + PAGE, PAGE, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER);

    /* WRITECOPY on two pages of a read-write view, then a write to the first of them. */
    CHECK(VirtualProtect(w, 2 * PAGE, PAGE_WRITECOPY, &old));
    CHECK_EQ(old, PAGE_READWRITE);
    CHECK_REGION(w, w, w, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    w[10] = 0x99;
    CHECK_REGION(w, w, w, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    CHECK_REGION(w + PAGE, w + PAGE, w, PAGE_READWRITE, PAGE, MEM_COMMIT, PAGE_WRITECOPY,
                 MEM_MAPPED);
    CHECK_REGION(w + 2 * PAGE, w + 2 * PAGE, w, PAGE_READWRITE, 2 * PAGE, MEM_COMMIT,
                 PAGE_READWRITE, MEM_MAPPED);
    CHECK_EQ(r[10], 1);
    CHECK_EQ(file_byte(path, 10), 1);
    /* The untouched WRITECOPY page still shows shared data, the read-write rest still shares. */
    w[2 * PAGE + 1] = 0x44;
    CHECK_EQ(r[2 * PAGE + 1], 0x44);
    CHECK_EQ(file_byte(path, (long)(2 * PAGE + 1)), 0x44);
    CHECK_EQ(w[PAGE], r[PAGE]);

    CHECK(UnmapViewOfFile(c));
    CHECK(UnmapViewOfFile(w));
    CHECK(UnmapViewOfFile(r));
    CloseHandle(m);
    CloseHandle(f);
    /* The file holds the shared writes only. */
    CHECK_EQ(file_byte(path, 10), 1);
    CHECK_EQ(file_byte(path, (long)PAGE + 3), 2);
    CHECK_EQ(file_byte(path, (long)PAGE + 4), 0x55);
    CHECK_EQ(file_byte(path, (long)(2 * PAGE)), 0x66);
    remove(path);
}

/* Copy-on-write views mapped again and again at one address: every first write is copied,
 * however many earlier views wrote the same page (the fourth used to be reported as an
 * access violation: the fault handler counted all faults at an address as one retry loop). */
static void test_copy_on_write_reused_address(void)
{
    HANDLE m = pagefile(PAGE_EXECUTE_READWRITE, (DWORD)(4 * PAGE));
    REQUIRE_VOID(m != NULL);
    BYTE *at = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    REQUIRE_VOID(at != NULL);
    CHECK(UnmapViewOfFile(at));
    static const DWORD access[] = { FILE_MAP_COPY, FILE_MAP_COPY | FILE_MAP_EXECUTE };
    static const DWORD written[] = { PAGE_READWRITE, PAGE_EXECUTE_READWRITE };
    for (int i = 0; i < 8; i++) {
        BYTE *v = MapViewOfFileEx(m, access[i & 1], 0, 0, 0, at);
        CHECK(v == at);
        if (v != at)
            break;
        CHECK_EQ(v[5], 0); /* earlier copies never reached the section */
        v[5] = (BYTE)(i + 1);
        CHECK_EQ(v[5], i + 1);
        CHECK_EQ(at_protect(v), written[i & 1]);
        CHECK(UnmapViewOfFile(v));
    }
    CloseHandle(m);
}

/* UnmapViewOfFile, and a mapping that outlives its handles while a view holds it. */
static void test_unmap_lifetime(void)
{
    BYTE *a = VirtualAlloc(NULL, GRAN, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    REQUIRE_VOID(a != NULL);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(a), ERROR_INVALID_ADDRESS, a, GRAN);
    CHECK_FAILS_NOCHANGE(UnmapViewOfFile(a + 0x3000), ERROR_INVALID_ADDRESS, a, GRAN);
    CHECK_FAILS(UnmapViewOfFile((void *)(ULONG_PTR)0xdeadbeef), ERROR_INVALID_ADDRESS);
    VirtualFree(a, 0, MEM_RELEASE);

    HANDLE m = pagefile(PAGE_READWRITE, (DWORD)(2 * GRAN));
    REQUIRE_VOID(m != NULL);
    static const SIZE_T inside[] = { 100, 4096, 4096 + 100 };
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        BYTE *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
        CHECK(v != NULL);
        if (!v)
            continue;
        CHECK(UnmapViewOfFile(v + inside[i])); /* any address inside: all of the view */
        CHECK_FREE(v, 2 * GRAN);
        /* winmem's choice; Windows unverified */
        CHECK_FAILS(UnmapViewOfFile(v), ERROR_INVALID_ADDRESS);
    }

    /* The view holds the mapping after its last handle closes. */
    volatile BYTE *v = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    volatile BYTE *v2 = MapViewOfFile(m, FILE_MAP_READ, 0, GRAN, 0);
    REQUIRE_VOID(v && v2);
    v[GRAN + 1] = 0x42;
    CHECK(CloseHandle(m));
    CHECK_VIEW((void *)v, 2 * GRAN, PAGE_READWRITE);
    CHECK_EQ(v2[1], 0x42);
    v[GRAN + 2] = 0x43;
    CHECK_EQ(v2[2], 0x43);
    CHECK(UnmapViewOfFile((void *)v));
    CHECK_EQ(v2[1], 0x42);
    CHECK(UnmapViewOfFile((void *)v2));
    CHECK_FREE((void *)v2, GRAN);
}

/* FlushViewOfFile and FlushFileBuffers; writes are seen by file reads at once. */
static void test_flush(void)
{
    char path[400];
    at_tmp_path(path, sizeof(path), "view-flush");
    HANDLE f = make_file(path, 3 * PAGE, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_VOID(f != INVALID_HANDLE_VALUE);
    HANDLE m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    BYTE *v = m ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : NULL;
    REQUIRE_VOID(v != NULL);
    v[1] = 0x11;
    CHECK_EQ(file_byte(path, 1), 0x11);
    v[PAGE + 7] = 0x12;
    CHECK(FlushViewOfFile(v + PAGE, 10));
    CHECK(FlushViewOfFile(v, 0));
    CHECK(FlushFileBuffers(f));
    CHECK_EQ(file_byte(path, (long)PAGE + 7), 0x12);
    CHECK(UnmapViewOfFile(v));
    CloseHandle(m);
    CloseHandle(f);
    CHECK_EQ(file_byte(path, 1), 0x11);
    remove(path);
}

int main(void)
{
    at_init();
    test_alignment_and_size();
    test_access_table();
    test_compatibility();
    test_query_protect();
    test_commit_in_view();
    test_copy_on_write();
    test_copy_on_write_reused_address();
    test_unmap_lifetime();
    test_flush();
    return wmt_report();
}

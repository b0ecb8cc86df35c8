/*
 * ringbuf - a ring buffer shared by two processes through a named file mapping.
 *
 * The parent creates a pagefile-backed section "Local\winmem-ringbuf-<pid>": 64 KiB of
 * control (head and tail, C11 atomics on the mapped memory) and a ring of SLOTS slots of
 * SLOT_SIZE bytes.  It starts a child (fork, then exec of this program, so the child is a
 * fresh process as on Windows and finds the section by its name alone), which opens the
 * section with OpenFileMappingA, maps it and produces the messages; the parent consumes and
 * checks them: sequence numbers, lengths and checksums.
 *
 * A message takes one to a few consecutive slots and may run past the last slot.  Both
 * processes map the ring twice, back to back (the "mirror": two adjacent views of the same
 * part of the section), so the slots after the last one are the first ones again and every
 * message is written and read in one piece, never split at the wrap.  winmem places the two
 * views as Windows programs do: reserve twice the size with VirtualAlloc(MEM_RESERVE), free
 * it, map the views at the two halves with MapViewOfFileEx, and try again elsewhere if
 * another thread took the address in between.
 *
 *   ringbuf [messages]         (default 1,000,000)
 */
#define _GNU_SOURCE /* fork, execv, waitpid, kill, sched_yield, clock_gettime */
#include <windows.h>

#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_SIZE ((SIZE_T)64 << 10) /* one allocation granule: views start on one */
#define SLOT_SIZE 64
#define SLOTS 1024
#define RING_SIZE ((SIZE_T)SLOTS * SLOT_SIZE) /* 64 KiB: a multiple of the granularity */
#define MAX_PAYLOAD 300                       /* a message is at most 5 slots */
#define MAGIC 0x52494e4742554631ULL           /* "RINGBUF1" */

struct control {
    uint64_t magic;
    uint64_t messages;                 /* how many the producer is to send */
    alignas(64) _Atomic uint64_t head; /* slots written, ever (the producer's) */
    alignas(64) _Atomic uint64_t tail; /* slots consumed, ever (the consumer's) */
};

struct message {
    uint32_t seq;
    uint32_t len; /* payload bytes */
    uint64_t sum; /* FNV-1a of the payload */
    unsigned char payload[];
};

static uint64_t mix(uint64_t x) /* splitmix64's finaliser: lengths and contents from seq */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint32_t length_of(uint32_t seq)
{
    return (uint32_t)(mix(seq) % (MAX_PAYLOAD + 1));
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t slots_of(uint32_t len)
{
    return (sizeof(struct message) + len + SLOT_SIZE - 1) / SLOT_SIZE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *who, const char *what)
{
    printf("%s: %s failed: %lu\n", who, what, (unsigned long)GetLastError());
    exit(1);
}

/* Map the ring part of the section twice, back to back: ring[i] and ring[i + RING_SIZE]
 * are the same byte. */
static unsigned char *map_mirror(HANDLE section, DWORD access, const char *who)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        /* Find 2 x RING_SIZE of free address space, then give it back for the views. */
        unsigned char *base = VirtualAlloc(NULL, 2 * RING_SIZE, MEM_RESERVE, PAGE_NOACCESS);
        if (!base)
            fail(who, "VirtualAlloc(MEM_RESERVE, 2 x ring)");
        if (!VirtualFree(base, 0, MEM_RELEASE))
            fail(who, "VirtualFree(MEM_RELEASE)");
        /* Both views map the ring, which starts CONTROL_SIZE into the section. */
        unsigned char *lo =
            MapViewOfFileEx(section, access, 0, (DWORD)CONTROL_SIZE, RING_SIZE, base);
        if (lo) {
            unsigned char *hi = MapViewOfFileEx(section, access, 0, (DWORD)CONTROL_SIZE, RING_SIZE,
                                                base + RING_SIZE);
            if (hi)
                return base;
            UnmapViewOfFile(lo);
        }
        /* Someone (another thread) took part of the range between the free and the maps. */
        printf("%s: mirror at %p taken (error %lu), trying again\n", who, (void *)base,
               (unsigned long)GetLastError());
    }
    fail(who, "mapping the mirrored ring");
    return NULL;
}

/* ---- the producer: the child process ---------------------------------------------------- */

static int produce(const char *name)
{
    static const char who[] = "producer";
    HANDLE section = OpenFileMappingA(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!section)
        fail(who, "OpenFileMappingA");
    struct control *c = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, CONTROL_SIZE);
    if (!c)
        fail(who, "MapViewOfFile(control)");
    if (c->magic != MAGIC) {
        printf("%s: the section has no ring in it\n", who);
        return 1;
    }
    unsigned char *ring = map_mirror(section, FILE_MAP_WRITE, who);
    volatile unsigned char *alias = ring;
    alias[RING_SIZE] = 0xa5; /* the second view is the first one again */
    if (alias[0] != 0xa5) {
        printf("%s: the two views of the ring are not the same memory\n", who);
        return 1;
    }

    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    for (uint32_t seq = 0; seq < c->messages; seq++) {
        uint32_t len = length_of(seq);
        uint64_t n = slots_of(len);
        /* Wait for room: the consumer frees slots by moving the tail. */
        while (head + n - atomic_load_explicit(&c->tail, memory_order_acquire) > SLOTS)
            sched_yield();
        /* In one piece even past the last slot: the mirror continues the ring. */
        struct message *m = (struct message *)(ring + (head % SLOTS) * SLOT_SIZE);
        uint64_t r = mix(~(uint64_t)seq);
        for (uint32_t i = 0; i < len; i++, r = r * 6364136223846793005ULL + 1)
            m->payload[i] = (unsigned char)(r >> 56);
        m->seq = seq;
        m->len = len;
        m->sum = fnv1a(m->payload, len);
        head += n;
        atomic_store_explicit(&c->head, head, memory_order_release); /* publish */
    }

    if (!UnmapViewOfFile(ring) || !UnmapViewOfFile(ring + RING_SIZE) || !UnmapViewOfFile(c) ||
        !CloseHandle(section))
        fail(who, "tearing down");
    return 0;
}

/* ---- the consumer: the parent process --------------------------------------------------- */

int main(int argc, char **argv)
{
    static const char who[] = "consumer";
    if (argc == 3 && strcmp(argv[1], "--produce") == 0)
        return produce(argv[2]);
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
    if (count == 0 || count > UINT32_MAX) {
        fprintf(stderr, "usage: ringbuf [messages]   (1 to %lu)\n", (unsigned long)UINT32_MAX);
        return 2;
    }
    if (!atomic_is_lock_free((_Atomic uint64_t *)NULL)) {
        /* A lock-based atomic's lock would be private to each process. */
        printf("64-bit atomics are not lock-free here: cannot share them between processes\n");
        return 1;
    }

    char name[64];
    snprintf(name, sizeof(name), "Local\\winmem-ringbuf-%ld", (long)getpid());
    HANDLE section = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                        (DWORD)(CONTROL_SIZE + RING_SIZE), name);
    if (!section)
        fail(who, "CreateFileMappingA");
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        printf("%s: %s already exists\n", who, name);
        return 1;
    }
    struct control *c = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, CONTROL_SIZE);
    if (!c)
        fail(who, "MapViewOfFile(control)");
    unsigned char *ring = map_mirror(section, FILE_MAP_READ, who);
    c->messages = count;
    atomic_store(&c->head, 0);
    atomic_store(&c->tail, 0);
    c->magic = MAGIC;

    printf("section    %s: %zu KiB control + %d slots x %d B, mirrored at %p and %p\n", name,
           (size_t)(CONTROL_SIZE >> 10), SLOTS, SLOT_SIZE, (void *)ring,
           (void *)(ring + RING_SIZE));
    fflush(stdout); /* before the fork, or the child's exit would print it again */

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        char *args[] = { argv[0], "--produce", name, NULL };
        execv("/proc/self/exe", args);
        perror("execv /proc/self/exe");
        _exit(127);
    }

    unsigned long bad = 0, wrapped = 0;
    uint64_t tail = 0, bytes = 0;
    uint32_t seq = 0;
    double t0 = 0;
    int status = 0, exited = 0, lost = 0;
    while (seq < count && !lost) {
        uint64_t head = atomic_load_explicit(&c->head, memory_order_acquire);
        if (head == tail) {
            /* Empty: the producer is behind, or gone (then one more look, and stop). */
            if (exited)
                break;
            if (waitpid(child, &status, WNOHANG) == child)
                exited = 1;
            sched_yield();
            continue;
        }
        if (seq == 0)
            t0 = now();
        for (; tail < head && seq < count; seq++) {
            const struct message *m = (const struct message *)(ring + (tail % SLOTS) * SLOT_SIZE);
            uint32_t len = m->len;
            int len_ok = len == length_of(seq) && tail + slots_of(len) <= head;
            if (m->seq != seq || !len_ok || fnv1a(m->payload, len) != m->sum) {
                if (bad++ < 5)
                    printf("%s: message %u is wrong: seq %u, length %u (want %u)%s\n", who, seq,
                           m->seq, len, length_of(seq),
                           len_ok && fnv1a(m->payload, len) != m->sum ? ", bad checksum" : "");
                if (!len_ok) { /* nothing after a bad length can be found: give up */
                    lost = 1;
                    break;
                }
            }
            wrapped += tail % SLOTS + slots_of(len) > SLOTS; /* read in one piece anyway */
            bytes += len;
            tail += slots_of(len);
            atomic_store_explicit(&c->tail, tail, memory_order_release); /* free the slots */
        }
    }
    double secs = now() - t0;
    if (lost && !exited)
        kill(child, SIGTERM); /* it would wait for room forever */
    if (!exited && waitpid(child, &status, 0) != child) {
        perror("waitpid");
        return 1;
    }
    if (seq < count && !lost) {
        printf("%s: the producer stopped after %u of %lu messages\n", who, seq, count);
        bad++;
    }

    printf("received   %u messages, %llu bytes of payload in %llu slots\n", seq,
           (unsigned long long)bytes, (unsigned long long)tail);
    printf("wrapped    %lu messages ran past the last slot, read in one piece through the mirror\n",
           wrapped);
    if (secs > 0)
        printf("throughput %.2f million messages/s, %.1f MB/s of payload\n", count / secs / 1e6,
               (double)bytes / secs / 1e6);
    int child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("producer   %s\n", child_ok ? "exited 0" : "FAILED");
    printf("mismatches %lu\n", bad);

    if (!UnmapViewOfFile(ring) || !UnmapViewOfFile(ring + RING_SIZE) || !UnmapViewOfFile(c) ||
        !CloseHandle(section))
        fail(who, "tearing down");
    return bad == 0 && child_ok ? 0 : 1;
}

/*
 * The handle table's hooks: every handle, whichever call made it (wm_handle_create directly,
 * NtDuplicateObject), is counted by the object's opened hook exactly once and uncounted by
 * its closed hook exactly once; an opened hook that refuses leaves no handle, no reference
 * and no closed call behind.
 */
#include "wmtest.h"
#include "windows.h"
#include "mm/mm.h"

struct counted {
    struct wm_object obj;
    int opened, closed, destroyed;
    NTSTATUS refuse; /* what the opened hook returns */
};

static NTSTATUS counted_opened(struct wm_object *o)
{
    struct counted *c = (struct counted *)o;
    if (c->refuse)
        return c->refuse;
    c->opened++;
    return STATUS_SUCCESS;
}

static void counted_closed(struct wm_object *o)
{
    ((struct counted *)o)->closed++;
}

static void counted_destroy(struct wm_object *o)
{
    ((struct counted *)o)->destroyed++;
}

int main(void)
{
    struct counted c = { .obj = { .type = WM_OBJ_SECTION,
                                  .destroy = counted_destroy,
                                  .handle_opened = counted_opened,
                                  .handle_closed = counted_closed } };
    HANDLE h = NULL, d = NULL, d2 = NULL;

    atomic_init(&c.obj.refs, 1); /* the test's own reference */
    REQUIRE(wm_handle_create(&c.obj, SECTION_MAP_READ, &h) == STATUS_SUCCESS);
    CHECK_EQ(c.opened, 1);
    CHECK_EQ(atomic_load(&c.obj.refs), 2);

    CHECK_EQ(NtDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &d, 0, 0,
                               DUPLICATE_SAME_ACCESS),
             STATUS_SUCCESS);
    CHECK_EQ(c.opened, 2);
    /* Closing the source as part of the duplicate: one open, one close. */
    CHECK_EQ(NtDuplicateObject(NtCurrentProcess(), d, NtCurrentProcess(), &d2, 0, 0,
                               DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE),
             STATUS_SUCCESS);
    CHECK_EQ(c.opened, 3);
    CHECK_EQ(c.closed, 1);
    CHECK_EQ(atomic_load(&c.obj.refs), 3);

    /* A refusing hook: no handle, no reference, nothing to balance. */
    c.refuse = STATUS_INSUFFICIENT_RESOURCES;
    HANDLE x = (HANDLE)(uintptr_t)0x1234;
    CHECK_EQ(wm_handle_create(&c.obj, SECTION_MAP_READ, &x), STATUS_INSUFFICIENT_RESOURCES);
    CHECK_EQ(x, (HANDLE)(uintptr_t)0x1234);
    CHECK_EQ(NtDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &x, 0, 0,
                               DUPLICATE_SAME_ACCESS),
             STATUS_INSUFFICIENT_RESOURCES);
    CHECK_EQ(atomic_load(&c.obj.refs), 3);
    CHECK_EQ(c.closed, 1);
    c.refuse = STATUS_SUCCESS;

    CHECK_EQ(NtClose(h), STATUS_SUCCESS);
    CHECK_EQ(NtClose(d2), STATUS_SUCCESS);
    CHECK_EQ(NtClose(d), STATUS_INVALID_HANDLE); /* closed by DUPLICATE_CLOSE_SOURCE */
    CHECK_EQ(c.opened, 3);
    CHECK_EQ(c.closed, 3);
    CHECK_EQ(atomic_load(&c.obj.refs), 1);
    CHECK_EQ(c.destroyed, 0);
    wm_object_release(&c.obj);
    CHECK_EQ(c.destroyed, 1);
    return wmt_report();
}

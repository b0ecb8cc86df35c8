/*
 * space.c - the address space as an AVL tree of regions keyed by base address.
 *
 * O(log n) lookup, insert and delete, so a million live reservations cost the same per call
 * as ten.  Lookups only read (no rotation on access, unlike a splay tree), which is what
 * lets the fault handler search the tree while no writer is active.
 */
#include "vm.h"

#include <stddef.h>

static int height(const struct wm_region *n)
{
    return n ? n->height : 0;
}

static void fix_height(struct wm_region *n)
{
    int hl = height(n->left), hr = height(n->right);
    n->height = (hl > hr ? hl : hr) + 1;
}

static struct wm_region *rotate_right(struct wm_region *n)
{
    struct wm_region *l = n->left;
    n->left = l->right;
    l->right = n;
    fix_height(n);
    fix_height(l);
    return l;
}

static struct wm_region *rotate_left(struct wm_region *n)
{
    struct wm_region *r = n->right;
    n->right = r->left;
    r->left = n;
    fix_height(n);
    fix_height(r);
    return r;
}

static struct wm_region *balance(struct wm_region *n)
{
    fix_height(n);
    int bf = height(n->left) - height(n->right);
    if (bf > 1) {
        if (height(n->left->left) < height(n->left->right))
            n->left = rotate_left(n->left);
        return rotate_right(n);
    }
    if (bf < -1) {
        if (height(n->right->right) < height(n->right->left))
            n->right = rotate_right(n->right);
        return rotate_left(n);
    }
    return n;
}

static struct wm_region *insert(struct wm_region *n, struct wm_region *r)
{
    if (!n)
        return r;
    if (r->base < n->base)
        n->left = insert(n->left, r);
    else
        n->right = insert(n->right, r);
    return balance(n);
}

static struct wm_region *remove_min(struct wm_region *n, struct wm_region **min)
{
    if (!n->left) {
        *min = n;
        return n->right;
    }
    n->left = remove_min(n->left, min);
    return balance(n);
}

static struct wm_region *remove_node(struct wm_region *n, const struct wm_region *r)
{
    if (!n)
        return NULL;
    if (r->base < n->base) {
        n->left = remove_node(n->left, r);
    } else if (r->base > n->base) {
        n->right = remove_node(n->right, r);
    } else {
        struct wm_region *l = n->left, *rt = n->right, *min;
        if (!rt)
            return l;
        rt = remove_min(rt, &min);
        min->left = l;
        min->right = rt;
        return balance(min);
    }
    return balance(n);
}

void wm_space_insert(struct wm_space *s, struct wm_region *r)
{
    r->left = r->right = NULL;
    r->height = 1;
    s->root = insert(s->root, r);
    s->count++;
}

void wm_space_remove(struct wm_space *s, struct wm_region *r)
{
    s->root = remove_node(s->root, r);
    s->count--;
}

struct wm_region *wm_space_prev(const struct wm_space *s, uintptr_t addr)
{
    struct wm_region *n = s->root, *best = NULL;

    while (n) {
        if (n->base <= addr) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

/* Async-signal-safe: a read-only descent with no allocation and no lock of its own. */
struct wm_region *wm_space_find_sigsafe(const struct wm_space *s, uintptr_t addr)
{
    struct wm_region *r = wm_space_prev(s, addr);
    return r && addr - r->base < r->size ? r : NULL;
}

struct wm_region *wm_space_next(const struct wm_space *s, uintptr_t addr)
{
    struct wm_region *n = s->root, *best = NULL;

    while (n) {
        if (n->base > addr) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

bool wm_space_overlaps(const struct wm_space *s, uintptr_t addr, size_t len)
{
    if (wm_space_find_sigsafe(s, addr))
        return true;
    struct wm_region *n = wm_space_next(s, addr);
    return n && n->base - addr < len;
}

struct check_state {
    size_t page_size;
    size_t count;
    uintptr_t last_end;
    const char *err;
};

static int check(const struct wm_region *n, struct check_state *st)
{
    if (!n)
        return 0;
    int hl = check(n->left, st);
    if (st->err)
        return 0;
    if (n->base < st->last_end) {
        st->err = "regions overlap or are out of order";
        return 0;
    }
    const char *e = wm_region_check(n, st->page_size);
    if (e) {
        st->err = e;
        return 0;
    }
    st->last_end = n->base + n->size;
    st->count++;
    int hr = check(n->right, st);
    if (st->err)
        return 0;
    int h = (hl > hr ? hl : hr) + 1;
    if (n->height != h || hl - hr > 1 || hr - hl > 1)
        st->err = "tree unbalanced or height stale";
    return h;
}

const char *wm_space_check(const struct wm_space *s, size_t page_size)
{
    struct check_state st = { .page_size = page_size };

    check(s->root, &st);
    if (!st.err && st.count != s->count)
        st.err = "region count stale";
    return st.err;
}

/* Per-image index of 4 KiB block hashes: built once per image and kept; how many blocks two images share. */
#include "pool/blockidx.h"
#include "kernel/sha256.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

struct blockidx *blockidx_alloc(uint64_t n)
{
    struct blockidx *x;
    if (n == 0 || n > 0xffffffffull || !(x = kzalloc(sizeof(*x))))
        return NULL;
    x->n = n;
    x->hash = kmalloc((size_t)n * BLOCKIDX_HASH);
    x->order = kmalloc((size_t)n * sizeof(uint32_t));
    if (!x->hash || !x->order) {
        blockidx_free(x);
        return NULL;
    }
    return x;
}

void blockidx_free(struct blockidx *x)
{
    if (!x)
        return;
    kfree(x->hash);
    kfree(x->order);
    kfree(x);
}

static int all_zero(const uint8_t *b)
{
    for (size_t i = 0; i < BLOCKIDX_BS; i++)
        if (b[i])
            return 0;
    return 1;
}

void blockidx_add(struct blockidx *x, uint64_t i, const uint8_t block[BLOCKIDX_BS])
{
    if (i >= x->n)
        return;
    if (all_zero(block)) {
        memset(x->hash[i], 0, BLOCKIDX_HASH);
        x->zero++;
        return;
    }
    sha256(block, BLOCKIDX_BS, x->hash[i]);
    x->order[x->nz++] = (uint32_t)i;
}

static int cmp(const struct blockidx *x, uint32_t a, uint32_t b)
{
    return memcmp(x->hash[a], x->hash[b], BLOCKIDX_HASH);
}

/* Heap sort of order[0..nz): no recursion, no extra memory, O(n log n) for millions of blocks. */
static void sift(struct blockidx *x, size_t root, size_t end)
{
    uint32_t *o = x->order;
    for (size_t child; (child = 2 * root + 1) < end; root = child) {
        if (child + 1 < end && cmp(x, o[child], o[child + 1]) < 0)
            child++;
        if (cmp(x, o[root], o[child]) >= 0)
            return;
        uint32_t t = o[root];
        o[root] = o[child];
        o[child] = t;
    }
}

void blockidx_finish(struct blockidx *x)
{
    size_t n = (size_t)x->nz;
    for (size_t i = n / 2; i-- > 0;)
        sift(x, i, n);
    for (size_t end = n; end > 1; end--) {
        uint32_t t = x->order[0];
        x->order[0] = x->order[end - 1];
        x->order[end - 1] = t;
        sift(x, 0, end - 1);
    }
}

/* The end of the run of equal hashes starting at order[i]. */
static uint64_t run_end(const struct blockidx *x, uint64_t i)
{
    uint64_t j = i + 1;
    while (j < x->nz && !cmp(x, x->order[i], x->order[j]))
        j++;
    return j;
}

void blockidx_share(const struct blockidx *a, const struct blockidx *b, struct blockidx_share *s)
{
    uint64_t i = 0, j = 0;
    memset(s, 0, sizeof(*s));
    s->a_blocks = a->n, s->a_zero = a->zero, s->b_blocks = b->n, s->b_zero = b->zero;
    while (i < a->nz || j < b->nz) {
        uint64_t ie = i < a->nz ? run_end(a, i) : i, je = j < b->nz ? run_end(b, j) : j;
        int c = i == a->nz ? 1 : j == b->nz ? -1 : memcmp(a->hash[a->order[i]], b->hash[b->order[j]], BLOCKIDX_HASH);
        if (c <= 0)
            s->a_distinct++;
        if (c >= 0)
            s->b_distinct++;
        if (c == 0) {
            s->both_distinct++;
            s->a_found += ie - i;
            s->b_found += je - j;
        }
        if (c <= 0)
            i = ie;
        if (c >= 0)
            j = je;
    }
}

int64_t blockidx_find(const struct blockidx *x, const uint8_t h[BLOCKIDX_HASH])
{
    uint64_t lo = 0, hi = x->nz;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = memcmp(x->hash[x->order[mid]], h, BLOCKIDX_HASH);
        if (c == 0)
            return x->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The RAM delta store: 4 KiB blocks in a 64-way radix tree that grows in height and width on demand. */
#include "blk/delta.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

#define RADIX_BITS   6
#define RADIX_SLOTS  (1u << RADIX_BITS)
#define RADIX_LEVELS 11                 /* 66 bits: every 64-bit block number */

struct rnode {
    void *slot[RADIX_SLOTS];            /* level 1: data blocks; above: child nodes */
    uint32_t used;                      /* non-NULL slots: a node that empties is freed */
};

struct delta_ram {
    struct delta head;
    struct rnode *root;
    int height;                         /* levels; the tree covers blocks below 2^(6*height) */
    uint64_t blocks;
};

/* The host-wide budget every RAM store draws from (one I/O context runs the stores: no lock). */
static struct {
    uint64_t blocks, used;
    int (*mem_low)(void);
} budget;

/* Whether the host can give one more delta block. */
static int budget_allows(void)
{
    if (budget.blocks && budget.used >= budget.blocks)
        return 0;
    return !budget.mem_low || !budget.mem_low();
}

/* The walk from the root to a block: the node and slot index at each level (path[0] is the root). */
struct rpath {
    struct rnode *node[RADIX_LEVELS];
    uint32_t idx[RADIX_LEVELS];
    int depth;                          /* entries filled */
};

static int ram_covers(const struct delta_ram *r, uint64_t blk)
{
    int bits = r->height * RADIX_BITS;
    if (r->height == 0)
        return 0;
    return bits >= 64 || blk < (1ull << bits);
}

static uint32_t ram_index(uint64_t blk, int level)
{
    return (uint32_t)(blk >> (RADIX_BITS * (level - 1))) & (RADIX_SLOTS - 1);
}

/* Walk towards blk, recording nodes; stops at a missing child (p->depth == height: the leaf was reached). */
static void ram_walk(struct delta_ram *r, uint64_t blk, struct rpath *p)
{
    struct rnode *n = r->root;
    p->depth = 0;
    if (!ram_covers(r, blk))
        return;
    for (int level = r->height; n && level >= 1; level--) {
        p->node[p->depth] = n;
        p->idx[p->depth] = ram_index(blk, level);
        p->depth++;
        if (level > 1)
            n = n->slot[ram_index(blk, level)];
    }
}

static const uint8_t *ram_lookup(struct delta *d, uint64_t blk)
{
    struct delta_ram *r = (struct delta_ram *)d;
    struct rpath p;
    ram_walk(r, blk, &p);
    if (p.depth != r->height || p.depth == 0)
        return NULL;
    return p.node[p.depth - 1]->slot[p.idx[p.depth - 1]];
}

/* Free the empty nodes at the bottom of a walk, detaching each from its parent. */
static void ram_prune(struct delta_ram *r, struct rpath *p)
{
    for (int i = p->depth - 1; i >= 0 && p->node[i]->used == 0; i--) {
        kfree(p->node[i]);
        if (i == 0) {
            r->root = NULL;
        } else {
            p->node[i - 1]->slot[p->idx[i - 1]] = NULL;
            p->node[i - 1]->used--;
        }
    }
}

/* Add levels on top until the tree covers blk. Returns 0 or -1 when out of memory (tree unchanged). */
static int ram_grow(struct delta_ram *r, uint64_t blk)
{
    while (!ram_covers(r, blk)) {
        if (r->root) {
            struct rnode *top = kzalloc(sizeof(*top));
            if (!top)
                return -1;
            top->slot[0] = r->root;
            top->used = 1;
            r->root = top;
        }
        r->height++;
    }
    return 0;
}

/* Create the missing nodes down to level 1 along blk's walk. Returns 0, or -1 (created nodes pruned). */
static int ram_build(struct delta_ram *r, uint64_t blk, struct rpath *p)
{
    if (!r->root && !(r->root = kzalloc(sizeof(struct rnode))))
        return -1;
    ram_walk(r, blk, p);
    while (p->depth < r->height) {
        struct rnode *parent = p->node[p->depth - 1];
        struct rnode *child = kzalloc(sizeof(*child));
        if (!child) {
            ram_prune(r, p);
            return -1;
        }
        parent->slot[p->idx[p->depth - 1]] = child;
        parent->used++;
        p->node[p->depth] = child;
        p->idx[p->depth] = ram_index(blk, r->height - p->depth);
        p->depth++;
    }
    return 0;
}

static uint8_t *ram_alloc(struct delta *d, uint64_t blk)
{
    struct delta_ram *r = (struct delta_ram *)d;
    struct rpath p;
    uint8_t *data = (uint8_t *)ram_lookup(d, blk);
    if (data)
        return data;
    if ((d->quota_blocks && r->blocks >= d->quota_blocks) || !budget_allows())
        return NULL;
    if (ram_grow(r, blk) < 0 || !(data = kzalloc(DELTA_BLOCK_SIZE)))   /* never an earlier owner's bytes */
        return NULL;
    if (ram_build(r, blk, &p) < 0) {
        kfree(data);
        return NULL;
    }
    p.node[p.depth - 1]->slot[p.idx[p.depth - 1]] = data;
    p.node[p.depth - 1]->used++;
    r->blocks++;
    budget.used++;
    return data;
}

static void ram_drop(struct delta *d, uint64_t blk)
{
    struct delta_ram *r = (struct delta_ram *)d;
    struct rpath p;
    ram_walk(r, blk, &p);
    if (p.depth != r->height || p.depth == 0)
        return;
    struct rnode *leaf = p.node[p.depth - 1];
    void *data = leaf->slot[p.idx[p.depth - 1]];
    if (!data)
        return;
    kfree(data);
    leaf->slot[p.idx[p.depth - 1]] = NULL;
    leaf->used--;
    r->blocks--;
    budget.used--;
    ram_prune(r, &p);
}

/* The first stored block >= from in the subtree n at level (covering blocks from base on). 1 if found. */
static int ram_next_in(const struct rnode *n, int level, uint64_t base, uint64_t from, uint64_t *out)
{
    int shift = RADIX_BITS * (level - 1);
    uint32_t i = from > base ? (uint32_t)((from - base) >> shift) : 0;
    for (; i < RADIX_SLOTS; i++) {
        uint64_t child_base = base + ((uint64_t)i << shift);
        if (!n->slot[i])
            continue;
        if (level == 1) {
            *out = child_base;
            return 1;
        }
        if (ram_next_in(n->slot[i], level - 1, child_base, from > child_base ? from : child_base, out))
            return 1;
    }
    return 0;
}

static uint64_t ram_next(struct delta *d, uint64_t from)
{
    struct delta_ram *r = (struct delta_ram *)d;
    uint64_t blk;
    if (!r->root || !ram_covers(r, from))
        return UINT64_MAX;
    return ram_next_in(r->root, r->height, 0, from, &blk) ? blk : UINT64_MAX;
}

static uint64_t ram_count(struct delta *d)
{
    return ((struct delta_ram *)d)->blocks;
}

/* Free a subtree: level 1 nodes hold data blocks. Depth is at most RADIX_LEVELS. */
static void ram_free_tree(struct rnode *n, int level)
{
    for (uint32_t i = 0; i < RADIX_SLOTS; i++) {
        if (!n->slot[i])
            continue;
        if (level == 1)
            kfree(n->slot[i]);
        else
            ram_free_tree(n->slot[i], level - 1);
    }
    kfree(n);
}

static void ram_destroy(struct delta *d)
{
    struct delta_ram *r = (struct delta_ram *)d;
    if (r->root)
        ram_free_tree(r->root, r->height);
    budget.used -= r->blocks;
    kfree(r);
}

static const struct delta_ops ram_delta_ops = {
    .lookup = ram_lookup, .alloc = ram_alloc, .drop = ram_drop, .next = ram_next, .count = ram_count,
    .flush = NULL, .destroy = ram_destroy,
};

struct delta *delta_ram_create(uint64_t quota_blocks)
{
    struct delta_ram *r = kzalloc(sizeof(*r));
    if (!r)
        return NULL;
    r->head.ops = &ram_delta_ops;
    r->head.quota_blocks = quota_blocks;
    return &r->head;
}

void delta_ram_budget(uint64_t budget_blocks, int (*mem_low)(void))
{
    budget.blocks = budget_blocks;
    budget.mem_low = mem_low;
}

uint64_t delta_ram_used(void)
{
    return budget.used;
}

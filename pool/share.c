/* `pool share A B`: each image's block index (built once, kept) and the share of identical 4 KiB blocks. */
#include "pool/pool.h"
#include "pool/blockidx.h"
#include "blk/blk.h"
#include "blk/sync.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/time.h"

#define CHUNK (64u << 10)

/* Read img's LUN (not through its cache: the clones' lines stay) and hash every block. 0 or -errno. */
static int index_build(struct pool_image *img)
{
    uint64_t n = img->size / BLOCKIDX_BS, t0 = time_ns();
    struct blockidx *x = blockidx_alloc(n);
    uint8_t *buf = kmalloc(CHUNK);
    int err = x && buf ? 0 : -ENOMEM;
    for (uint64_t b = 0; !err && b < n; b += CHUNK / BLOCKIDX_BS) {
        uint64_t k = n - b < CHUNK / BLOCKIDX_BS ? n - b : CHUNK / BLOCKIDX_BS;
        err = blk_rw_sync(img->lun, BLK_READ, b * BLOCKIDX_BS, buf, k * BLOCKIDX_BS, pool_wait_turn);
        for (uint64_t i = 0; !err && i < k; i++)
            blockidx_add(x, b + i, buf + i * BLOCKIDX_BS);
    }
    kfree(buf);
    if (err) {
        blockidx_free(x);
        return err;
    }
    blockidx_finish(x);
    img->index = x;
    kprintf("pool %s: indexed %llu blocks (%llu zero) in %llu ms\n", img->name, (unsigned long long)n,
            (unsigned long long)x->zero, (unsigned long long)((time_ns() - t0) / 1000000));
    return 0;
}

static int ready_index(const char *cmd, const char *name, struct pool_image **out)
{
    struct pool_image *img = pool_find(name);
    int err;
    if (!img || img->state != POOL_READY || !img->lun) {
        kprintf("error: pool %s: %s: %s\n", cmd, name, img ? "not ready" : "no such image");
        return img ? -EAGAIN : -ENOENT;
    }
    if (!img->index && (err = index_build(img))) {
        kprintf("error: pool %s: %s: reading the image failed (%d)\n", cmd, name, err);
        return err;
    }
    *out = img;
    return 0;
}

int pool_index_cmd(const char *name)
{
    struct pool_image *img;
    int had = pool_find(name) && pool_find(name)->index, err = ready_index("index", name, &img);
    if (!err && had)
        kprintf("pool %s: indexed already (%llu blocks, %llu zero)\n", name, (unsigned long long)img->index->n,
                (unsigned long long)img->index->zero);
    return err;
}

/* "part of whole (P.P%)" */
static void frac(uint64_t part, uint64_t whole)
{
    uint64_t pm = whole ? part * 1000 / whole : 0;
    kprintf("%llu of %llu (%llu.%llu%%)", (unsigned long long)part, (unsigned long long)whole,
            (unsigned long long)(pm / 10), (unsigned long long)(pm % 10));
}

static void side(const char *me, const char *other, uint64_t blocks, uint64_t zero, uint64_t found, uint64_t distinct,
                 uint64_t both)
{
    kprintf("  %s: %llu blocks, %llu zero; non-zero blocks also in %s: ", me, (unsigned long long)blocks,
            (unsigned long long)zero, other);
    frac(found, blocks - zero);
    kprintf("; distinct contents also in %s: ", other);
    frac(both, distinct);
    kprintf("\n");
}

int pool_share_cmd(const char *a_name, const char *b_name)
{
    struct pool_image *a, *b;
    struct blockidx_share s;
    int err;
    if ((err = ready_index("share", a_name, &a)) || (err = ready_index("share", b_name, &b)))
        return err;
    blockidx_share(a->index, b->index, &s);
    kprintf("pool share %s %s: identical 4 KiB blocks (zero blocks apart)\n", a->name, b->name);
    side(a->name, b->name, s.a_blocks, s.a_zero, s.a_found, s.a_distinct, s.both_distinct);
    side(b->name, a->name, s.b_blocks, s.b_zero, s.b_found, s.b_distinct, s.both_distinct);
    return 0;
}

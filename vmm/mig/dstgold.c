/* A migration destination's golden blocks: pages a clone holds that are blocks of its image, read from this host's target. */
#include "vmm/mig/dst.h"
#include "pool/pool.h"
#include "pool/blockidx.h"
#include "blk/blk.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/sha256.h"
#include "kernel/errno.h"

#define GOLD_MAX 256                         /* reads per HASHES batch; entries past it are asked for */

enum gold_state { G_FREE, G_QUEUED, G_OUT, G_DONE, G_FAILED };

struct gold_req {
    struct blk_req r;
    struct mig_gold *g;
    enum gold_state state;
    uint32_t entry, kind;
    uint64_t index, block;
    uint8_t hash[32];
};

struct mig_gold {
    struct blockidx *index;
    struct blk_dev *cache;
    struct gold_req req[GOLD_MAX];
    uint8_t *buf;                            /* GOLD_MAX blocks: reads land here, never in guest RAM */
    int n, out;                              /* requests of this batch; of them at the device */
};

int mig_gold_open(struct mig_dst *d, const char *image)
{
    struct pool_image *img = pool_find(image);
    struct mig_gold *g;
    if (!img || img->state != POOL_READY || !img->index || !img->cache)
        return -ENOENT;
    if (!(g = kzalloc(sizeof(*g))) || !(g->buf = kmalloc(GOLD_MAX * BLOCKIDX_BS))) {
        kfree(g);
        return -ENOMEM;
    }
    g->index = img->index;
    g->cache = img->cache;
    d->gold = g;
    return 0;
}

int mig_gold_queue(struct mig_dst *d, uint32_t entry, uint32_t kind, uint64_t index, const uint8_t hash[32])
{
    struct mig_gold *g = d->gold;
    int64_t b;
    if (!g || g->n == GOLD_MAX || (b = blockidx_find(g->index, hash)) < 0)
        return 0;
    struct gold_req *q = &g->req[g->n++];
    q->g = g;
    q->state = G_QUEUED;
    q->entry = entry;
    q->kind = kind;
    q->index = index;
    q->block = (uint64_t)b;
    memcpy(q->hash, hash, 32);
    return 1;
}

static void gold_done(struct blk_req *r, int status)
{
    struct gold_req *q = r->priv;
    q->state = status ? G_FAILED : G_DONE;
    q->g->out--;
}

/* Submit what is queued; a full device (-EAGAIN) is tried again on the next turn. */
static void submit(struct mig_gold *g)
{
    for (int i = 0; i < g->n; i++) {
        struct gold_req *q = &g->req[i];
        if (q->state != G_QUEUED)
            continue;
        memset(&q->r, 0, sizeof(q->r));
        q->r.op = BLK_READ;
        q->r.lba = q->block * (BLOCKIDX_BS / BLK_SECTOR_SIZE);
        q->r.nr = BLOCKIDX_BS / BLK_SECTOR_SIZE;
        q->r.iov[0] = (struct blk_iov){ g->buf + (size_t)i * BLOCKIDX_BS, BLOCKIDX_BS };
        q->r.niov = 1;
        q->r.done = gold_done;
        q->r.priv = q;
        q->state = G_OUT;
        g->out++;
        int rc = blk_submit(g->cache, &q->r);
        if (rc == -EAGAIN) {
            q->state = G_QUEUED;
            g->out--;
            return;
        }
        if (rc) {
            q->state = G_FAILED;
            g->out--;
        }
    }
}

/* A block came back: into its page or delta block if it is what the source hashed, else ask for it. */
static void apply(struct mig_dst *d, struct gold_req *q, const uint8_t *block, uint8_t *bits)
{
    uint8_t got[32], *dst;
    if (q->state == G_DONE) {
        sha256(block, BLOCKIDX_BS, got);
        if (!memcmp(got, q->hash, 32) && (dst = mig_dst_at_w(d, q->kind, q->index))) {
            memcpy(dst, block, BLOCKIDX_BS);
            mig_dst_written(d, q->kind, q->index, q->hash);
            d->golden++;
            return;
        }
    }
    bits[q->entry / 8] |= (uint8_t)(1u << (q->entry % 8));
}

int mig_gold_poll(struct mig_dst *d, uint8_t *bits)
{
    struct mig_gold *g = d->gold;
    if (!g)
        return 1;
    submit(g);
    for (int i = 0; i < g->n; i++)
        if (g->req[i].state == G_QUEUED || g->req[i].state == G_OUT)
            return 0;
    for (int i = 0; i < g->n; i++) {
        apply(d, &g->req[i], g->buf + (size_t)i * BLOCKIDX_BS, bits);
        g->req[i].state = G_FREE;
    }
    g->n = 0;
    return 1;
}

int mig_gold_inflight(const struct mig_dst *d)
{
    return d->gold ? d->gold->out : 0;
}

void mig_gold_free(struct mig_dst *d)
{
    if (!d->gold)
        return;
    kfree(d->gold->buf);
    kfree(d->gold);
    d->gold = NULL;
}

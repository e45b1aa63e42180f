/* The block stack as the pool builds it: several cow clones over one shared cache over an async base. */
#define TEST_SUITE "blk_stack"
#include "test.h"
#include "blk_mock.h"
#include "blk/cow.h"
#include "blk/cache.h"
#include "kernel/errno.h"
#include <stdlib.h>

#define NCLONE   4
#define DISK     (4u << 20)
#define MAXOUT   24

struct op {
    struct blk_req req;
    uint8_t *buf, *want;           /* want: a read's expected bytes, taken at submission */
    int clone, done, status, busy;
};

static struct blk_dev *clones[NCLONE];
static uint8_t *model[NCLONE];
static struct op ops[MAXOUT];
static uint64_t mismatches, completions, doubles;

static void op_done(struct blk_req *req, int status)
{
    struct op *o = req->priv;
    if (o->done)
        doubles++;
    o->done = 1;
    o->status = status;
    completions++;
}

/* Check a finished op; free its slot. */
static void op_retire(struct op *o)
{
    if (o->req.op == BLK_READ && o->status == 0 && memcmp(o->buf, o->want, o->req.nr * 512u))
        mismatches++;
    free(o->buf);
    free(o->want);
    memset(o, 0, sizeof(*o));
}

static void op_submit(struct blk_mock *m, struct op *o)
{
    int c = (int)(blk_mock_rand(m) % NCLONE), wr = blk_mock_rand(m) % 3 == 0;
    uint32_t nr = 1 + (uint32_t)(blk_mock_rand(m) % 40);
    uint64_t lba = blk_mock_rand(m) % (DISK / 512 - nr);
    size_t n = nr * 512u, cut = (size_t)(blk_mock_rand(m) % n);
    memset(o, 0, sizeof(*o));
    o->buf = malloc(n);
    o->want = malloc(n);
    o->clone = c;
    o->req = (struct blk_req){ .op = wr ? BLK_WRITE : BLK_READ, .lba = lba, .nr = nr, .niov = cut ? 2 : 1,
                               .done = op_done, .priv = o };
    o->req.iov[0] = (struct blk_iov){ o->buf, cut ? cut : n };
    o->req.iov[1] = (struct blk_iov){ o->buf + cut, n - cut };
    if (wr)
        for (size_t i = 0; i < n; i++)
            o->buf[i] = (uint8_t)blk_mock_rand(m);
    else
        memcpy(o->want, model[c] + lba * 512, n);
    int rc = blk_submit(clones[c], &o->req);
    if (rc) {                                   /* -EAGAIN: the slot stays free */
        CHECK_EQ(rc, -EAGAIN);
        free(o->buf);
        free(o->want);
        memset(o, 0, sizeof(*o));
        return;
    }
    o->busy = 1;
    if (wr)                                     /* writes take effect in submission order */
        memcpy(model[c] + lba * 512, o->buf, n);
}

/* Destroy clone c the way the pool does (wait for its requests, then close) and make a fresh one. */
static void clone_recycle(struct blk_mock *m, struct blk_dev *cache, int c)
{
    int err;
    while (cow_inflight(clones[c]) > 0)
        CHECK(blk_mock_complete(m, (size_t)(blk_mock_rand(m) % (m->nq ? m->nq : 1))) == 0 || !m->nq);
    for (int i = 0; i < MAXOUT; i++)
        if (ops[i].busy && ops[i].clone == c) {
            CHECK(ops[i].done);
            op_retire(&ops[i]);
        }
    clones[c]->ops->close(clones[c]);
    clones[c] = cow_create(cache, 0, "clone", &err);
    CHECK(clones[c] != NULL);
    blk_mock_pattern(m->seed, 0, model[c], DISK);
}

TEST(clones_over_cache_random)
{
    struct blk_mock *m = blk_mock_create(DISK, 77, 1);
    int err;
    struct blk_dev *cache = cache_create(&m->dev, 1u << 20, "golden", &err);
    CHECK(cache != NULL);
    for (int c = 0; c < NCLONE; c++) {
        clones[c] = cow_create(cache, 0, "clone", &err);
        model[c] = malloc(DISK);
        blk_mock_pattern(77, 0, model[c], DISK);
    }
    m->refuse_permille = 20;
    for (int step = 0; step < 40000; step++) {
        int i = (int)(blk_mock_rand(m) % MAXOUT);
        if (!ops[i].busy)
            op_submit(m, &ops[i]);
        else if (ops[i].done)
            op_retire(&ops[i]);
        else if (m->nq)
            blk_mock_complete(m, (size_t)(blk_mock_rand(m) % m->nq));
        if (step % 5000 == 4999)
            clone_recycle(m, cache, (int)(blk_mock_rand(m) % NCLONE));
    }
    for (int c = 0; c < NCLONE; c++)
        while (cow_inflight(clones[c]) > 0 && m->nq)
            blk_mock_drain(m);
    for (int i = 0; i < MAXOUT; i++)
        if (ops[i].busy) {
            CHECK(ops[i].done);
            op_retire(&ops[i]);
        }
    CHECK_EQ(mismatches, 0);
    CHECK_EQ(doubles, 0);
    CHECK(completions > 10000);
    CHECK_EQ(m->writes, 0);
    CHECK(blk_mock_unchanged(m));
    for (int c = 0; c < NCLONE; c++) {
        clones[c]->ops->close(clones[c]);
        free(model[c]);
    }
    cache->ops->close(cache);
    m->dev.ops->close(&m->dev);
}

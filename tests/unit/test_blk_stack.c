/* The block stack as the pool builds it: several cow clones over one shared cache over an async base. */
#define TEST_SUITE "blk_stack"
#include "test.h"
#include "blk_mock.h"
#include "blk/cow.h"
#include "blk/cache.h"
#include "blk/sync.h"
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
    clones[c] = cow_create(cache, COW_QUOTA_NONE, "clone", &err);
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
        clones[c] = cow_create(cache, COW_QUOTA_NONE, "clone", &err);
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

/* ---- fairness: one clone flooding the shared cache must not hang another ---- */

#define FLOODERS   3
#define FLOOD_DISK (256ull << 20)

struct fio {
    struct blk_req req;
    uint8_t buf[4096];
    struct blk_dev *dev;
    struct blk_mock *m;
    int done, status, resubmit;
};

/* A flood read finished: check it and send another at once (from inside the completion, as a busy guest does). */
static void fio_done(struct blk_req *req, int status)
{
    struct fio *f = req->priv;
    f->done++;
    f->status = status;
    if (f->resubmit && status == 0) {
        f->done = 0;
        f->req.lba = blk_mock_rand(f->m) % (FLOOD_DISK / 512 - 8) & ~7ull;
        CHECK_EQ(blk_submit(f->dev, &f->req), 0);
    }
}

static void fio_prep(struct fio *f, struct blk_dev *dev, struct blk_mock *m, uint64_t lba, int resubmit)
{
    memset(f, 0, sizeof(*f));
    f->dev = dev;
    f->m = m;
    f->resubmit = resubmit;
    f->req = (struct blk_req){ .op = BLK_READ, .lba = lba, .nr = 8, .niov = 1, .done = fio_done, .priv = f };
    f->req.iov[0] = (struct blk_iov){ f->buf, sizeof(f->buf) };
}

/*
 * FLOODERS clones keep COW_MAX_INFLIGHT reads each outstanding on lines that miss (more than the cache's
 * request slots); a victim clone then reads, one read at a time. Each victim read must complete within a
 * bounded number of base completions, with the right bytes, without the victim being polled.
 */
TEST(cache_flooding_clone_does_not_starve_another)
{
    struct blk_mock *m = blk_mock_create(FLOOD_DISK, 5, 0);
    struct blk_dev *cache, *flood[FLOODERS], *victim;
    static struct fio fl[FLOODERS][COW_MAX_INFLIGHT], v;
    uint8_t want[4096];
    int err, worst = 0;
    CHECK((cache = cache_create(&m->dev, 16 * CACHE_LINE_BYTES, "golden", &err)) != NULL);
    for (int k = 0; k < FLOODERS; k++) {
        CHECK((flood[k] = cow_create(cache, COW_QUOTA_NONE, "flood", &err)) != NULL);
        for (int i = 0; i < COW_MAX_INFLIGHT; i++) {
            fio_prep(&fl[k][i], flood[k], m, blk_mock_rand(m) % (FLOOD_DISK / 512 - 8) & ~7ull, 1);
            CHECK_EQ(blk_submit(flood[k], &fl[k][i].req), 0);
        }
    }
    CHECK((victim = cow_create(cache, COW_QUOTA_NONE, "victim", &err)) != NULL);
    for (int r = 0; r < 20; r++) {
        int steps = 0;
        fio_prep(&v, victim, m, (uint64_t)r * 4096 + 8, 0);
        CHECK_EQ(blk_submit(victim, &v.req), 0);
        /* bound: a turn for a slot, then the requests before it on the oldest-first starved list */
        while (!v.done && steps < 2 * CACHE_REQS && m->nq) {
            blk_mock_complete(m, 0);           /* the base answers in order, one read per step */
            steps++;
        }
        if (steps > worst)
            worst = steps;
        CHECK_EQ(v.done, 1);
        CHECK_EQ(v.status, 0);
        blk_mock_pattern(m->seed, v.req.lba * 512, want, sizeof(want));
        CHECK(v.done != 1 || memcmp(v.buf, want, sizeof(want)) == 0);
        if (!v.done)
            break;
    }
    printf("    victim read: at most %d base completions while %d clones flood\n", worst, FLOODERS);
    for (int k = 0; k < FLOODERS; k++)
        for (int i = 0; i < COW_MAX_INFLIGHT; i++)
            fl[k][i].resubmit = 0;
    for (int k = 0; k < FLOODERS; k++)
        flood[k]->ops->close(flood[k]);
    victim->ops->close(victim);
    cache->ops->close(cache);
    m->dev.ops->close(&m->dev);
}

/* ---- the synchronous helper: a short base read shows zeros, never its bounce memory's old bytes ---- */

static struct blk_mock *sync_mock;
static void sync_wait(void)
{
    blk_mock_drain(sync_mock);
}

TEST(sync_short_read_exposes_no_old_data)
{
    static uint8_t buf[8192], want[4096], zero[4096];
    sync_mock = blk_mock_create(1u << 20, 31, 0);
    sync_mock->short_next = 1;
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(blk_rw_sync(&sync_mock->dev, BLK_READ, 4096, buf, sizeof(buf), sync_wait), 0);
    blk_mock_pattern(31, 4096, want, sizeof(want));
    CHECK_MEM(buf, want, 4096);
    CHECK_MEM(buf + 4096, zero, 4096);
    sync_mock->dev.ops->close(&sync_mock->dev);
}

/* Host tests of the copy-on-write overlay: random workloads against a flat reference model of the disk. */
#define TEST_SUITE "blk_cow"
#include <stdlib.h>
#include <time.h>
#include "tests/unit/test.h"
#include "tests/unit/blk_cow_fixture.h"
#include "tests/unit/blk_tenant.h"
#include "blk/cow.h"
#include "blk/delta.h"
#include "kernel/errno.h"

/* ---- a test request: scatter pieces placed apart with canaries between them ---- */

#define GAP     32
#define CANARY  0xa5
#define MAXSECT 64
#define MAXREQ  72                       /* more than the clone takes at once: submit sees -EAGAIN */

struct treq {
    struct blk_req r;
    int inuse, calls, status;
    uint64_t seq;
    size_t used;                        /* bytes of raw laid out (pieces, gaps) */
    uint8_t raw[MAXSECT * 512 + (BLK_MAX_IOV + 1) * GAP];
    uint8_t expect[MAXSECT * 512];      /* reads: the model's bytes when submitted */
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Split bytes into 1..16 pieces at random byte offsets and lay them out in t->raw with gaps. */
static void treq_layout(struct treq *t, size_t bytes, int max_pieces)
{
    size_t cuts[BLK_MAX_IOV + 1];
    int n = 1 + (int)(rnd() % (uint64_t)max_pieces), k = 1;
    cuts[0] = 0;
    for (int i = 1; i < n && bytes > 1; i++)
        cuts[k++] = 1 + rnd() % (bytes - 1);
    cuts[k++] = bytes;
    for (int i = 1; i < k; i++)                  /* insertion sort, duplicates make empty pieces */
        for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t x = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = x;
        }
    t->r.niov = 0;
    size_t pos = GAP;
    for (int i = 0; i + 1 < k; i++) {
        size_t len = cuts[i + 1] - cuts[i];
        t->r.iov[t->r.niov++] = (struct blk_iov){ t->raw + pos, len };
        pos += len + GAP;
    }
    t->used = pos;
    memset(t->raw, CANARY, t->used);
}

static void treq_gather(const struct treq *t, uint8_t *out)
{
    for (int i = 0; i < t->r.niov; i++) {
        memcpy(out, t->r.iov[i].base, t->r.iov[i].len);
        out += t->r.iov[i].len;
    }
}

static void treq_scatter(struct treq *t, const uint8_t *in)
{
    for (int i = 0; i < t->r.niov; i++) {
        memcpy(t->r.iov[i].base, in, t->r.iov[i].len);
        in += t->r.iov[i].len;
    }
}

static int treq_canaries_ok(const struct treq *t)
{
    const uint8_t *p = t->raw;
    for (int i = 0; i < t->r.niov; i++) {
        for (const uint8_t *q = p; q < (const uint8_t *)t->r.iov[i].base; q++)
            if (*q != CANARY)
                return 0;
        p = (const uint8_t *)t->r.iov[i].base + t->r.iov[i].len;
    }
    for (; p < t->raw + t->used; p++)
        if (*p != CANARY)
            return 0;
    return 1;
}

/* ---- the random workload against the model ---- */

/*
 * Two models. Without a quota a request takes effect in the model when it is submitted (so a read checks
 * that it saw exactly the requests submitted before it). Under a quota whether a write fails -ENOSPC
 * depends on the delta when it commits, which is when it completes: the model takes effect at completion
 * (requests that share a block complete in submission order, so the data is the same) and predicts each
 * write's -ENOSPC from the blocks stored then.
 */
struct world {
    struct blk_mock *m;
    struct blk_dev *cow;
    uint8_t *model;
    uint64_t bytes, sectors, seq, mismatches, canary_bad, bad_status, flush_early, done_twice;
    struct treq *t;                      /* MAXREQ of them */
    int outstanding;
    uint64_t quota;                      /* blocks; 0: the submission model */
    uint8_t *stored;                     /* quota model: block has a delta */
    uint64_t nstored, enospc, enospc_wrong, writes_ok;
};
static struct world W;

/* Quota model: whether a write of blocks b0..b1 must fail, as cow_write_commit decides. */
static int model_enospc(uint64_t b0, uint64_t b1)
{
    uint64_t need = 0;
    for (uint64_t b = b0; b <= b1; b++)
        need += !W.stored[b];
    return W.nstored + need > W.quota;
}

static void model_discard(uint64_t lba, uint32_t nr);

/* Quota model: the effect of t at its completion, and its check. */
static void model_complete(struct treq *t, int status, uint8_t *got)
{
    struct blk_req *r = &t->r;
    uint64_t b0 = r->lba / 8, b1 = (r->lba + r->nr - 1) / 8;
    int want = r->op == BLK_WRITE && model_enospc(b0, b1) ? -ENOSPC : 0;
    if (status != want)
        W.enospc_wrong++;
    if (status)
        return;
    if (r->op == BLK_READ && memcmp(got, W.model + r->lba * 512, (size_t)r->nr * 512))
        W.mismatches++;
    if (r->op == BLK_WRITE) {
        W.writes_ok++;
        memcpy(W.model + r->lba * 512, got, (size_t)r->nr * 512);
        for (uint64_t b = b0; b <= b1; b++)
            if (!W.stored[b]) {
                W.stored[b] = 1;
                W.nstored++;
            }
    }
    if (r->op == BLK_DISCARD)
        model_discard(r->lba, r->nr);
}

static void world_done(struct blk_req *r, int status)
{
    struct treq *t = (struct treq *)r;
    static uint8_t got[MAXSECT * 512];
    if (t->calls++)
        W.done_twice++;
    t->status = status;
    if (W.quota) {
        treq_gather(t, got);
        model_complete(t, status, got);
        W.enospc += status == -ENOSPC;
    } else if (status) {
        W.bad_status++;
    }
    if (r->op == BLK_READ && !status && !W.quota) {
        treq_gather(t, got);
        if (memcmp(got, t->expect, (size_t)r->nr * 512))
            W.mismatches++;
    }
    if (r->op == BLK_FLUSH)
        for (int i = 0; i < MAXREQ; i++)
            if (W.t[i].inuse && W.t[i].seq < t->seq && (W.t[i].r.op == BLK_WRITE || W.t[i].r.op == BLK_DISCARD))
                W.flush_early++;
    if (!treq_canaries_ok(t))
        W.canary_bad++;
    t->inuse = 0;
    W.outstanding--;
}

/* The model's side of a discard: blocks covered entirely show the base again (and free quota). */
static void model_discard(uint64_t lba, uint32_t nr)
{
    for (uint64_t b = (lba + 7) / 8; b * 8 < lba + nr; b++) {
        uint64_t end = b * 8 + 8 < W.sectors ? b * 8 + 8 : W.sectors;
        if (end > lba + nr)
            continue;
        blk_mock_pattern(W.m->seed, b * BS, W.model + b * BS, (size_t)(end - b * 8) * 512);
        if (W.stored && W.stored[b]) {
            W.stored[b] = 0;
            W.nstored--;
        }
    }
}

/* Pick a range: aligned whole blocks, unaligned short, or block-spanning; a third near the start. */
static void pick_range(uint64_t *lba, uint32_t *nr)
{
    uint64_t span = rnd() % 3 == 0 ? 16 * 8 : W.sectors;
    switch (rnd() % 3) {
    case 0:
        *lba = (rnd() % (span / 8)) * 8;
        *nr = 8 * (uint32_t)(1 + rnd() % 4);
        break;
    case 1:
        *lba = rnd() % span;
        *nr = (uint32_t)(1 + rnd() % 16);
        break;
    default:
        *lba = rnd() % span;
        *nr = (uint32_t)(1 + rnd() % MAXSECT);
        break;
    }
    if (*lba >= W.sectors)
        *lba = W.sectors - 1;
    if (*nr > W.sectors - *lba)
        *nr = (uint32_t)(W.sectors - *lba);
}

static struct treq *treq_get(void)
{
    for (int i = 0; i < MAXREQ; i++)
        if (!W.t[i].inuse)
            return &W.t[i];
    return NULL;
}

/* Submit one random request; the model takes its effect now. Returns the submit's status. */
static int world_submit(struct treq *t)
{
    static uint8_t buf[MAXSECT * 512];
    uint64_t lba = 0;
    uint32_t nr = 0;
    unsigned k = (unsigned)(rnd() % 100);
    enum blk_op op = k < 45 ? BLK_READ : k < 88 ? BLK_WRITE : k < 96 ? BLK_DISCARD : BLK_FLUSH;
    memset(&t->r, 0, sizeof(t->r));
    t->r.op = op;
    t->r.done = world_done;
    if (op != BLK_FLUSH)
        pick_range(&lba, &nr);
    t->r.lba = lba;
    t->r.nr = nr;
    if (op == BLK_READ || op == BLK_WRITE)
        treq_layout(t, (size_t)nr * 512, BLK_MAX_IOV);
    else
        t->used = 0;
    if (op == BLK_WRITE) {
        for (size_t i = 0; i < (size_t)nr * 512; i += 8) {
            uint64_t x = rnd();
            memcpy(buf + i, &x, 8);
        }
        treq_scatter(t, buf);
    }
    if (op == BLK_READ)
        memcpy(t->expect, W.model + lba * 512, (size_t)nr * 512);
    t->inuse = 1;
    t->calls = 0;
    t->seq = ++W.seq;
    W.outstanding++;
    int rc = blk_submit(W.cow, &t->r);
    if (rc) {
        t->inuse = 0;
        W.outstanding--;
        return rc;
    }
    if (W.quota)                         /* effect at completion */
        return 0;
    if (op == BLK_WRITE)
        memcpy(W.model + lba * 512, buf, (size_t)nr * 512);
    else if (op == BLK_DISCARD)
        model_discard(lba, nr);
    return 0;
}

/* Read the whole clone back in pieces and count the bytes differing from the model. */
static uint64_t world_compare_all(void)
{
    static struct treq t;
    uint64_t bad = 0;
    for (uint64_t lba = 0; lba < W.sectors; lba += MAXSECT) {
        uint32_t nr = (uint32_t)(W.sectors - lba < MAXSECT ? W.sectors - lba : MAXSECT);
        memset(&t, 0, sizeof(t));
        t.r = (struct blk_req){ .op = BLK_READ, .lba = lba, .nr = nr, .done = world_done };
        treq_layout(&t, (size_t)nr * 512, 3);
        memcpy(t.expect, W.model + lba * 512, (size_t)nr * 512);
        t.inuse = 1;
        W.outstanding++;
        uint64_t before = W.mismatches;
        if (blk_submit(W.cow, &t.r) != 0)
            return ~0ull;
        blk_mock_drain(W.m);
        bad += t.inuse ? 1 : W.mismatches - before;
    }
    return bad;
}

/* Run nops random requests against a clone of disk_bytes with quota_blocks (0: COW_QUOTA_NONE). */
static void run_model(uint64_t seed, int nops, uint64_t disk_bytes, uint64_t quota_blocks)
{
    int err = 1, submitted = 0, cow_eagain = 0;
    rng_state = seed * 2654435761u + 1;
    memset(&W, 0, sizeof(W));
    W.t = calloc(MAXREQ, sizeof(struct treq));
    W.m = blk_mock_create(disk_bytes, seed, 1);
    W.m->refuse_permille = 30;
    W.quota = quota_blocks;
    W.stored = calloc(disk_bytes / BS + 1, 1);
    W.cow = cow_create(&W.m->dev, quota_blocks ? quota_blocks * BS : COW_QUOTA_NONE, "model", &err);
    CHECK(W.cow != NULL && err == 0);
    W.bytes = W.m->dev.sectors * 512;
    W.sectors = W.m->dev.sectors;
    W.model = malloc(W.bytes);
    blk_mock_pattern(seed, 0, W.model, W.bytes);
    for (int step = 0; submitted < nops; step++) {
        int submit_pct = (step / 400) % 2 ? 95 : 35;      /* bursts fill the clone, lulls drain it */
        struct treq *t = treq_get();
        if (t && (W.m->nq == 0 || (int)(rnd() % 100) < submit_pct)) {
            int rc = world_submit(t);
            submitted += rc == 0;
            cow_eagain += rc == -EAGAIN;
            CHECK(rc == 0 || rc == -EAGAIN);
        } else if (W.m->nq) {
            blk_mock_complete(W.m, (size_t)(rnd() % W.m->nq));
        }
    }
    blk_mock_drain(W.m);
    CHECK_EQ(W.outstanding, 0);                          /* nothing stalled */
    CHECK_EQ(world_compare_all(), 0);
    CHECK_EQ(W.mismatches, 0);
    CHECK_EQ(W.canary_bad, 0);
    CHECK_EQ(W.bad_status, 0);
    CHECK_EQ(W.enospc_wrong, 0);                         /* the quota model predicted every -ENOSPC */
    CHECK(!W.quota || (W.enospc > 0 && W.writes_ok > 0));
    CHECK_EQ(W.flush_early, 0);
    CHECK_EQ(W.done_twice, 0);
    CHECK_EQ(W.m->writes, 0);
    CHECK(blk_mock_unchanged(W.m));
    CHECK(cow_eagain > 0);
    CHECK(W.m->refused > 0);
    struct cow_stats st;
    CHECK_EQ(cow_get_stats(W.cow, &st), 0);
    CHECK_EQ(st.base_bytes, W.m->bytes_read);
    CHECK(st.rmw > 0);
    CHECK(W.quota || st.delta_blocks > 0);             /* under a quota a last discard may empty it */
    CHECK(!W.quota || st.delta_blocks == W.nstored);
    printf("    seed %llu: %d ops, %llu base reads (%llu KiB), %llu rmw, %d clone -EAGAIN, %llu base -EAGAIN, "
           "%llu delta blocks, quota %llu: %llu -ENOSPC\n",
           (unsigned long long)seed, submitted, (unsigned long long)st.base_reads,
           (unsigned long long)st.base_bytes / 1024, (unsigned long long)st.rmw, cow_eagain,
           (unsigned long long)W.m->refused, (unsigned long long)st.delta_blocks,
           (unsigned long long)W.quota, (unsigned long long)W.enospc);
    W.cow->ops->close(W.cow);
    CHECK_EQ(cow_heap.live_bytes, 0);
    CHECK_EQ(cow_heap.live_blocks, 0);
    W.m->dev.ops->close(&W.m->dev);
    free(W.model);
    free(W.stored);
    free(W.t);
}

/* The seed of the long runs: SEED=N replays one; else a new one each run, printed. */
static uint64_t model_seed(const char *test)
{
    const char *e = getenv("SEED");
    struct timespec ts;
    uint64_t seed;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = e ? strtoull(e, NULL, 0) : ((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec) % 1000000007u;
    printf("    %s: seed %llu (replay: SEED=%llu make test-unit-blk-cow)\n", test, (unsigned long long)seed,
           (unsigned long long)seed);
    return seed;
}

TEST(cow_model_million)
{
    run_model(model_seed("cow_model_million"), 1000000, 129 * BS + 3 * 512, 0);
}

/* A quota of a sixth of the disk: writes fail -ENOSPC often, discards free blocks, the model says which. */
TEST(cow_model_tight_quota)
{
    uint64_t seed = model_seed("cow_model_tight_quota");
    run_model(seed, 1000000, 129 * BS + 3 * 512, 22);
    run_model(seed, 50000, 2 * BS + 5 * 512, 1);
}

TEST(cow_model_random)
{
    /* 129 blocks and 3 sectors: the last block is short. */
    static const uint64_t seeds[] = { 1, 7, 42, 1234, 99991 };
    for (int i = 0; i < 5; i++)
        run_model(seeds[i], 22000, 129 * BS + 3 * 512, 0);
}

TEST(cow_model_random_tiny_disk)
{
    /* Three blocks: nearly every request collides with another. */
    run_model(5, 8000, 2 * BS + 5 * 512, 0);
}

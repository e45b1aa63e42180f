/* Host tests of the copy-on-write overlay against a flat reference model of the disk, over the mock base. */
#define TEST_SUITE "blk_cow"
#include <stdlib.h>
#include <time.h>
#include "tests/unit/test.h"
#include "tests/unit/blk_mock.h"
#include "tests/unit/blk_tenant.h"
#include "blk/blk.h"
#include "blk/cow.h"
#include "blk/delta.h"
#include "kernel/errno.h"

#define BS 4096u

/* ---- heap accounting: kmalloc/kzalloc/kfree are wrapped at link time (-Wl,--wrap) ---- */

void *__real_kmalloc(size_t size);
void *__real_kzalloc(size_t size);
void __real_kfree(void *p);
void *__wrap_kmalloc(size_t size);
void *__wrap_kzalloc(size_t size);
void __wrap_kfree(void *p);

static struct { long long live_bytes, live_blocks, total_bytes; int fail_in; } heap;

/* Every block gets a 16-byte header holding its size (keeps kmalloc's 16-byte alignment). */
static void *heap_track(uint8_t *p, size_t size)
{
    if (!p)
        return NULL;
    *(size_t *)p = size;
    heap.live_bytes += (long long)size;
    heap.live_blocks++;
    heap.total_bytes += (long long)size;
    return p + 16;
}

static int heap_should_fail(void)
{
    return heap.fail_in > 0 && --heap.fail_in == 0;
}

/* kmalloc hands out memory as the host heap does: still holding what an earlier owner left there. */
void *__wrap_kmalloc(size_t size)
{
    uint8_t *p = heap_should_fail() ? NULL : heap_track(__real_kmalloc(size + 16), size);
    if (p)
        blk_tenant_fill(p, size);
    return p;
}

void *__wrap_kzalloc(size_t size)
{
    return heap_should_fail() ? NULL : heap_track(__real_kzalloc(size + 16), size);
}

void __wrap_kfree(void *p)
{
    if (!p)
        return;
    uint8_t *h = (uint8_t *)p - 16;
    heap.live_bytes -= (long long)*(size_t *)h;
    heap.live_blocks--;
    __real_kfree(h);
}

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
    CHECK_EQ(heap.live_bytes, 0);
    CHECK_EQ(heap.live_blocks, 0);
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

/* ---- directed tests: one request at a time, completions driven by hand ---- */

struct one {
    struct blk_req r;
    int calls, status;
};

static void one_done(struct blk_req *r, int status)
{
    struct one *o = (struct one *)r;
    o->calls++;
    o->status = status;
}

/* Submit op on [lba, lba + nr) with one buffer; the caller completes base reads. Returns submit's status. */
static int one_submit(struct blk_dev *d, struct one *o, enum blk_op op, uint64_t lba, uint32_t nr, void *buf)
{
    memset(o, 0, sizeof(*o));
    o->r = (struct blk_req){ .op = op, .lba = lba, .nr = nr, .done = one_done, .niov = buf ? 1 : 0 };
    o->r.iov[0] = (struct blk_iov){ buf, (size_t)nr * 512 };
    return blk_submit(d, &o->r);
}

/* Submit, drain the mock, return the request's status (or -999 when done() was not called once). */
static int one_io(struct blk_dev *d, struct blk_mock *m, enum blk_op op, uint64_t lba, uint32_t nr, void *buf)
{
    struct one o;
    int rc = one_submit(d, &o, op, lba, nr, buf);
    if (rc)
        return rc;
    blk_mock_drain(m);
    return o.calls == 1 ? o.status : -999;
}

static struct blk_dev *clone_over(struct blk_mock *m, uint64_t quota)
{
    int err = 1;
    struct blk_dev *d = cow_create(&m->dev, quota, "clone", &err);
    CHECK(d != NULL);
    CHECK_EQ(err, 0);
    return d;
}

static uint8_t *base_bytes(struct blk_mock *m, uint64_t off, size_t n)
{
    static uint8_t buf[64 * BS];
    blk_mock_pattern(m->seed, off, buf, n);
    return buf;
}

TEST(cow_partial_write_merges_base)
{
    static uint8_t w[512], r[2 * BS];
    struct blk_mock *m = blk_mock_create(16 * BS, 3, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct cow_stats st;
    memset(w, 0x5c, sizeof(w));
    CHECK_EQ(one_io(d, m, BLK_WRITE, 11, 1, w), 0);             /* sector 3 of block 1 */
    CHECK_EQ(one_io(d, m, BLK_READ, 8, 16, r), 0);
    CHECK_MEM(r, base_bytes(m, 8 * 512, 3 * 512), 3 * 512);
    CHECK_MEM(r + 3 * 512, w, 512);
    CHECK_MEM(r + 4 * 512, base_bytes(m, 12 * 512, 12 * 512), 12 * 512);
    cow_get_stats(d, &st);
    CHECK_EQ(st.rmw, 1);
    CHECK_EQ(st.delta_blocks, 1);
    CHECK_EQ(st.writes, 1);
    CHECK_EQ(st.reads, 1);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 12, 1, w), 0);             /* block has a delta now: no base read */
    cow_get_stats(d, &st);
    CHECK_EQ(st.rmw, 1);
    CHECK_EQ(m->writes, 0);
    d->ops->close(d);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

TEST(cow_read_coalesces_base_runs)
{
    static uint8_t w[BS], r[10 * BS];
    struct blk_mock *m = blk_mock_create(16 * BS, 4, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    memset(w, 0x11, sizeof(w));
    CHECK_EQ(one_io(d, m, BLK_WRITE, 2 * 8, 8, w), 0);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 5 * 8, 8, w), 0);
    CHECK_EQ(m->reads, 0);                                      /* whole blocks: no read-modify-write */
    /* blocks 0..9, 2 and 5 in the delta: base runs 0-1, 3-4, 6-9, starting mid-block 0 */
    CHECK_EQ(one_io(d, m, BLK_READ, 3, 77, r), 0);
    CHECK_EQ(m->reads, 3);
    CHECK_EQ(m->bytes_read, (77 - 16) * 512);
    uint8_t *expect = malloc(80 * 512);
    memcpy(expect, base_bytes(m, 0, 80 * 512), 80 * 512);
    memcpy(expect + 2 * BS, w, BS);
    memcpy(expect + 5 * BS, w, BS);
    CHECK_MEM(r, expect + 3 * 512, 77 * 512);
    free(expect);
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

TEST(cow_ordering_same_block)
{
    static uint8_t w1[512], w2[512], r[BS];
    struct blk_mock *m = blk_mock_create(8 * BS, 5, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct one a, b, c, e, f;
    memset(w1, 1, sizeof(w1));
    memset(w2, 2, sizeof(w2));
    CHECK_EQ(one_submit(d, &a, BLK_WRITE, 1, 1, w1), 0);         /* read-modify-write of block 0 */
    CHECK_EQ(one_submit(d, &b, BLK_READ, 0, 8, r), 0);           /* must see w1 */
    CHECK_EQ(one_submit(d, &c, BLK_WRITE, 1, 1, w2), 0);         /* must land after a and after b */
    CHECK_EQ(one_submit(d, &e, BLK_READ, 8, 8, r + 0), 0);       /* another block: not held up */
    CHECK_EQ(one_submit(d, &f, BLK_FLUSH, 0, 0, NULL), 0);
    CHECK_EQ(m->nq, 2);                                          /* a's base read and e's */
    CHECK_EQ(a.calls + b.calls + c.calls + e.calls + f.calls, 0);
    blk_mock_complete(m, 1);                                     /* e first */
    CHECK_EQ(e.calls, 1);
    CHECK_EQ(a.calls + b.calls + c.calls + f.calls, 0);
    CHECK_MEM(r, base_bytes(m, 8 * 512, BS), BS);
    blk_mock_complete(m, 0);                                     /* a's base read: a, b, c, f run in turn */
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(f.calls, 1);
    CHECK_EQ(a.status | b.status | c.status | e.status | f.status, 0);
    CHECK_MEM(r, base_bytes(m, 0, 512), 512);
    CHECK_MEM(r + 512, w1, 512);
    CHECK_MEM(r + 1024, base_bytes(m, 1024, BS - 1024), BS - 1024);
    CHECK_EQ(one_io(d, m, BLK_READ, 1, 1, r), 0);
    CHECK_MEM(r, w2, 512);
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

TEST(cow_flush_waits_for_earlier_writes)
{
    static uint8_t w[512], r[BS];
    struct blk_mock *m = blk_mock_create(8 * BS, 6, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct one a, f, g, x;
    CHECK_EQ(one_submit(d, &x, BLK_READ, 16, 8, r), 0);          /* a read in flight does not hold a flush */
    CHECK_EQ(one_submit(d, &a, BLK_WRITE, 9, 1, w), 0);          /* waits for its base read */
    CHECK_EQ(one_submit(d, &f, BLK_FLUSH, 0, 0, NULL), 0);
    CHECK_EQ(f.calls, 0);
    blk_mock_complete(m, 1);                                     /* a's base read */
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(f.calls, 1);
    CHECK_EQ(x.calls, 0);
    CHECK_EQ(one_submit(d, &g, BLK_FLUSH, 0, 0, NULL), 0);       /* nothing written before it in flight */
    CHECK_EQ(g.calls, 1);
    blk_mock_drain(m);
    CHECK_EQ(x.calls, 1);
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

TEST(cow_quota_enospc_and_discard_frees)
{
    static uint8_t w[2 * BS], r[2 * BS], old[2 * BS];
    struct blk_mock *m = blk_mock_create(32 * BS, 8, 1);
    struct blk_dev *d = clone_over(m, 4 * BS + 100);            /* 4 blocks */
    struct cow_stats st;
    for (int b = 0; b < 4; b++) {
        memset(w, 0x40 + b, BS);
        CHECK_EQ(one_io(d, m, BLK_WRITE, (uint64_t)b * 8, 8, w), 0);
    }
    memset(w, 0x77, sizeof(w));
    CHECK_EQ(one_io(d, m, BLK_WRITE, 4 * 8, 8, w), -ENOSPC);     /* a fifth block */
    CHECK_EQ(one_io(d, m, BLK_WRITE, 6 * 8 + 2, 1, w), -ENOSPC); /* partial: base read, then refused */
    CHECK_EQ(one_io(d, m, BLK_WRITE, 3 * 8 + 4, 8, w), -ENOSPC); /* block 3 (stored) and 4 (new) */
    CHECK_EQ(one_io(d, m, BLK_READ, 3 * 8, 16, r), 0);
    memset(old, 0x43, BS);
    CHECK_MEM(r, old, BS);                                       /* block 3 untouched by the refused write */
    CHECK_MEM(r + BS, base_bytes(m, 4 * BS, BS), BS);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 2 * 8 + 1, 2, w), 0);       /* a stored block: no new space needed */
    cow_get_stats(d, &st);
    CHECK_EQ(st.quota_blocks, 4);
    CHECK_EQ(st.delta_blocks, 4);
    CHECK_EQ(st.enospc, 3);
    /* discard blocks 0 (whole) and 1 (half): only block 0 is freed */
    CHECK_EQ(one_io(d, m, BLK_DISCARD, 0, 12, NULL), 0);
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 3);
    CHECK_EQ(one_io(d, m, BLK_READ, 0, 16, r), 0);
    CHECK_MEM(r, base_bytes(m, 0, BS), BS);
    memset(old, 0x41, BS);
    CHECK_MEM(r + BS, old, BS);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 4 * 8, 8, w), 0);           /* the freed block's quota is back */
    CHECK_EQ(one_io(d, m, BLK_READ, 4 * 8, 8, r), 0);
    CHECK_MEM(r, w, BS);
    CHECK_EQ(m->writes, 0);
    d->ops->close(d);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

/* Write whole blocks first..first+n-1 of d, each filled with its number. Returns the first failure or 0. */
static int write_blocks(struct blk_dev *d, struct blk_mock *m, uint64_t first, uint64_t n)
{
    static uint8_t w[BS];
    for (uint64_t b = first; b < first + n; b++) {
        int rc;
        memset(w, (int)(b & 0xff), BS);
        if ((rc = one_io(d, m, BLK_WRITE, b * 8, 8, w)))
            return rc;
    }
    return 0;
}

/* quota 0 is not "unlimited": a clone may store a quarter of its disk; COW_QUOTA_NONE lifts that. */
TEST(cow_default_quota_is_a_quarter_of_the_disk)
{
    struct blk_mock *m = blk_mock_create(32 * BS, 21, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_DEFAULT), *u;
    struct cow_stats st;
    CHECK_EQ(cow_get_stats(d, &st), 0);
    CHECK_EQ(st.quota_blocks, 32 / COW_QUOTA_DIVISOR);
    CHECK_EQ(write_blocks(d, m, 0, 8), 0);
    CHECK_EQ(write_blocks(d, m, 8, 1), -ENOSPC);
    CHECK_EQ(write_blocks(d, m, 3, 1), 0);                      /* a stored block stays writable */
    d->ops->close(d);
    u = clone_over(m, COW_QUOTA_NONE);
    CHECK_EQ(write_blocks(u, m, 0, 32), 0);
    CHECK_EQ(cow_get_stats(u, &st), 0);
    CHECK_EQ(st.delta_blocks, 32);
    u->ops->close(u);
    d = clone_over(m, 4 * BS);
    CHECK_EQ(cow_get_stats(d, &st), 0);
    CHECK_EQ(st.quota_blocks, 4);
    d->ops->close(d);
    struct blk_mock *tiny = blk_mock_create(2 * BS, 22, 1);    /* a quarter is under a block: one block */
    d = clone_over(tiny, COW_QUOTA_DEFAULT);
    CHECK_EQ(cow_get_stats(d, &st), 0);
    CHECK_EQ(st.quota_blocks, 1);
    d->ops->close(d);
    tiny->dev.ops->close(&tiny->dev);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

/* The host budget: once it is used up, a clone's new blocks fail -ENOSPC while every clone still reads,
 * rewrites its stored blocks, and gets new ones again when another clone frees some. */
TEST(delta_budget_shared_by_clones)
{
    static uint8_t r[2 * BS], w[BS];
    struct blk_mock *m = blk_mock_create(64 * BS, 23, 1);
    struct blk_dev *a = clone_over(m, COW_QUOTA_NONE), *b = clone_over(m, COW_QUOTA_NONE);
    uint64_t used0 = delta_ram_used();
    delta_ram_budget(used0 + 6, NULL);
    CHECK_EQ(write_blocks(b, m, 0, 2), 0);
    CHECK_EQ(write_blocks(a, m, 10, 4), 0);
    CHECK_EQ(delta_ram_used(), used0 + 6);
    CHECK_EQ(write_blocks(a, m, 14, 1), -ENOSPC);              /* the hog sees I/O errors */
    CHECK_EQ(write_blocks(b, m, 1, 1), 0);                      /* the other rewrites what it has */
    CHECK_EQ(write_blocks(b, m, 5, 1), -ENOSPC);
    CHECK_EQ(one_io(b, m, BLK_READ, 0, 16, r), 0);              /* and reads, delta and base */
    memset(w, 0, BS);
    CHECK_MEM(r, w, BS);
    CHECK_EQ(one_io(b, m, BLK_READ, 40 * 8, 8, r), 0);
    CHECK_MEM(r, base_bytes(m, 40 * BS, BS), BS);
    CHECK_EQ(one_io(a, m, BLK_DISCARD, 10 * 8, 16, NULL), 0);  /* the hog frees two */
    CHECK_EQ(delta_ram_used(), used0 + 4);
    CHECK_EQ(write_blocks(b, m, 5, 2), 0);
    a->ops->close(a);                                           /* closing returns its blocks */
    CHECK_EQ(delta_ram_used(), used0 + 4);
    b->ops->close(b);
    CHECK_EQ(delta_ram_used(), used0);
    delta_ram_budget(0, NULL);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

static int fake_mem_low;
static int fake_low(void) { return fake_mem_low; }

/* The host's memory reserve: while the host is short of memory no clone gets a new block. */
TEST(delta_budget_keeps_host_reserve)
{
    struct blk_mock *m = blk_mock_create(64 * BS, 24, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    delta_ram_budget(0, fake_low);
    CHECK_EQ(write_blocks(d, m, 0, 2), 0);
    fake_mem_low = 1;
    CHECK_EQ(write_blocks(d, m, 2, 1), -ENOSPC);
    CHECK_EQ(write_blocks(d, m, 0, 2), 0);
    fake_mem_low = 0;
    CHECK_EQ(write_blocks(d, m, 2, 1), 0);
    delta_ram_budget(0, NULL);
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

/* A base read that fills less than it was asked (a short or gappy answer) must not let a partial write
 * store the clone's bounce memory, nor anything else an earlier owner left in RAM. */
TEST(cow_short_base_read_exposes_no_old_data)
{
    static uint8_t w[512], r[4 * BS];
    struct blk_mock *m = blk_mock_create(64 * BS, 25, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    memset(w, 0x3c, sizeof(w));
    m->short_next = 1;                                          /* a fresh bounce block */
    CHECK_EQ(one_io(d, m, BLK_WRITE, 2 * 8 + 1, 1, w), 0);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 9 * 8 + 2, 1, w), 0);      /* a full read fills the bounce block */
    m->short_next = 1;                                          /* which is reused here */
    CHECK_EQ(one_io(d, m, BLK_WRITE, 3 * 8 + 1, 1, w), 0);
    CHECK_EQ(one_io(d, m, BLK_READ, 2 * 8, 16, r), 0);
    CHECK(!blk_tenant_found(r, 2 * BS));
    for (int i = 0; i < 2; i++) {
        CHECK_MEM(r + (size_t)i * BS, base_bytes(m, (uint64_t)(2 + i) * BS, 512), 512);   /* what it filled */
        CHECK_MEM(r + (size_t)i * BS + 512, w, 512);
        for (size_t k = BS / 2; k < BS; k++)                    /* what it did not: zeros, not old data */
            if (r[(size_t)i * BS + k]) {
                CHECK_EQ(r[(size_t)i * BS + k], 0);
                break;
            }
    }
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

/* A new delta block is zeros, also where a freed block (with a tenant's bytes) was before. */
TEST(delta_ram_new_block_is_zeroed)
{
    static const uint8_t zero[BS];
    struct delta *d = delta_ram_create(0);
    uint8_t *b = d->ops->alloc(d, 5);
    CHECK(b && !memcmp(b, zero, BS));
    blk_tenant_fill(b, 64);
    d->ops->drop(d, 5);
    for (uint64_t k = 0; k < 64; k++) {
        b = d->ops->alloc(d, k);
        CHECK(b && !memcmp(b, zero, BS));
    }
    d->ops->destroy(d);
}

TEST(cow_base_eio_fails_request_changes_nothing)
{
    static uint8_t w[BS], r[3 * BS];
    struct blk_mock *m = blk_mock_create(16 * BS, 9, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct cow_stats st;
    memset(w, 0x99, sizeof(w));
    m->fail_next = 1;
    CHECK_EQ(one_io(d, m, BLK_WRITE, 3, 2, w), -EIO);           /* its read-modify-write read fails */
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 0);
    CHECK_EQ(one_io(d, m, BLK_READ, 0, 8, r), 0);
    CHECK_MEM(r, base_bytes(m, 0, BS), BS);
    m->fail_next = 1;                                            /* a head and a tail block to read */
    CHECK_EQ(one_io(d, m, BLK_WRITE, 8 + 4, 8, w), -EIO);
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 0);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 8 * 8, 8, w), 0);           /* block 8 in the delta */
    m->fail_next = 1;
    CHECK_EQ(one_io(d, m, BLK_READ, 7 * 8, 24, r), -EIO);        /* one of the two base runs fails */
    CHECK_EQ(m->nq, 0);
    CHECK_EQ(one_io(d, m, BLK_READ, 7 * 8, 24, r), 0);           /* and the clone still works */
    CHECK_MEM(r, base_bytes(m, 7 * BS, BS), BS);
    CHECK_MEM(r + BS, w, BS);
    CHECK_MEM(r + 2 * BS, base_bytes(m, 9 * BS, BS), BS);
    d->ops->close(d);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

TEST(cow_base_eagain_is_retried)
{
    static uint8_t r1[BS], r2[8 * BS];
    struct blk_mock *m = blk_mock_create(16 * BS, 10, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct one a, b;
    CHECK_EQ(one_submit(d, &a, BLK_READ, 0, 8, r1), 0);
    m->refuse_next = 1;
    CHECK_EQ(one_submit(d, &b, BLK_READ, 8, 8, r2), 0);          /* refused by the base, kept for a retry */
    CHECK_EQ(m->nq, 1);
    CHECK_EQ(m->refused, 1);
    blk_mock_complete(m, 0);                                     /* a's completion retries b's base read */
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(m->nq, 1);
    blk_mock_complete(m, 0);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(b.status, 0);
    CHECK_MEM(r2, base_bytes(m, BS, BS), BS);
    /* refused while nothing else is in flight: polling cow_inflight resubmits it */
    m->refuse_next = 2;
    CHECK_EQ(one_submit(d, &b, BLK_READ, 16, 8, r2), 0);
    CHECK_EQ(m->nq, 0);
    CHECK_EQ(cow_inflight(d), 1);                                /* refused again */
    CHECK_EQ(m->nq, 0);
    CHECK_EQ(cow_inflight(d), 1);                                /* taken */
    CHECK_EQ(m->nq, 1);
    blk_mock_complete(m, 0);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(b.status, 0);
    CHECK_EQ(cow_inflight(d), 0);
    CHECK_EQ(cow_inflight(&m->dev), -EINVAL);
    CHECK_MEM(r2, base_bytes(m, 2 * BS, BS), BS);
    /* a base that takes one request at a time, a read of three base runs */
    static uint8_t w[BS];
    CHECK_EQ(one_io(d, m, BLK_WRITE, 9 * 8, 8, w), 0);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 11 * 8, 8, w), 0);
    m->queue_limit = 1;
    CHECK_EQ(one_submit(d, &a, BLK_READ, 8 * 8, 64, r2), 0);
    CHECK_EQ(m->nq, 1);
    blk_mock_drain(m);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(a.status, 0);
    CHECK(m->refused >= 3);
    CHECK_MEM(r2, base_bytes(m, 8 * BS, BS), BS);
    CHECK_MEM(r2 + 2 * BS, base_bytes(m, 10 * BS, BS), BS);
    CHECK_MEM(r2 + 4 * BS, base_bytes(m, 12 * BS, 4 * BS), 4 * BS);
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
}

TEST(cow_kmalloc_failure_is_enospc)
{
    static uint8_t w[4 * BS], r[4 * BS];
    struct blk_mock *m = blk_mock_create(64 * BS, 11, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct cow_stats st;
    memset(w, 0x3c, sizeof(w));
    heap.fail_in = 1;
    CHECK_EQ(one_io(d, m, BLK_WRITE, 40 * 8 + 3, 2, w), -ENOSPC);
    heap.fail_in = 0;
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 0);
    CHECK_EQ(one_io(d, m, BLK_READ, 40 * 8, 8, r), 0);
    CHECK_MEM(r, base_bytes(m, 40 * BS, BS), BS);
    /* Fail a later allocation of a 4-block write: each block ends all old or all new, the last one old. */
    for (int n = 1; n <= 8; n++) {
        heap.fail_in = n;
        int rc = one_io(d, m, BLK_WRITE, (uint64_t)(10 + 4 * n) * 8, 32, w);
        int failed_alloc = heap.fail_in == 0;
        heap.fail_in = 0;
        CHECK_EQ(rc, failed_alloc ? -ENOSPC : 0);
        CHECK_EQ(one_io(d, m, BLK_READ, (uint64_t)(10 + 4 * n) * 8, 32, r), 0);
        int seen_old = 0;
        for (int b = 0; b < 4; b++) {
            const uint8_t *old = base_bytes(m, (uint64_t)(10 + 4 * n + b) * BS, BS);
            int is_new = !memcmp(r + b * BS, w + b * BS, BS), is_old = !memcmp(r + b * BS, old, BS);
            CHECK(is_new || is_old);
            CHECK(!(seen_old && is_new));
            seen_old |= is_old;
        }
        CHECK(seen_old == failed_alloc);
    }
    d->ops->close(d);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

/* Bytes cow_create allocates over a base of this size. */
static long long create_cost(uint64_t bytes, int stored)
{
    struct blk_mock *m = blk_mock_create(bytes, 12, stored);
    long long before = heap.total_bytes;
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    long long cost = heap.total_bytes - before;
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
    return cost;
}

TEST(cow_create_is_o1)
{
    long long small = create_cost(64 * 1024, 1), huge = create_cost(64ull << 40, 0);
    CHECK(small > 0);
    CHECK_EQ(small, huge);
    printf("    cow_create: %lld bytes over 64 KiB and over 64 TiB\n", small);
    /* the far end of the 64 TiB clone works, and discarding all of it does not walk 2^34 blocks */
    static uint8_t w[512], r[BS];
    struct blk_mock *m = blk_mock_create(64ull << 40, 12, 0);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct cow_stats st;
    uint64_t last = d->sectors - 1;
    memset(w, 0xee, sizeof(w));
    CHECK_EQ(one_io(d, m, BLK_WRITE, last, 1, w), 0);
    CHECK_EQ(one_io(d, m, BLK_WRITE, 5, 1, w), 0);
    CHECK_EQ(one_io(d, m, BLK_READ, last - 7, 8, r), 0);
    CHECK_MEM(r, base_bytes(m, (last - 7) * 512, 7 * 512), 7 * 512);
    CHECK_MEM(r + 7 * 512, w, 512);
    CHECK_EQ(one_io(d, m, BLK_DISCARD, 0, (uint32_t)(d->sectors > 0xffffffffull ? 0xfffffff8u : d->sectors), NULL), 0);
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 1);                               /* block 0 gone, the last one stays */
    d->ops->close(d);
    CHECK_EQ(heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

TEST(cow_close_with_requests_in_flight)
{
    static uint8_t bufs[40][2 * BS];
    struct one o[40];
    struct blk_mock *m = blk_mock_create(32 * BS, 13, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    int accepted = 0;
    for (int i = 0; i < 40; i++) {                               /* reads, RMW writes, waiters, retries */
        enum blk_op op = i % 3 == 0 ? BLK_WRITE : i % 7 == 0 ? BLK_FLUSH : BLK_READ;
        uint64_t lba = (uint64_t)(i * 5 % 30) * 8 + (uint64_t)(i % 4);
        m->refuse_next = i % 5 == 0;
        if (one_submit(d, &o[i], op, lba, op == BLK_FLUSH ? 0 : 9, op == BLK_FLUSH ? NULL : bufs[i]) == 0)
            accepted++;
        else
            o[i].calls = -100;
    }
    CHECK_EQ(accepted, 40);
    CHECK(m->nq > 0);
    d->ops->close(d);
    CHECK(heap.live_bytes > 0);                                  /* base reads still out: memory kept */
    blk_mock_drain(m);
    int cancelled = 0;
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(o[i].calls, 1);
        CHECK(o[i].status == 0 || o[i].status == -ECANCELED);
        cancelled += o[i].status == -ECANCELED;
    }
    CHECK(cancelled > 0);
    CHECK_EQ(heap.live_bytes, 0);
    CHECK_EQ(heap.live_blocks, 0);
    CHECK_EQ(m->writes, 0);
    m->dev.ops->close(&m->dev);
}

TEST(cow_bad_input)
{
    static uint8_t buf[BS];
    struct blk_mock *m = blk_mock_create(4 * BS, 14, 1);
    struct blk_dev ram = { .ops = NULL };
    struct cow_stats st;
    int err = 0;
    CHECK(cow_create(NULL, COW_QUOTA_NONE, "x", &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(cow_create(&m->dev, 100, "x", &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(cow_create(&ram, COW_QUOTA_NONE, "x", NULL) == NULL);
    CHECK_EQ(cow_get_stats(NULL, &st), -EINVAL);
    CHECK_EQ(cow_get_stats(&m->dev, &st), -EINVAL);
    heap.fail_in = 2;
    CHECK(cow_create(&m->dev, COW_QUOTA_NONE, "x", &err) == NULL);
    CHECK_EQ(err, -ENOMEM);
    heap.fail_in = 0;
    CHECK_EQ(heap.live_bytes, 0);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    CHECK_STR(d->name, "clone");
    CHECK_EQ(d->sectors, 32);
    CHECK_EQ(d->read_only, 0);
    struct one o;
    CHECK_EQ(one_submit(d, &o, BLK_READ, 32, 1, buf), -EINVAL);
    CHECK_EQ(one_submit(d, &o, BLK_READ, 31, 2, buf), -EINVAL);
    o.r.nr = 1;
    o.r.iov[0].len = 100;                                        /* scatter list shorter than the range */
    CHECK_EQ(d->ops->submit(d, &o.r), -EINVAL);
    o.r.op = 9;
    CHECK_EQ(d->ops->submit(d, &o.r), -EINVAL);
    CHECK_EQ(one_io(d, m, BLK_READ, 3, 0, NULL), 0);             /* empty: completes */
    d->ops->close(d);
    m->dev.ops->close(&m->dev);
    CHECK_EQ(heap.live_bytes, 0);
}

TEST(delta_ram_tree)
{
    struct delta *dl = delta_ram_create(0);
    static const uint64_t blks[] = { 0, 63, 64, 4095, 1ull << 34, (1ull << 61) - 1, 77 };
    for (int i = 0; i < 7; i++) {
        uint8_t *p = dl->ops->alloc(dl, blks[i]);
        CHECK(p != NULL);
        if (p)
            memset(p, i + 1, DELTA_BLOCK_SIZE);
    }
    CHECK_EQ(dl->ops->count(dl), 7);
    for (int i = 0; i < 7; i++) {
        const uint8_t *p = dl->ops->lookup(dl, blks[i]);
        CHECK(p != NULL && p[0] == i + 1 && p[4095] == i + 1);
    }
    CHECK(dl->ops->lookup(dl, 1) == NULL);
    CHECK(dl->ops->lookup(dl, 1ull << 33) == NULL);
    CHECK_U64(dl->ops->next(dl, 0), 0);
    CHECK_U64(dl->ops->next(dl, 1), 63);
    CHECK_U64(dl->ops->next(dl, 65), 77);
    CHECK_U64(dl->ops->next(dl, 4096), 1ull << 34);
    CHECK_U64(dl->ops->next(dl, (1ull << 34) + 1), (1ull << 61) - 1);
    CHECK_U64(dl->ops->next(dl, 1ull << 61), UINT64_MAX);
    long long with_all = heap.live_bytes;
    for (int i = 0; i < 7; i++)
        dl->ops->drop(dl, blks[i]);
    dl->ops->drop(dl, 12345);
    CHECK_EQ(dl->ops->count(dl), 0);
    CHECK(heap.live_bytes < with_all - 7 * 4096);                /* emptied nodes were freed too */
    CHECK_U64(dl->ops->next(dl, 0), UINT64_MAX);
    dl->ops->destroy(dl);
    CHECK_EQ(heap.live_bytes, 0);
    struct delta *q = delta_ram_create(2);
    CHECK(q->ops->alloc(q, 5) && q->ops->alloc(q, 9) && q->ops->alloc(q, 5));
    CHECK(q->ops->alloc(q, 6) == NULL);
    q->ops->destroy(q);
    CHECK_EQ(heap.live_bytes, 0);
}

/* Host tests of the shared golden cache over a scripted asynchronous mock base: single flight, LRU, read-ahead, faults. */
#define TEST_SUITE "blk_cache"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "blk/blk.h"
#include "blk/cache.h"
#include "kernel/errno.h"

#define LINE       CACHE_LINE_BYTES
#define MOCK_MAX   512

/* The mock base: an image of seeded random bytes; requests queue until the test completes them. */
struct mock {
    struct blk_dev dev;
    uint8_t *img;
    struct blk_req *pending[MOCK_MAX];
    int npending;
    int sync;                  /* complete inside submit */
    int qdepth;                /* refuse with -EAGAIN above this many pending (0: MOCK_MAX) */
    int refuse_next;           /* refuse this many submits with -EAGAIN */
    int eagain_done;           /* complete this many reads with -EAGAIN status */
    int short_next;            /* this many reads succeed but fill only the first half of their bytes */
    uint64_t fail_lo, fail_hi; /* reads touching bytes [lo, hi) complete with -EIO */
    uint64_t submits, bytes;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mock_finish(struct mock *m, struct blk_req *r)
{
    uint64_t off = r->lba * 512, len = (uint64_t)r->nr * 512;
    int st = 0;
    if (m->eagain_done > 0) {
        m->eagain_done--;
        st = -EAGAIN;
    } else if (off < m->fail_hi && off + len > m->fail_lo) {
        st = -EIO;
    } else {
        uint64_t left = m->short_next > 0 ? len / 2 : len;
        m->short_next -= m->short_next > 0;
        for (int i = 0; i < r->niov && left; i++) {
            uint64_t n = r->iov[i].len < left ? r->iov[i].len : left;
            memcpy(r->iov[i].base, m->img + off, n);
            off += n;
            left -= n;
        }
        m->bytes += len;
    }
    r->done(r, st);
}

static int mock_submit(struct blk_dev *d, struct blk_req *r)
{
    struct mock *m = d->priv;
    if (r->op != BLK_READ)
        return -EROFS;
    if (r->lba + r->nr > d->sectors || blk_iov_bytes(r) != (size_t)r->nr * 512)
        return -EINVAL;
    if (m->refuse_next > 0) {
        m->refuse_next--;
        return -EAGAIN;
    }
    if (m->npending >= (m->qdepth ? m->qdepth : MOCK_MAX))
        return -EAGAIN;
    m->submits++;
    if (m->sync)
        mock_finish(m, r);
    else
        m->pending[m->npending++] = r;
    return 0;
}

/* Complete pending request i (removed first: its completion may submit again). */
static void mock_complete(struct mock *m, int i)
{
    struct blk_req *r = m->pending[i];
    m->pending[i] = m->pending[--m->npending];
    mock_finish(m, r);
}

static void mock_complete_all(struct mock *m)
{
    while (m->npending)
        mock_complete(m, 0);
}

static void mock_cancel(struct blk_dev *d)
{
    struct mock *m = d->priv;
    while (m->npending) {
        struct blk_req *r = m->pending[--m->npending];
        r->done(r, -ECANCELED);
    }
}

static const struct blk_ops mock_ops = { .submit = mock_submit, .close = mock_cancel };

static void mock_init(struct mock *m, uint64_t bytes, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->img = malloc(bytes);
    rng_state = seed;
    for (uint64_t i = 0; i < bytes; i += 8) {
        uint64_t v = rnd();
        memcpy(m->img + i, &v, 8);
    }
    m->dev = (struct blk_dev){ .ops = &mock_ops, .sectors = bytes / 512, .block_size = 512, .read_only = 1, .priv = m };
}

static void mock_free(struct mock *m)
{
    mock_cancel(&m->dev);
    free(m->img);
}

/* A test read: its buffer, and what its completion said. */
struct tio {
    struct blk_req req;
    uint8_t *buf;
    int done, status;
    uint64_t off, len;
    struct blk_dev *resubmit_to;   /* chain: submit the next read from done() */
    int chain_left;
};

static void tio_done(struct blk_req *r, int st)
{
    struct tio *t = r->priv;
    t->done++;
    t->status = st;
}

/* Prepare a read of len bytes at off split into niov pieces (sector multiples; the last takes the rest). */
static void tio_prep(struct tio *t, uint64_t off, uint64_t len, int niov)
{
    uint64_t piece = len / (uint64_t)niov / 512 * 512, at = 0;
    free(t->buf);
    memset(t, 0, sizeof(*t));
    t->buf = malloc(len);
    memset(t->buf, 0xEE, len);
    t->off = off;
    t->len = len;
    t->req = (struct blk_req){ .op = BLK_READ, .lba = off / 512, .nr = (uint32_t)(len / 512), .done = tio_done,
                               .priv = t, .niov = niov };
    for (int i = 0; i < niov; i++) {
        uint64_t n = i == niov - 1 ? len - at : piece;
        t->req.iov[i] = (struct blk_iov){ t->buf + at, n };
        at += n;
    }
}

static int tio_ok(const struct tio *t, const struct mock *m)
{
    return t->done == 1 && t->status == 0 && memcmp(t->buf, m->img + t->off, t->len) == 0;
}

static int read_now(struct blk_dev *c, struct mock *m, uint64_t off, uint64_t len)
{
    struct tio t = { 0 };
    int ok;
    tio_prep(&t, off, len, 1);
    if (blk_submit(c, &t.req) != 0)
        return 0;
    mock_complete_all(m);
    ok = tio_ok(&t, m);
    free(t.buf);
    return ok;
}

static struct cache_stats stats(struct blk_dev *c)
{
    struct cache_stats st;
    memset(&st, 0xff, sizeof(st));
    CHECK_EQ(cache_get_stats(c, &st), 0);
    return st;
}

TEST(cache_single_flight)
{
    struct mock m;
    struct tio t[8] = { 0 };
    int err;
    mock_init(&m, 64 * LINE, 1);
    struct blk_dev *c = cache_create(&m.dev, 16 * LINE, "golden", &err);
    CHECK(c != NULL && err == 0 && c->read_only);
    for (int i = 0; i < 8; i++) {              /* 8 readers of one line, different 4 KiB pieces */
        tio_prep(&t[i], 5 * LINE + (uint64_t)(i % 4) * 4096, 4096, 1);
        CHECK_EQ(blk_submit(c, &t[i].req), 0);
    }
    CHECK_EQ(m.npending, 1);
    CHECK_EQ(t[0].done, 0);
    mock_complete_all(&m);
    for (int i = 0; i < 8; i++)
        CHECK(tio_ok(&t[i], &m));
    struct cache_stats st = stats(c);
    CHECK_EQ(st.base_reads, 1);
    CHECK_EQ(st.misses, 1);
    CHECK_EQ(st.joins, 7);
    CHECK_EQ(st.hits, 0);
    CHECK_EQ(st.bytes_fetched, LINE);
    CHECK_EQ(m.submits, 1);
    c->ops->close(c);
    for (int i = 0; i < 8; i++)
        free(t[i].buf);
    mock_free(&m);
}

TEST(cache_lru_eviction_order)
{
    struct mock m;
    int err;
    mock_init(&m, 128 * LINE, 2);
    m.sync = 1;
    struct blk_dev *c = cache_create(&m.dev, 8 * LINE, NULL, &err);
    CHECK(c != NULL);
    for (int i = 0; i < 8; i++)                /* lines 0,10,..,70: far apart, no read-ahead */
        CHECK(read_now(c, &m, (uint64_t)i * 10 * LINE, 4096));
    CHECK_EQ(m.submits, 8);
    CHECK_EQ(stats(c).lines_used, 8);
    CHECK(read_now(c, &m, 0, 4096));           /* touch line 0: now line 10 is the oldest */
    CHECK_EQ(m.submits, 8);
    CHECK(read_now(c, &m, 80 * LINE, 4096));   /* overflow: evicts line 10 */
    CHECK_EQ(m.submits, 9);
    CHECK_EQ(stats(c).evictions, 1);
    CHECK(read_now(c, &m, 0, 4096));           /* still cached */
    CHECK(read_now(c, &m, 70 * LINE, 4096));
    CHECK_EQ(m.submits, 9);
    CHECK(read_now(c, &m, 10 * LINE, 4096));   /* was evicted: fetched again, evicting line 20 */
    CHECK_EQ(m.submits, 10);
    CHECK(read_now(c, &m, 30 * LINE, 4096));
    CHECK_EQ(m.submits, 10);
    CHECK(read_now(c, &m, 20 * LINE, 4096));
    CHECK_EQ(m.submits, 11);
    CHECK_EQ(stats(c).evictions, 3);
    c->ops->close(c);
    mock_free(&m);
}

TEST(cache_hit_accounting)
{
    struct mock m;
    int err;
    mock_init(&m, 64 * LINE, 3);
    struct blk_dev *c = cache_create(&m.dev, 16 * LINE, "g", &err);
    for (int i = 0; i < 5; i++)
        CHECK(read_now(c, &m, 7 * LINE + (uint64_t)i * 8192, 8192));
    struct cache_stats st = stats(c);
    CHECK_EQ(st.misses, 1);
    CHECK_EQ(st.hits, 4);
    /* a request spanning 3 lines (unaligned ends): one base read of 3 lines */
    CHECK(read_now(c, &m, 20 * LINE + 512, 2 * LINE));
    st = stats(c);
    CHECK_EQ(st.misses, 4);
    CHECK_EQ(st.base_reads, 2);
    CHECK_EQ(st.bytes_fetched, 4 * LINE);
    CHECK(read_now(c, &m, 20 * LINE, 3 * LINE));
    st = stats(c);
    CHECK_EQ(st.hits, 7);
    CHECK_EQ(st.base_reads, 2);
    CHECK_EQ(st.lines, 16);
    CHECK_EQ(st.bytes, 16 * LINE);
    CHECK_EQ(st.lines_used, 4);
    c->ops->close(c);
    mock_free(&m);
}

TEST(cache_readahead_sequential)
{
    struct mock m;
    int err;
    mock_init(&m, 256 * LINE, 4);
    struct blk_dev *c = cache_create(&m.dev, 64 * LINE, "g", &err);
    for (uint64_t off = 0; off < 32 * LINE; off += 16384)
        CHECK(read_now(c, &m, off, 16384));
    struct cache_stats st = stats(c);
    CHECK(st.readahead >= 24);
    CHECK(st.readahead_used >= 24);
    CHECK(st.readahead_used <= st.readahead);
    CHECK(st.misses <= 4);                     /* only the first lines, before the stream is seen */
    CHECK(st.base_reads <= 12);                /* read-ahead fetches several lines per base read */
    CHECK(st.readahead - st.readahead_used <= CACHE_RA_LINES + 1);   /* bounded window past the end */
    c->ops->close(c);
    mock_free(&m);
}

TEST(cache_no_readahead_on_random)
{
    struct mock m;
    int err;
    mock_init(&m, 1024 * LINE, 5);
    struct blk_dev *c = cache_create(&m.dev, 64 * LINE, "g", &err);
    rng_state = 99;
    uint64_t prev = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t ln;
        do                                      /* random lines, never next to the previous one */
            ln = rnd() % 1024;
        while (ln + 1 >= prev && ln <= prev + 1);
        prev = ln;
        CHECK(read_now(c, &m, ln * LINE + (rnd() % 120) * 512, 4096));
    }
    struct cache_stats st = stats(c);
    CHECK_EQ(st.readahead, 0);
    CHECK_EQ(st.base_reads, st.misses);
    CHECK_EQ(st.hits + st.misses, 200);
    c->ops->close(c);
    mock_free(&m);
}

static int in_flight(const struct tio *t, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += t[i].req.done && !t[i].done;
    return k;
}

/* Nothing at the base yet reads outstanding: only a read the base refused (waiting for the next event,
 * as blk.h's -EAGAIN asks) may be left. One more submission is that event. Returns 1 if still stuck. */
static int mixed_stuck(struct blk_dev *c, struct mock *m, const struct tio *t, int n)
{
    struct tio kick = { 0 };
    if (!in_flight(t, n))
        return 0;
    m->refuse_next = 0;
    tio_prep(&kick, 0, 512, 1);
    if (blk_submit(c, &kick.req) == 0)
        mock_complete_all(m);
    free(kick.buf);
    return !m->npending && in_flight(t, n);
}

/* Submit one read for a clone: the next piece of its stream (*seq), or a random one. Returns 1 if accepted. */
static int mixed_submit(struct blk_dev *c, struct mock *m, struct tio *x, uint64_t *seq)
{
    uint64_t sectors = 1 + rnd() % (rnd() % 8 == 0 ? 400 : 16), off;
    int rc;
    if (seq) {
        off = *seq + sectors * 512 > m->dev.sectors * 512 ? 0 : *seq;
        *seq = off + sectors * 512;
    } else {
        off = (rnd() % (m->dev.sectors - sectors + 1)) * 512;
    }
    tio_prep(x, off, sectors * 512, 1 + (int)(rnd() % (sectors < 16 ? sectors : 16)));
    rc = blk_submit(c, &x->req);
    if (rc == -EAGAIN) {
        x->req.done = NULL;
        return 0;
    }
    CHECK_EQ(rc, 0);
    return 1;
}

/* Several clones read at once (sequential streams and random reads, varied sizes and scatter lists); the
 * base completes in random order, sometimes refuses. Every byte is checked against the image. */
static void mixed_run(uint64_t seed, uint64_t cache_lines, int sync)
{
    enum { CLONES = 6, DEPTH = 4, OPS = 3000 };
    struct mock m;
    struct tio t[CLONES][DEPTH];
    uint64_t seq[CLONES], issued = 0, completed = 0, bad = 0;
    int err;
    memset(t, 0, sizeof(t));
    mock_init(&m, 200 * LINE + 3 * 512, seed);  /* last line partial */
    m.sync = sync;
    m.qdepth = 24;
    struct blk_dev *c = cache_create(&m.dev, cache_lines * LINE, "g", &err);
    CHECK(c != NULL);
    rng_state = seed * 7 + 1;
    for (int k = 0; k < CLONES; k++)
        seq[k] = (rnd() % 50) * LINE;
    while (completed < OPS) {
        for (int k = 0; k < CLONES; k++)
            for (int d = 0; d < DEPTH; d++) {
                struct tio *x = &t[k][d];
                if (x->req.done && !x->done)
                    continue;                   /* in flight */
                if (x->req.done) {
                    completed++;
                    bad += !tio_ok(x, &m);
                    x->req.done = NULL;
                }
                if (issued >= OPS || rnd() % 4 == 0)
                    continue;
                if (mixed_submit(c, &m, x, k % 2 == 0 ? &seq[k] : NULL))
                    issued++;
            }
        if (m.npending)                         /* complete a few, in random order */
            for (int n = 1 + (int)(rnd() % 4); n-- && m.npending;)
                mock_complete(&m, (int)(rnd() % (uint64_t)m.npending));
        if (rnd() % 50 == 0)
            m.refuse_next = 2;
        if (rnd() % 80 == 0)
            m.eagain_done = 1;
        if (!m.npending && issued >= OPS && completed < OPS && mixed_stuck(c, &m, t[0], CLONES * DEPTH)) {
            test_fail(__FILE__, __LINE__, "seed %llu: reads never completed", (unsigned long long)seed);
            break;
        }
    }
    CHECK_EQ(bad, 0);
    struct cache_stats st = stats(c);
    CHECK(st.hits > 0 && st.misses > 0);
    CHECK(st.lines_used <= cache_lines);
    c->ops->close(c);
    mock_free(&m);
    for (int k = 0; k < CLONES; k++)
        for (int d = 0; d < DEPTH; d++)
            free(t[k][d].buf);
}

TEST(cache_random_clones_reordered)
{
    for (uint64_t seed = 1; seed <= 5; seed++)
        mixed_run(seed, 8 + seed * 7, 0);
    mixed_run(11, 200, 0);                      /* everything fits */
    mixed_run(12, 8, 1);                        /* base completes inside submit */
    mixed_run(13, 32, 1);
}

TEST(cache_eio_fails_only_waiters)
{
    struct mock m;
    struct tio a = { 0 }, b = { 0 }, y = { 0 };
    int err;
    mock_init(&m, 64 * LINE, 6);
    struct blk_dev *c = cache_create(&m.dev, 16 * LINE, "g", &err);
    m.fail_lo = 9 * LINE + 100;                /* one byte range inside line 9 */
    m.fail_hi = 9 * LINE + 200;
    tio_prep(&a, 9 * LINE, 4096, 1);
    tio_prep(&b, 9 * LINE + 8192, 4096, 2);
    tio_prep(&y, 30 * LINE, 4096, 1);
    CHECK_EQ(blk_submit(c, &a.req), 0);
    CHECK_EQ(blk_submit(c, &b.req), 0);
    CHECK_EQ(blk_submit(c, &y.req), 0);
    mock_complete_all(&m);
    CHECK_EQ(a.done, 1);
    CHECK_EQ(a.status, -EIO);
    CHECK_EQ(b.done, 1);
    CHECK_EQ(b.status, -EIO);
    CHECK(tio_ok(&y, &m));
    CHECK_EQ(stats(c).lines_used, 1);          /* the failed line is not kept */
    m.fail_lo = m.fail_hi = 0;
    uint64_t before = m.submits;
    CHECK(read_now(c, &m, 9 * LINE, 4096));    /* fetched again, right data */
    CHECK_EQ(m.submits, before + 1);
    c->ops->close(c);
    free(a.buf);
    free(b.buf);
    free(y.buf);
    mock_free(&m);
}

TEST(cache_eagain_from_base)
{
    struct mock m;
    struct tio t[20] = { 0 };
    int err;
    mock_init(&m, 64 * LINE, 7);
    struct blk_dev *c = cache_create(&m.dev, 32 * LINE, "g", &err);
    m.qdepth = 2;                              /* the base takes two reads at a time */
    for (int i = 0; i < 20; i++) {
        tio_prep(&t[i], (uint64_t)i * 3 * LINE, 4096, 1);
        CHECK_EQ(blk_submit(c, &t[i].req), 0);
    }
    CHECK_EQ(m.npending, 2);
    while (m.npending)
        mock_complete(&m, m.npending - 1);
    for (int i = 0; i < 20; i++)
        CHECK(tio_ok(&t[i], &m));
    CHECK_EQ(stats(c).base_reads, 20);
    /* completions with -EAGAIN are retried ... */
    m.eagain_done = 3;
    tio_prep(&t[0], 62 * LINE, 4096, 1);
    CHECK_EQ(blk_submit(c, &t[0].req), 0);
    mock_complete_all(&m);
    CHECK(tio_ok(&t[0], &m));
    /* ... but not for ever */
    m.eagain_done = 1000;
    tio_prep(&t[1], 61 * LINE, 4096, 1);
    CHECK_EQ(blk_submit(c, &t[1].req), 0);
    mock_complete_all(&m);
    CHECK_EQ(t[1].done, 1);
    CHECK_EQ(t[1].status, -EIO);
    CHECK_EQ(1000 - m.eagain_done, CACHE_MAX_TRIES);
    c->ops->close(c);
    for (int i = 0; i < 20; i++)
        free(t[i].buf);
    mock_free(&m);
}

TEST(cache_contexts_exhausted_and_pinned_lines)
{
    struct mock m;
    static struct tio t[CACHE_REQS + 1];
    int err;
    mock_init(&m, 512 * LINE, 8);
    struct blk_dev *c = cache_create(&m.dev, 8 * LINE, "g", &err);
    /* more readers than lines and slots: every line gets pinned by a fetch, the rest wait (parked beyond
     * the slots, never refused), then all finish */
    for (int i = 0; i <= CACHE_REQS; i++) {
        tio_prep(&t[i], (uint64_t)(i * 5 % 512) * LINE, 4096, 1);
        CHECK_EQ(blk_submit(c, &t[i].req), 0);
    }
    CHECK_EQ(t[CACHE_REQS].done, 0);
    CHECK(m.npending <= 8);
    for (int guard = 0; m.npending && guard < 10000; guard++)
        mock_complete(&m, m.npending / 2);
    for (int i = 0; i <= CACHE_REQS; i++)
        CHECK(tio_ok(&t[i], &m));
    c->ops->close(c);
    for (int i = 0; i <= CACHE_REQS; i++) {
        free(t[i].buf);
        t[i].buf = NULL;
    }
    mock_free(&m);
}

/* One client (origin) with more reads than the cache has slots, all waiting on the base: another client's
 * read of a cached line still completes at once (a client holds at most CACHE_CLIENT_REQS slots), and the
 * flood's own parked reads all finish. */
TEST(cache_client_cap_leaves_slots_for_others)
{
    struct mock m;
    static struct tio t[CACHE_REQS + 40];
    struct tio v = { 0 };
    int err, a, b;
    mock_init(&m, 512 * LINE, 9);
    struct blk_dev *c = cache_create(&m.dev, 128 * LINE, "g", &err);   /* line 0 stays cached */
    CHECK(read_now(c, &m, 0, 4096));
    for (int i = 0; i < CACHE_REQS + 40; i++) {
        tio_prep(&t[i], (uint64_t)(1 + i % 500) * LINE, 4096, 1);
        t[i].req.origin = &a;
        CHECK_EQ(blk_submit(c, &t[i].req), 0);
    }
    tio_prep(&v, 512, 4096, 1);
    v.req.origin = &b;
    CHECK_EQ(blk_submit(c, &v.req), 0);
    CHECK(tio_ok(&v, &m));                        /* a hit: no base completion was needed */
    for (int guard = 0; m.npending && guard < 10000; guard++)
        mock_complete(&m, 0);
    for (int i = 0; i < CACHE_REQS + 40; i++)
        CHECK(tio_ok(&t[i], &m));
    c->ops->close(c);
    for (int i = 0; i < CACHE_REQS + 40; i++)
        free(t[i].buf);
    free(v.buf);
    mock_free(&m);
}

/* Close cancels parked reads too, each exactly once. */
TEST(cache_close_cancels_parked)
{
    struct mock m;
    static struct tio t[CACHE_REQS + 8];
    int err;
    mock_init(&m, 512 * LINE, 10);
    struct blk_dev *c = cache_create(&m.dev, 8 * LINE, "g", &err);
    for (int i = 0; i < CACHE_REQS + 8; i++) {
        tio_prep(&t[i], (uint64_t)(i % 500) * LINE, 4096, 1);
        CHECK_EQ(blk_submit(c, &t[i].req), 0);
    }
    c->ops->close(c);
    mock_complete_all(&m);
    for (int i = 0; i < CACHE_REQS + 8; i++) {
        CHECK_EQ(t[i].done, 1);
        CHECK_EQ(t[i].status, -ECANCELED);
        free(t[i].buf);
    }
    mock_free(&m);
}

/* A base read that fills only part of a line (short or gappy) leaves zeros in the rest: never what the
 * line's memory held before (an earlier owner's bytes, or another line of the image evicted from it). */
TEST(cache_short_base_read_exposes_no_old_data)
{
    struct mock m;
    struct tio t = { 0 };
    int err;
    mock_init(&m, 64 * LINE, 14);
    struct blk_dev *c = cache_create(&m.dev, 8 * LINE, "g", &err);
    for (int round = 0; round < 2; round++) {     /* fresh lines, then lines reused after eviction */
        uint64_t at = round ? 40 * LINE : 3 * LINE;
        if (round)
            for (int i = 10; i < 18; i++)         /* every line holds image bytes now */
                CHECK(read_now(c, &m, (uint64_t)i * LINE, LINE));
        m.short_next = 1;
        tio_prep(&t, at, LINE, 3);
        CHECK_EQ(blk_submit(c, &t.req), 0);
        mock_complete_all(&m);
        CHECK_EQ(t.done, 1);
        CHECK_EQ(t.status, 0);
        CHECK_MEM(t.buf, m.img + at, LINE / 2);
        for (uint64_t k = LINE / 2; k < LINE; k++)
            if (t.buf[k]) {
                CHECK_EQ(t.buf[k], 0);
                break;
            }
    }
    c->ops->close(c);
    free(t.buf);
    mock_free(&m);
}

TEST(cache_request_larger_than_cache)
{
    struct mock m;
    struct tio t = { 0 }, u = { 0 };
    int err;
    mock_init(&m, 64 * LINE, 9);
    struct blk_dev *c = cache_create(&m.dev, 8 * LINE, "g", &err);
    tio_prep(&t, 3 * LINE + 4096, 20 * LINE, 16);      /* 1.25 MiB through a 512 KiB cache */
    tio_prep(&u, 10 * LINE, 12 * LINE, 5);             /* a second one overlapping it */
    CHECK_EQ(blk_submit(c, &t.req), 0);
    CHECK_EQ(blk_submit(c, &u.req), 0);
    for (int guard = 0; m.npending && guard < 1000; guard++)
        mock_complete(&m, 0);
    CHECK(tio_ok(&t, &m));
    CHECK(tio_ok(&u, &m));
    c->ops->close(c);
    free(t.buf);
    free(u.buf);
    mock_free(&m);
}

static struct blk_dev *chain_dev;
static int chain_left, chain_closed;
static struct tio chain_io;

static void chain_done(struct blk_req *r, int st)
{
    struct tio *t = r->priv;
    t->done++;
    t->status = st;
    if (st == 0 && chain_left-- > 0) {           /* next sequential read, submitted from done() */
        uint64_t off = t->off + t->len;
        uint8_t *keep = t->buf;
        t->buf = NULL;
        tio_prep(t, off, 4096, 1);
        free(keep);
        t->req.done = chain_done;
        CHECK_EQ(blk_submit(chain_dev, &t->req), 0);
    } else if (st == 0 && !chain_closed) {
        chain_closed = 1;                        /* and close from inside done() */
        chain_dev->ops->close(chain_dev);
    }
}

TEST(cache_reentrant_done_and_sync_base)
{
    struct mock m;
    int err;
    mock_init(&m, 64 * LINE, 10);
    m.sync = 1;
    chain_dev = cache_create(&m.dev, 16 * LINE, "g", &err);
    chain_left = 600;                            /* 600 x 4 KiB: 37 lines, sequential */
    chain_closed = 0;
    tio_prep(&chain_io, 0, 4096, 1);
    chain_io.req.done = chain_done;
    CHECK_EQ(blk_submit(chain_dev, &chain_io.req), 0);
    CHECK_EQ(chain_left, -1);
    CHECK_EQ(chain_closed, 1);
    CHECK(memcmp(chain_io.buf, m.img + chain_io.off, 4096) == 0);
    free(chain_io.buf);
    chain_io.buf = NULL;
    mock_free(&m);
}

TEST(cache_close_in_flight)
{
    struct mock m;
    struct tio t[6] = { 0 };
    int err;
    for (int variant = 0; variant < 2; variant++) {
        mock_init(&m, 64 * LINE, 11);
        struct blk_dev *c = cache_create(&m.dev, 8 * LINE, "g", &err);
        for (int i = 0; i < 6; i++) {
            tio_prep(&t[i], (uint64_t)(i / 2) * 5 * LINE, 4096, 1);
            CHECK_EQ(blk_submit(c, &t[i].req), 0);
        }
        CHECK(m.npending > 0);
        c->ops->close(c);                        /* users hear -ECANCELED at once */
        for (int i = 0; i < 6; i++) {
            CHECK_EQ(t[i].done, 1);
            CHECK_EQ(t[i].status, -ECANCELED);
        }
        if (variant == 0)
            mock_complete_all(&m);               /* the base finishes later: memory freed then */
        else
            mock_cancel(&m.dev);                 /* or the base is closed and cancels them */
        for (int i = 0; i < 6; i++)
            CHECK_EQ(t[i].done, 1);
        mock_free(&m);
    }
    for (int i = 0; i < 6; i++)
        free(t[i].buf);
}

TEST(cache_refusals_and_create_errors)
{
    struct mock m;
    uint8_t buf[512];
    int err = 1;
    mock_init(&m, 64 * LINE, 12);
    CHECK(cache_create(&m.dev, 7 * LINE, "g", &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(cache_create(NULL, 64 * LINE, "g", &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    struct blk_dev *c = cache_create(&m.dev, 1ull << 40, "golden0", &err);   /* capped at the base's lines */
    CHECK(c != NULL);
    CHECK_EQ(stats(c).lines, 64);
    CHECK_EQ(c->sectors, m.dev.sectors);
    CHECK_STR(c->name, "golden0");
    struct blk_req w = { .op = BLK_WRITE, .nr = 1, .niov = 1, .iov = { { buf, 512 } }, .done = tio_done };
    CHECK_EQ(blk_submit(c, &w), -EROFS);
    CHECK_EQ(c->ops->submit(c, &w), -EROFS);
    w.op = BLK_DISCARD;
    CHECK_EQ(c->ops->submit(c, &w), -EROFS);
    w.op = BLK_READ;
    w.lba = m.dev.sectors;
    CHECK_EQ(c->ops->submit(c, &w), -EINVAL);
    w.lba = 0;
    w.iov[0].len = 1024;
    CHECK_EQ(c->ops->submit(c, &w), -EINVAL);
    struct tio f = { 0 };
    tio_prep(&f, 0, 512, 1);
    f.req.op = BLK_FLUSH;
    CHECK_EQ(blk_submit(c, &f.req), 0);
    CHECK_EQ(f.done, 1);
    CHECK_EQ(f.status, 0);
    CHECK_EQ(cache_get_stats(&m.dev, &(struct cache_stats){ 0 }), -EINVAL);
    c->ops->close(c);
    free(f.buf);
    mock_free(&m);
}

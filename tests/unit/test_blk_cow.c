/* Host tests of the copy-on-write overlay, one request at a time: merging, ordering, flushes, base errors. */
#define TEST_SUITE "blk_cow"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/blk_cow_fixture.h"
#include "tests/unit/blk_tenant.h"
#include "blk/cow.h"
#include "blk/delta.h"
#include "kernel/errno.h"

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
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    CHECK(cow_heap.live_bytes > 0);                                  /* base reads still out: memory kept */
    blk_mock_drain(m);
    int cancelled = 0;
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(o[i].calls, 1);
        CHECK(o[i].status == 0 || o[i].status == -ECANCELED);
        cancelled += o[i].status == -ECANCELED;
    }
    CHECK(cancelled > 0);
    CHECK_EQ(cow_heap.live_bytes, 0);
    CHECK_EQ(cow_heap.live_blocks, 0);
    CHECK_EQ(m->writes, 0);
    m->dev.ops->close(&m->dev);
}

/* Host tests of the copy-on-write overlay's space: quotas, the host budget, failed allocations, bad input. */
#define TEST_SUITE "blk_cow"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/blk_cow_fixture.h"
#include "tests/unit/blk_tenant.h"
#include "blk/cow.h"
#include "blk/delta.h"
#include "kernel/errno.h"

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
    CHECK_EQ(cow_heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
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
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    CHECK_EQ(cow_heap.live_bytes, 0);
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

TEST(cow_kmalloc_failure_is_enospc)
{
    static uint8_t w[4 * BS], r[4 * BS];
    struct blk_mock *m = blk_mock_create(64 * BS, 11, 1);
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    struct cow_stats st;
    memset(w, 0x3c, sizeof(w));
    cow_heap.fail_in = 1;
    CHECK_EQ(one_io(d, m, BLK_WRITE, 40 * 8 + 3, 2, w), -ENOSPC);
    cow_heap.fail_in = 0;
    cow_get_stats(d, &st);
    CHECK_EQ(st.delta_blocks, 0);
    CHECK_EQ(one_io(d, m, BLK_READ, 40 * 8, 8, r), 0);
    CHECK_MEM(r, base_bytes(m, 40 * BS, BS), BS);
    /* Fail a later allocation of a 4-block write: each block ends all old or all new, the last one old. */
    for (int n = 1; n <= 8; n++) {
        cow_heap.fail_in = n;
        int rc = one_io(d, m, BLK_WRITE, (uint64_t)(10 + 4 * n) * 8, 32, w);
        int failed_alloc = cow_heap.fail_in == 0;
        cow_heap.fail_in = 0;
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
    CHECK_EQ(cow_heap.live_bytes, 0);
    m->dev.ops->close(&m->dev);
}

/* Bytes cow_create allocates over a base of this size. */
static long long create_cost(uint64_t bytes, int stored)
{
    struct blk_mock *m = blk_mock_create(bytes, 12, stored);
    long long before = cow_heap.total_bytes;
    struct blk_dev *d = clone_over(m, COW_QUOTA_NONE);
    long long cost = cow_heap.total_bytes - before;
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
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    cow_heap.fail_in = 2;
    CHECK(cow_create(&m->dev, COW_QUOTA_NONE, "x", &err) == NULL);
    CHECK_EQ(err, -ENOMEM);
    cow_heap.fail_in = 0;
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    CHECK_EQ(cow_heap.live_bytes, 0);
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
    long long with_all = cow_heap.live_bytes;
    for (int i = 0; i < 7; i++)
        dl->ops->drop(dl, blks[i]);
    dl->ops->drop(dl, 12345);
    CHECK_EQ(dl->ops->count(dl), 0);
    CHECK(cow_heap.live_bytes < with_all - 7 * 4096);                /* emptied nodes were freed too */
    CHECK_U64(dl->ops->next(dl, 0), UINT64_MAX);
    dl->ops->destroy(dl);
    CHECK_EQ(cow_heap.live_bytes, 0);
    struct delta *q = delta_ram_create(2);
    CHECK(q->ops->alloc(q, 5) && q->ops->alloc(q, 9) && q->ops->alloc(q, 5));
    CHECK(q->ops->alloc(q, 6) == NULL);
    q->ops->destroy(q);
    CHECK_EQ(cow_heap.live_bytes, 0);
}

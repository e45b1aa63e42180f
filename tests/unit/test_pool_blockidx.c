/* The block-hash index (pool/blockidx.c): share counts against a brute-force count, zero blocks apart, lookup. */
#define TEST_SUITE "pool_blockidx"
#include "test.h"
#include "pool/blockidx.h"
#include <stdlib.h>

/* Block content c (0: all zero): 4 KiB whose bytes depend only on c. */
static void content(uint8_t *b, unsigned c)
{
    for (int i = 0; i < BLOCKIDX_BS; i++)
        b[i] = c ? (uint8_t)(c * 131 + i * 7 + (i >> 8)) : 0;
}

static struct blockidx *build(const unsigned *c, uint64_t n)
{
    static uint8_t b[BLOCKIDX_BS];
    struct blockidx *x = blockidx_alloc(n);
    for (uint64_t i = 0; i < n; i++) {
        content(b, c[i]);
        blockidx_add(x, i, b);
    }
    blockidx_finish(x);
    return x;
}

/* The counts by definition, one side: a block of x (non-zero) is found when some block of y has its content. */
static void brute_side(const unsigned *x, uint64_t nx, const unsigned *y, uint64_t ny, uint64_t out[5])
{
    memset(out, 0, 5 * sizeof(out[0]));          /* blocks, zero, found, distinct, distinct in both */
    out[0] = nx;
    for (uint64_t i = 0; i < nx; i++) {
        int in_y = 0, first = 1;
        if (!x[i]) {
            out[1]++;
            continue;
        }
        for (uint64_t j = 0; j < ny; j++)
            in_y |= y[j] == x[i];
        for (uint64_t k = 0; k < i; k++)
            first &= x[k] != x[i];
        out[2] += in_y;
        out[3] += first;
        out[4] += first && in_y;
    }
}

static void brute(const unsigned *a, uint64_t na, const unsigned *b, uint64_t nb, struct blockidx_share *s)
{
    uint64_t sa[5], sb[5];
    brute_side(a, na, b, nb, sa);
    brute_side(b, nb, a, na, sb);
    *s = (struct blockidx_share){ sa[0], sa[1], sa[2], sa[3], sb[0], sb[1], sb[2], sb[3], sa[4] };
}

TEST(share_counts_equal_a_brute_force_count)
{
    srand(5);
    for (int round = 0; round < 40; round++) {
        unsigned a[300], b[257];
        uint64_t na = 1 + (uint64_t)(rand() % 300), nb = 1 + (uint64_t)(rand() % 257);
        for (uint64_t i = 0; i < na; i++)
            a[i] = (unsigned)(rand() % 5 ? rand() % 120 : 0);      /* duplicates, zeros */
        for (uint64_t j = 0; j < nb; j++)
            b[j] = (unsigned)(rand() % 4 ? rand() % 160 : 0);
        struct blockidx *x = build(a, na), *y = build(b, nb);
        struct blockidx_share got, want;
        blockidx_share(x, y, &got);
        brute(a, na, b, nb, &want);
        if (memcmp(&got, &want, sizeof(got)))
            test_fail(__FILE__, __LINE__, "round %d: found %llu/%llu distinct %llu/%llu both %llu, want %llu/%llu %llu/%llu %llu",
                      round, (unsigned long long)got.a_found, (unsigned long long)got.b_found,
                      (unsigned long long)got.a_distinct, (unsigned long long)got.b_distinct,
                      (unsigned long long)got.both_distinct, (unsigned long long)want.a_found,
                      (unsigned long long)want.b_found, (unsigned long long)want.a_distinct,
                      (unsigned long long)want.b_distinct, (unsigned long long)want.both_distinct);
        blockidx_free(x);
        blockidx_free(y);
    }
}

TEST(zero_blocks_are_counted_apart_and_never_shared)
{
    unsigned a[4] = { 0, 0, 7, 0 }, b[3] = { 0, 9, 0 };
    struct blockidx *x = build(a, 4), *y = build(b, 3);
    struct blockidx_share s;
    blockidx_share(x, y, &s);
    CHECK(s.a_zero == 3 && s.b_zero == 2 && x->nz == 1 && y->nz == 1);
    CHECK(s.a_found == 0 && s.b_found == 0 && s.both_distinct == 0);
    blockidx_free(x);
    blockidx_free(y);
}

TEST(find_returns_a_block_with_that_content)
{
    unsigned a[6] = { 3, 8, 0, 5, 8, 1 };
    struct blockidx *x = build(a, 6);
    uint8_t h[BLOCKIDX_HASH];
    memcpy(h, x->hash[3], BLOCKIDX_HASH);
    CHECK(blockidx_find(x, h) == 3);
    memcpy(h, x->hash[1], BLOCKIDX_HASH);
    int64_t f = blockidx_find(x, h);
    CHECK(f == 1 || f == 4);
    h[0] ^= 0xff;
    CHECK(blockidx_find(x, h) == -1);
    memset(h, 0, sizeof(h));                     /* zero blocks are not in the sorted list */
    CHECK(blockidx_find(x, h) == -1);
    blockidx_free(x);
}

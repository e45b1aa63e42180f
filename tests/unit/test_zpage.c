/* Host tests of page compression (kernel/zpage.c over zlib): round trips, incompressible pages, hostile streams. */
#define TEST_SUITE "zpage"
#include "tests/unit/test.h"
#include "kernel/zpage.h"
#include "kernel/errno.h"
#include "zlib.h"
#include <stdlib.h>
#include <string.h>

static voidpf test_zalloc(voidpf o, uInt n, uInt size) { (void)o; return calloc(n, size); }
static void test_zfree(voidpf o, voidpf p) { (void)o; free(p); }

/* A page like kernel text: short repeated runs with variation (compresses, but not to nothing). */
static void textlike(uint8_t *p, unsigned seed)
{
    for (unsigned i = 0; i < ZPAGE_SIZE; i++)
        p[i] = (uint8_t)((i % 13) * 7 + (i / 97) + seed);
}

/* in[len] as one raw deflate stream made by zlib itself (not through zpage): its length, 0 on failure. */
static uint32_t raw_deflate(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
    z_stream z = { 0 };
    z.zalloc = test_zalloc;
    z.zfree = test_zfree;
    if (deflateInit2(&z, 6, Z_DEFLATED, -12, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = in;
    z.avail_in = len;
    z.next_out = out;
    z.avail_out = cap;
    int rc = deflate(&z, Z_FINISH);
    uint32_t n = rc == Z_STREAM_END ? (uint32_t)z.total_out : 0;
    deflateEnd(&z);
    return n;
}

static void random_page(uint8_t *p, unsigned seed)
{
    srand(seed);
    for (unsigned i = 0; i < ZPAGE_SIZE; i++)
        p[i] = (uint8_t)rand();
}

/* Compressed and expanded again, every page comes back exactly; each page stands alone (the second one
 * expands without the first). */
TEST(pages_round_trip_alone)
{
    struct zpage *src = zpage_new(ZPAGE_COMPRESS), *dst = zpage_new(ZPAGE_EXPAND);
    static uint8_t a[ZPAGE_SIZE], b[ZPAGE_SIZE], out[ZPAGE_SIZE], back[ZPAGE_SIZE];
    CHECK(src && dst);
    textlike(a, 1);
    textlike(b, 2);
    uint32_t na = zpage_compress(src, a, out, ZPAGE_SIZE);
    CHECK(na > 0 && na < ZPAGE_SIZE / 2);
    uint32_t nb = zpage_compress(src, b, out, ZPAGE_SIZE);
    CHECK(nb > 0);
    CHECK_EQ(zpage_expand(dst, out, nb, back), 0);
    CHECK_MEM(back, b, ZPAGE_SIZE);
    CHECK_EQ(zpage_compress(src, a, out, ZPAGE_SIZE), na);
    CHECK_EQ(zpage_expand(dst, out, na, back), 0);
    CHECK_MEM(back, a, ZPAGE_SIZE);
    zpage_free(src);
    zpage_free(dst);
}

/* A page that does not get smaller than cap is refused (0): the caller sends it as it is. */
TEST(incompressible_page_is_refused)
{
    struct zpage *z = zpage_new(ZPAGE_COMPRESS);
    static uint8_t p[ZPAGE_SIZE], out[ZPAGE_SIZE];
    random_page(p, 7);
    CHECK_EQ(zpage_compress(z, p, out, ZPAGE_SIZE), 0);
    textlike(p, 3);
    uint32_t n = zpage_compress(z, p, out, ZPAGE_SIZE);
    CHECK(n > 0);
    CHECK_EQ(zpage_compress(z, p, out, n), 0);         /* exactly its size is not smaller */
    CHECK_EQ(zpage_compress(z, p, out, n + 1), n);
    zpage_free(z);
}

/* What a peer may send: a stream cut short, one byte too many, a stream of a shorter or longer page, garbage,
 * nothing at all: each is refused; the context still works after. */
TEST(hostile_streams_are_refused)
{
    struct zpage *src = zpage_new(ZPAGE_COMPRESS), *dst = zpage_new(ZPAGE_EXPAND);
    static uint8_t p[ZPAGE_SIZE], out[2 * ZPAGE_SIZE], back[ZPAGE_SIZE], big[2 * ZPAGE_SIZE];
    textlike(p, 5);
    memset(big, 'x', sizeof(big));
    uint32_t n = zpage_compress(src, p, out, ZPAGE_SIZE);
    CHECK(n > 2);
    CHECK_EQ(zpage_expand(dst, out, n - 1, back), -EPROTO);
    out[n] = 0;
    CHECK_EQ(zpage_expand(dst, out, n + 1, back), -EPROTO);
    CHECK_EQ(zpage_expand(dst, out, 0, back), -EPROTO);
    memset(out, 0xff, 64);
    CHECK_EQ(zpage_expand(dst, out, 64, back), -EPROTO);
    /* valid raw deflate streams of 8 KiB and of 2 KiB: too long and too short for a page */
    uint32_t m = raw_deflate(big, sizeof(big), out, sizeof(out));
    CHECK(m > 0);
    CHECK_EQ(zpage_expand(dst, out, m, back), -EPROTO);
    m = raw_deflate(big, ZPAGE_SIZE / 2, out, sizeof(out));
    CHECK(m > 0);
    CHECK_EQ(zpage_expand(dst, out, m, back), -EPROTO);
    m = raw_deflate(big, ZPAGE_SIZE, out, sizeof(out));     /* the same bytes, exactly a page: accepted */
    CHECK_EQ(zpage_expand(dst, out, m, back), 0);
    CHECK_MEM(back, big, ZPAGE_SIZE);
    /* and after all that, a good one still expands */
    n = zpage_compress(src, p, out, ZPAGE_SIZE);
    CHECK_EQ(zpage_expand(dst, out, n, back), 0);
    CHECK_MEM(back, p, ZPAGE_SIZE);
    zpage_free(src);
    zpage_free(dst);
}

/* A context without the half asked for does nothing (compress 0, expand -EPROTO); zpage_free(NULL) is fine. */
TEST(halves_and_null)
{
    struct zpage *c = zpage_new(ZPAGE_COMPRESS), *e = zpage_new(ZPAGE_EXPAND);
    static uint8_t p[ZPAGE_SIZE], out[ZPAGE_SIZE];
    textlike(p, 9);
    CHECK_EQ(zpage_compress(e, p, out, ZPAGE_SIZE), 0);
    uint32_t n = zpage_compress(c, p, out, ZPAGE_SIZE);
    CHECK_EQ(zpage_expand(c, out, n, p), -EPROTO);
    zpage_free(c);
    zpage_free(e);
    zpage_free(NULL);
}

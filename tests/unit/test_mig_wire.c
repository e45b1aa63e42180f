/* Host tests of the migration stream's frame checks (vmm/mig/wire.c) and the content index (vmm/mig/pageidx.c). */
#define TEST_SUITE "mig_wire"
#include "tests/unit/test.h"
#include "vmm/mig/wire.h"
#include "vmm/mig/pageidx.h"
#include "kernel/errno.h"

static struct mig_hello good_hello(void)
{
    struct mig_hello h;
    memset(&h, 0, sizeof(h));
    h.version = MIG_VERSION;
    h.nvcpus = 2;
    h.mem_size = 256 << 20;
    h.argc = 3;
    strcpy(h.name, "web1");
    memcpy(h.args, "from\0demo\0ip=10.0.2.21", 23);
    return h;
}

static int hello_rc(const struct mig_hello *h)
{
    struct mig_hello out;
    const char *why = NULL;
    int rc = mig_hello_decode((const uint8_t *)h, sizeof(*h), &out, &why);
    CHECK(rc == 0 || why != NULL);
    return rc;
}

TEST(header_types_and_lengths)
{
    uint8_t h[MIG_HDR];
    uint32_t type, len;
    const char *why = NULL;
    mig_hdr_put(h, MIG_DATA, sizeof(struct mig_data_hdr) + MIG_PAGE);
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), 0);
    CHECK_EQ(type, MIG_DATA);
    mig_hdr_put(h, MIG_DATA, sizeof(struct mig_data_hdr) + MIG_PAGE + 1);   /* more than a page */
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    mig_hdr_put(h, MIG_DATA, sizeof(struct mig_data_hdr));    /* an index without its page */
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    CHECK_STR(why, "frame length wrong for its type");
    mig_hdr_put(h, 0, 0);
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    mig_hdr_put(h, MIG_TYPE_END, 0);
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    CHECK_STR(why, "unknown frame type");
    mig_hdr_put(h, MIG_HASHES, 0xffffffffu);                  /* a length that would overrun any buffer */
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    mig_hdr_put(h, MIG_COMMIT, 1);
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
    mig_hdr_put(h, MIG_STATE, sizeof(struct mig_state_hdr) + MIG_STATE_CHUNK + 1);
    CHECK_EQ(mig_hdr_parse(h, &type, &len, &why), -EPROTO);
}

TEST(hello_checks_every_field)
{
    struct mig_hello h = good_hello();
    CHECK_EQ(hello_rc(&h), 0);
    CHECK_STR(mig_hello_arg(&h, 2), "ip=10.0.2.21");
    h = good_hello(); h.version = MIG_VERSION + 1; CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.version = 1;               CHECK_EQ(hello_rc(&h), -EPROTO);   /* no deflated DATA */
    h = good_hello(); h.nvcpus = 0;                CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.mem_size = 4097;           CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.mem_size = 1ull << 50;     CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); memset(h.name, 'a', sizeof(h.name)); CHECK_EQ(hello_rc(&h), -EPROTO);   /* no NUL */
    h = good_hello(); h.name[0] = 0;               CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); strcpy(h.name, "a/b");       CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.argc = 4;                  CHECK_EQ(hello_rc(&h), -EPROTO);           /* a 4th word is empty */
    h = good_hello(); h.argc = MIG_ARGC_MAX + 1;   CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.args[1] = '\n';            CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); memset(h.args, 'x', sizeof(h.args)); h.argc = 1; CHECK_EQ(hello_rc(&h), -EPROTO);
    h = good_hello(); h.disk_blocks = MIG_INDEX_MASK + 1; CHECK_EQ(hello_rc(&h), -EPROTO);
}

TEST(hashes_want_data_state_bounds)
{
    static uint8_t p[MIG_MAX_PAYLOAD];
    struct mig_hashes_hdr hh = { 7, MIG_KIND_BLOCK, 3, 0 };
    struct mig_hashes_hdr got;
    static struct mig_entry e[MIG_BATCH];
    struct mig_entry in[3] = { { 4, { 1 } }, { 5 | MIG_ENTRY_ZERO, { 0 } }, { 6, { 2, 3 } } };
    const uint8_t *q = NULL;
    const char *why;
    uint32_t len = sizeof(hh);
    memcpy(p, &hh, sizeof(hh));
    for (int i = 0; i < 3; i++)
        len += mig_entry_put(p + len, &in[i]);
    CHECK_EQ(len, sizeof(hh) + 2 * MIG_ENTRY_MAX + MIG_ENTRY_MIN);         /* the zero entry has no hash */
    CHECK_EQ(mig_hashes_decode(p, len, &got, e, &why), 0);
    CHECK_MEM(e, in, sizeof(in));
    CHECK_EQ(mig_hashes_decode(p, len - 1, &got, e, &why), -EPROTO);          /* count and length disagree */
    CHECK_EQ(mig_hashes_decode(p, len + 1, &got, e, &why), -EPROTO);          /* a byte left over */
    in[1].index = 5;                                                          /* the flag off: 32 bytes short */
    memcpy(p + sizeof(hh) + MIG_ENTRY_MAX, &in[1].index, 8);
    CHECK_EQ(mig_hashes_decode(p, len, &got, e, &why), -EPROTO);
    hh.kind = 2; memcpy(p, &hh, sizeof(hh));
    CHECK_EQ(mig_hashes_decode(p, len, &got, e, &why), -EPROTO);
    hh.kind = 0; hh.n = MIG_BATCH + 1; memcpy(p, &hh, sizeof(hh));
    CHECK_EQ(mig_hashes_decode(p, sizeof(hh) + (MIG_BATCH + 1) * 40, &got, e, &why), -EPROTO);

    struct mig_want_hdr w = { 7, 9 }, wg;
    memcpy(p, &w, sizeof(w));
    CHECK_EQ(mig_want_decode(p, sizeof(w) + 2, &wg, &q, &why), 0);
    CHECK_EQ(mig_want_decode(p, sizeof(w) + 1, &wg, &q, &why), -EPROTO);

    struct mig_data_hdr d = { MIG_KIND_PAGE, 0, MIG_INDEX_MASK + 1 }, dg;
    memcpy(p, &d, sizeof(d));
    uint32_t blen = 0;
    CHECK_EQ(mig_data_decode(p, sizeof(d) + MIG_PAGE, &dg, &q, &blen, &why), -EPROTO);
    d.index = 3; memcpy(p, &d, sizeof(d));
    CHECK_EQ(mig_data_decode(p, sizeof(d) + MIG_PAGE, &dg, &q, &blen, &why), 0);
    CHECK(q == p + sizeof(d));
    CHECK_EQ(blen, MIG_PAGE);
    CHECK_EQ(mig_data_decode(p, sizeof(d) + 100, &dg, &q, &blen, &why), -EPROTO);   /* raw, yet short */
    CHECK_STR(why, "DATA of the wrong size for its encoding");
    d.enc = MIG_ENC_DEFLATE; memcpy(p, &d, sizeof(d));
    CHECK_EQ(mig_data_decode(p, sizeof(d) + 100, &dg, &q, &blen, &why), 0);
    CHECK_EQ(blen, 100);
    CHECK_EQ(dg.enc, MIG_ENC_DEFLATE);
    CHECK_EQ(mig_data_decode(p, sizeof(d) + MIG_PAGE, &dg, &q, &blen, &why), -EPROTO); /* deflated, not smaller */
    CHECK_EQ(mig_data_decode(p, sizeof(d), &dg, &q, &blen, &why), -EPROTO);            /* no stream at all */
    d.enc = 2; memcpy(p, &d, sizeof(d));
    CHECK_EQ(mig_data_decode(p, sizeof(d) + 100, &dg, &q, &blen, &why), -EPROTO);
    CHECK_STR(why, "DATA in an unknown encoding");

    struct mig_state_hdr s = { 100, 90 }, sg;
    memcpy(p, &s, sizeof(s));
    CHECK_EQ(mig_state_decode(p, sizeof(s) + 10, &sg, &q, &why), 0);
    CHECK_EQ(mig_state_decode(p, sizeof(s) + 11, &sg, &q, &why), -EPROTO);    /* past the record's end */
    s.total = MIG_STATE_MAX + 1; s.offset = 0; memcpy(p, &s, sizeof(s));
    CHECK_EQ(mig_state_decode(p, sizeof(s) + 10, &sg, &q, &why), -EPROTO);
    s.total = 100; s.offset = 0xfffffff0u; memcpy(p, &s, sizeof(s));
    CHECK_EQ(mig_state_decode(p, sizeof(s) + 32, &sg, &q, &why), -EPROTO);    /* offset + length wraps */
}

TEST(reason_is_printable_and_terminated)
{
    char out[8];
    mig_reason_decode((const uint8_t *)"ab\ncd\x80xyz", 9, out, sizeof(out));
    CHECK_STR(out, "ab?cd?x");
}

TEST(index_finds_replaces_and_bounds_probing)
{
    struct mig_idx x;
    uint8_t h[32];
    CHECK_EQ(mig_idx_init(&x, 100), 0);
    for (int i = 0; i < 100; i++) {
        memset(h, i, sizeof(h));
        mig_idx_put(&x, h, (uint64_t)i + 1);
    }
    for (int i = 0; i < 100; i++) {
        memset(h, i, sizeof(h));
        CHECK_EQ(mig_idx_get(&x, h), i + 1);
    }
    memset(h, 5, sizeof(h));
    mig_idx_put(&x, h, 777);                                   /* the newest location wins */
    CHECK_EQ(mig_idx_get(&x, h), 777);
    CHECK_EQ(x.used, 100);
    memset(h, 0xee, sizeof(h));
    CHECK_EQ(mig_idx_get(&x, h), 0);
    /* Hashes crowding one slot (a hostile source can make contents that do): the window fills, the rest
     * are dropped, lookups stay bounded and still find what was kept. */
    for (int i = 0; i < 2 * MIG_IDX_PROBES; i++) {
        memset(h, 0, sizeof(h));
        h[0] = 200;                                            /* all in one empty slot's window */
        h[31] = (uint8_t)i;
        h[30] = 1;
        mig_idx_put(&x, h, 1000 + (uint64_t)i);
    }
    CHECK(x.dropped >= MIG_IDX_PROBES);
    memset(h, 0, sizeof(h));
    h[0] = 200;
    h[30] = 1;
    CHECK_EQ(mig_idx_get(&x, h), 1000);
    mig_idx_free(&x);
}

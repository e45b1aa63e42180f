/* Host unit tests of a migration destination's page side (vmm/mig/dstpages.c): what it fills, wants and refuses. */
#define TEST_SUITE "mig_dst"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/mig_dst_shim.h"
#include "kernel/sha256.h"
#include "kernel/zpage.h"
#include "kernel/errno.h"
#include "blk/delta.h"

static uint8_t frame[MIG_MAX_PAYLOAD];

static void fill(uint8_t *page, uint8_t seed)
{
    for (uint32_t i = 0; i < MIG_PAGE; i++)
        page[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

static struct mig_entry entry(uint64_t index, const uint8_t *content)
{
    struct mig_entry e;
    memset(&e, 0, sizeof(e));
    e.index = index;
    if (content)
        sha256(content, MIG_PAGE, e.hash);
    else
        e.index |= MIG_ENTRY_ZERO;
    return e;
}

/* The WANT bit of entry i in the last frame sent (the test fails when no WANT went out). */
static int wanted(struct mig_dst *d, uint32_t i)
{
    const uint8_t *p;
    uint32_t len;
    CHECK_EQ(shim_sent(d, &p, &len), MIG_WANT);
    return p[sizeof(struct mig_want_hdr) + i / 8] >> (i % 8) & 1;
}

/* A page another guest of this host holds is copied here, not asked for; a page nobody has is asked for. */
TEST(found_here_is_copied_not_wanted)
{
    struct mig_dst *d = shim_dst_new(8, 0, 4);
    uint8_t a[MIG_PAGE], b[MIG_PAGE];
    fill(a, 1), fill(b, 2);
    memcpy(shim_page(SHIM_OTHER_SLOT, 3), a, MIG_PAGE);
    while (mig_dst_scan(d, 64))
        ;
    struct mig_entry e[2] = { entry(5, a), entry(6, b) };
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 2, e)), 0);
    CHECK(!wanted(d, 0));
    CHECK(wanted(d, 1));
    CHECK_MEM(shim_page(1, 5), a, MIG_PAGE);
    CHECK_EQ(d->found, 1);
    shim_dst_free(d);
}

/* Whole pages of what the new VM's loader copied in (its boot modules, indexed first) are found there; the
 * partial last page of a piece is not indexed. */
TEST(boot_pieces_are_found_whole_pages_only)
{
    struct mig_dst *d = shim_dst_new(8, 0, 0);
    static uint8_t kernel[2 * MIG_PAGE + 100], initrd[MIG_PAGE];
    uint8_t tail[MIG_PAGE];
    fill(kernel, 3), fill(kernel + MIG_PAGE, 4), fill(initrd, 5);
    memset(tail, 0, sizeof(tail));
    memset(kernel + 2 * MIG_PAGE, 0x77, 100);
    memcpy(tail, kernel + 2 * MIG_PAGE, 100);
    d->boot[0] = kernel, d->boot_len[0] = sizeof(kernel);
    d->boot[1] = initrd, d->boot_len[1] = sizeof(initrd);
    d->nboot = 2;
    CHECK_EQ(mig_dst_scan(d, 64), 3);                  /* 2 + 1 whole pages, before anything else */
    struct mig_entry e[3] = { entry(1, kernel + MIG_PAGE), entry(2, initrd), entry(3, tail) };
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 3, e)), 0);
    CHECK(!wanted(d, 0) && !wanted(d, 1));
    CHECK(wanted(d, 2));
    CHECK_MEM(shim_page(1, 1), kernel + MIG_PAGE, MIG_PAGE);
    CHECK_MEM(shim_page(1, 2), initrd, MIG_PAGE);
    CHECK_EQ(d->found, 2);
    shim_dst_free(d);
}

/* The other guest overwrote the page after it was indexed: the stale hint is caught by hashing again. */
TEST(a_page_changed_since_indexing_is_wanted)
{
    struct mig_dst *d = shim_dst_new(8, 0, 4);
    uint8_t a[MIG_PAGE];
    fill(a, 3);
    memcpy(shim_page(SHIM_OTHER_SLOT, 0), a, MIG_PAGE);
    while (mig_dst_scan(d, 64))
        ;
    shim_page(SHIM_OTHER_SLOT, 0)[100] ^= 1;
    struct mig_entry e = entry(2, a);
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 1, &e)), 0);
    CHECK(wanted(d, 0));
    CHECK_EQ(d->refound, 1);
    CHECK(shim_page(1, 2)[0] == 0);
    shim_dst_free(d);
}

/* Received pages serve later entries of the same content; zero entries clear the page. */
TEST(received_pages_and_zero_pages)
{
    struct mig_dst *d = shim_dst_new(8, 0, 0);
    uint8_t a[MIG_PAGE];
    fill(a, 4);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_PAGE, 1, a)), 0);
    memset(shim_page(1, 7), 0xee, MIG_PAGE);
    struct mig_entry e[2] = { entry(4, a), entry(7, NULL) };
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 2, e)), 0);
    CHECK(!wanted(d, 0) && !wanted(d, 1));
    CHECK_MEM(shim_page(1, 4), a, MIG_PAGE);
    CHECK(shim_page(1, 7)[0] == 0 && shim_page(1, 7)[MIG_PAGE - 1] == 0);
    shim_dst_free(d);
}

/* A deflated DATA page lands expanded; a stream that does not expand to one page is refused with a reason and
 * leaves the page as it was. */
TEST(deflated_data_lands_and_a_bad_stream_changes_nothing)
{
    struct mig_dst *d = shim_dst_new(8, 0, 0);
    struct zpage *z = zpage_new(ZPAGE_COMPRESS);
    uint8_t a[MIG_PAGE], b[MIG_PAGE];
    struct mig_data_hdr h = { MIG_KIND_PAGE, MIG_ENC_DEFLATE, 2 };
    fill(a, 6);
    fill(b, 7);
    uint32_t n = zpage_compress(z, a, frame + sizeof(h), MIG_PAGE);
    CHECK(n > 0 && n < MIG_PAGE);
    memcpy(frame, &h, sizeof(h));
    CHECK_EQ(mig_dst_data(d, frame, (uint32_t)sizeof(h) + n), 0);
    CHECK_MEM(shim_page(1, 2), a, MIG_PAGE);
    CHECK_EQ(d->expanded, 1);
    n = zpage_compress(z, b, frame + sizeof(h), MIG_PAGE);
    CHECK_EQ(mig_dst_data(d, frame, (uint32_t)sizeof(h) + n - 1), -EPROTO);     /* its last byte cut off */
    CHECK(d->io.why && strstr(d->io.why, "does not expand"));
    CHECK_MEM(shim_page(1, 2), a, MIG_PAGE);
    zpage_free(z);
    shim_dst_free(d);
}

/* Indexes outside the VM, entry flags it does not know, and blocks without a delta are refused. */
TEST(out_of_range_is_refused)
{
    struct mig_dst *d = shim_dst_new(8, 0, 0);
    uint8_t a[MIG_PAGE];
    fill(a, 5);
    struct mig_entry e = entry(8, a);
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 1, &e)), -EPROTO);
    CHECK(d->io.why && strstr(d->io.why, "outside the VM"));
    e = entry(1ull << 45, a);
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_PAGE, 1, &e)), -EPROTO);
    e = entry(0, a);
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_BLOCK, 1, &e)), -EPROTO);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_PAGE, 8, a)), -EPROTO);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_BLOCK, 0, a)), -EPROTO);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_PAGE, 0, a) - 1), -EPROTO);   /* short */
    shim_dst_free(d);
}

/* Complete refuses while a page never came, and drops delta blocks the source's final round did not name. */
TEST(complete_needs_every_page_and_drops_unseen_blocks)
{
    struct mig_dst *d = shim_dst_new(2, 16, 0);
    uint8_t a[MIG_PAGE];
    fill(a, 6);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_PAGE, 0, a)), 0);
    CHECK_EQ(mig_dst_complete(d), -EPROTO);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_PAGE, 1, a)), 0);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_BLOCK, 3, a)), 0);
    CHECK_EQ(mig_dst_data(d, frame, shim_data(frame, MIG_KIND_BLOCK, 9, a)), 0);
    memset(d->seen, 0, 8);                     /* the final round begins: only block 9 is named again */
    struct mig_entry e = entry(9, a);
    CHECK_EQ(mig_dst_hashes(d, frame, shim_hashes(frame, MIG_KIND_BLOCK, 1, &e)), 0);
    CHECK(!wanted(d, 0));                       /* block 9 holds it already */
    CHECK_EQ(mig_dst_complete(d), 0);
    CHECK(d->delta->ops->lookup(d->delta, 3) == NULL);
    CHECK(d->delta->ops->lookup(d->delta, 9) != NULL);
    CHECK_MEM(d->delta->ops->lookup(d->delta, 9), a, MIG_PAGE);
    shim_dst_free(d);
}

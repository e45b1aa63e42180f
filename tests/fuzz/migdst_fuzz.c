/* Fuzz harness for a migration destination's page side (vmm/mig/dstpages.c) over fake guests (tests/unit/mig_dst_shim.c). */
/*
 * The input sets up a session (pages of the new VM, delta blocks, pages of another guest here) and then
 * drives it as a hostile source and a busy host could: HASHES and DATA frames built from eight page
 * templates (so that contents repeat and the index finds them) or raw bytes, writes by the other guest
 * after its pages were indexed, index scans. The oracle: whatever a HASHES frame did not ask for holds
 * exactly the content the entry's hash names (or zeros for a zero entry), every DATA lands as sent (deflated
 * ones too), a DATA refused (a deflate stream with a flipped byte) changes nothing, and nothing reads or
 * writes outside a page or block. ASan and UBSan are fatal.
 * SEEDS: write a seed input using every operation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/mig_dst_shim.h"
#include "kernel/sha256.h"
#include "kernel/zpage.h"
#include "blk/delta.h"

#define TEMPLATES 8

static uint8_t tpl[TEMPLATES][MIG_PAGE];
static uint8_t frame[MIG_MAX_PAYLOAD];

static void templates(void)
{
    for (int t = 1; t < TEMPLATES; t++)         /* template 0: zeros */
        for (uint32_t i = 0; i < MIG_PAGE; i++)
            tpl[t][i] = (uint8_t)(t * 37 + i * (uint32_t)t + (i >> 9));
}

/* The stored bytes of kind/index, or NULL (an absent delta block reads as the base: not checked here). */
static const uint8_t *target(struct mig_dst *d, uint32_t kind, uint64_t index)
{
    if (kind == MIG_KIND_PAGE)
        return shim_page(1, index);
    return d->delta->ops->lookup(d->delta, index);
}

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned byte(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static unsigned word(struct input *in)
{
    unsigned lo = byte(in);
    return lo | byte(in) << 8;
}

/* A HASHES frame of 1..8 template entries; checks what it filled. 0, or <0 when the session refused it. */
static int hashes_op(struct mig_dst *d, struct input *in)
{
    struct mig_entry e[8];
    unsigned b = byte(in), kind = b & 1, n = 1 + (b >> 1) % 8;
    const uint8_t *want;
    uint32_t len;
    memset(e, 0, sizeof(e));
    for (unsigned i = 0; i < n; i++) {
        unsigned index = word(in), t = byte(in);
        e[i].index = index;
        if (t & 0x80)
            e[i].index |= MIG_ENTRY_ZERO;
        else
            sha256(tpl[t % TEMPLATES], MIG_PAGE, e[i].hash);
        if (t & 0x40)
            e[i].hash[0] ^= 1;                  /* content nobody has */
    }
    shim_sent_clear(d);
    int rc = mig_dst_hashes(d, frame, shim_hashes(frame, kind, n, e));
    if (rc < 0)
        return rc;
    if (shim_sent(d, &want, &len) != MIG_WANT || len != sizeof(struct mig_want_hdr) + (n + 7) / 8)
        abort();                                /* every HASHES is answered (no golden reads here) */
    want += sizeof(struct mig_want_hdr);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *got = target(d, kind, e[i].index & MIG_INDEX_MASK);
        uint8_t h[32];
        int later = 0;
        for (unsigned j = i + 1; j < n; j++)
            later |= (e[j].index & MIG_INDEX_MASK) == (e[i].index & MIG_INDEX_MASK);
        if (later || want[i / 8] >> (i % 8) & 1)
            continue;                           /* a later entry of the batch names the same page */
        if (!got)
            abort();                            /* not asked for, yet not stored */
        if (e[i].index & MIG_ENTRY_ZERO) {
            for (uint32_t k = 0; k < MIG_PAGE; k++)
                if (got[k])
                    abort();
            continue;
        }
        sha256(got, MIG_PAGE, h);
        if (memcmp(h, e[i].hash, 32))
            abort();                            /* filled with other content than the hash names */
    }
    return 0;
}

/* The DATA frame in frame (len bytes, a raw page) deflated, with one byte of its stream flipped when flip >= 0. */
static uint32_t deflate_frame(uint32_t len, int flip, unsigned mask)
{
    static struct zpage *z;
    struct mig_data_hdr h;
    uint8_t page[MIG_PAGE];
    if (!z && !(z = zpage_new(ZPAGE_COMPRESS)))
        abort();
    memcpy(&h, frame, sizeof(h));
    memcpy(page, frame + sizeof(h), MIG_PAGE);
    uint32_t n = zpage_compress(z, page, frame + sizeof(h), MIG_PAGE);
    if (!n)
        abort();                                /* every template compresses */
    h.enc = MIG_ENC_DEFLATE;
    memcpy(frame, &h, sizeof(h));
    if (flip >= 0)
        frame[sizeof(h) + (uint32_t)flip % n] ^= (uint8_t)(mask | 1);
    (void)len;
    return (uint32_t)sizeof(h) + n;
}

/* A DATA frame of a template, as it is or deflated (perhaps with a flipped byte): a frame taken lands as sent
 * (unless flipped), a frame refused leaves the page or block as it was. */
static int data_op(struct mig_dst *d, struct input *in)
{
    unsigned b = byte(in), kind = b & 1, index = word(in), t = byte(in) % TEMPLATES;
    uint32_t len = shim_data(frame, kind, index, tpl[t]);
    int flip = b & 4 ? (int)word(in) : -1;
    if (b & 2)
        len = deflate_frame(len, flip, byte(in));
    const uint8_t *old = kind == MIG_KIND_BLOCK && !d->delta ? NULL : target(d, kind, index);
    static uint8_t before[MIG_PAGE];
    if (old)
        memcpy(before, old, MIG_PAGE);
    int rc = mig_dst_data(d, frame, len);
    if (!rc && !(b & 2 && flip >= 0) && memcmp(target(d, kind, index), tpl[t], MIG_PAGE))
        abort();
    if (rc && old && memcmp(target(d, kind, index), before, MIG_PAGE))
        abort();                                /* refused, yet changed */
    return rc;
}

static int raw_op(struct mig_dst *d, struct input *in, int data)
{
    size_t len = word(in);
    if (len > in->n)
        len = in->n;
    memcpy(frame, in->p, len);
    in->p += len, in->n -= len;
    return data ? mig_dst_data(d, frame, (uint32_t)len) : mig_dst_hashes(d, frame, (uint32_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    static int ready;
    if (!ready)
        templates(), ready = 1;
    uint64_t npages = 4 + byte(&in) % 29, blocks = byte(&in) % 17, other = byte(&in) % 9;
    struct mig_dst *d = shim_dst_new(npages, blocks, other);
    int rc = 0;
    while (in.n && rc >= 0) {
        unsigned op = byte(&in) % 6, a, b;
        if (op == 0)
            rc = hashes_op(d, &in);
        else if (op == 1)
            rc = data_op(d, &in);
        else if (op == 2) {                     /* the other guest writes one of its pages */
            a = byte(&in), b = byte(&in) % TEMPLATES;
            if (shim_page(SHIM_OTHER_SLOT, a))
                memcpy(shim_page(SHIM_OTHER_SLOT, a), tpl[b], MIG_PAGE);
        } else if (op == 3)
            mig_dst_scan(d, 1 + (int)(byte(&in) % 16));
        else
            rc = raw_op(d, &in, op == 5);
    }
    if (rc >= 0 && !mig_dst_complete(d))
        for (uint64_t i = 0; i < npages; i++)
            if (!(d->have[i / 64] >> (i % 64) & 1))
                abort();                        /* complete, yet a page never came */
    shim_dst_free(d);
    return 0;
}

#ifdef MIGDST_FUZZ_SEEDS
/* Seed corpus in argv[1]: a session of 8 pages, 4 delta blocks, another guest of 4 pages, every operation. */
int main(int argc, char **argv)
{
    static const uint8_t seed[] = {
        4, 4, 4,
        2, 1, 3,                                /* the other guest's page 1 holds template 3 */
        3, 15,                                  /* index it */
        1, 0, 2, 0, 5,                          /* DATA page 2 = template 5 */
        0, 2 << 1, 0, 0, 3, 1, 0, 5, 2, 0, 0x80,/* HASHES pages 0 (t3), 1 (t5), 2 (zero) */
        0, 1 | 1 << 1, 3, 0, 5, 1, 0, 0x43,     /* HASHES blocks 3 (t5), 1 (nobody has it) */
        1, 1, 1, 0, 6,                          /* DATA block 1 */
        1, 2, 3, 0, 4,                          /* DATA page 3 = template 4, deflated */
        1, 6, 3, 0, 2, 9, 0, 0x10,              /* DATA page 3 = template 2, deflated, byte 9 flipped */
        4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0,        /* a raw, short HASHES */
    };
    char path[512];
    FILE *f;
    if (argc < 2)
        return 1;
    snprintf(path, sizeof(path), "%s/seed-session", argv[1]);
    if (!(f = fopen(path, "wb")) || fwrite(seed, 1, sizeof(seed), f) != sizeof(seed))
        return 1;
    fclose(f);
    return 0;
}
#endif

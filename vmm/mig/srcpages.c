/* A migration source's rounds: pages and delta blocks go as hashes first, then as data where the destination asks. */
#include "vmm/mig/src.h"
#include "blk/delta.h"
#include "kernel/sha256.h"
#include "kernel/zpage.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

static int all_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (int i = 0; i < (int)(MIG_PAGE / 8); i++)
        if (q[i])
            return 0;
    return 1;
}

void mig_src_round_begin(struct mig_src *s, int with_blocks)
{
    s->cursor = 0;
    s->blk_cursor = with_blocks && s->delta ? 0 : UINT64_MAX;
}

/* The next page of this round at or after the cursor, or npages. */
static uint64_t next_page(struct mig_src *s)
{
    uint64_t p = s->cursor;
    while (p < s->npages) {
        uint64_t w = s->todo[p / 64] >> (p % 64);
        if (w)
            return p + (uint64_t)__builtin_ctzll(w) < s->npages ? p + (uint64_t)__builtin_ctzll(w) : s->npages;
        p = (p / 64 + 1) * 64;
    }
    return s->npages;
}

/* What index holds now (a page of RAM or a stored delta block), or NULL (a block dropped since). */
static const uint8_t *content(struct mig_src *s, uint32_t kind, uint64_t index)
{
    if (kind == MIG_KIND_PAGE)
        return gpa_ptr(s->vm, index * MIG_PAGE, MIG_PAGE);
    return s->delta->ops->lookup(s->delta, index);
}

/* Fill one entry for index from its content now. */
static void entry(struct mig_src *s, struct mig_entry *e, uint32_t kind, uint64_t index)
{
    const uint8_t *c = content(s, kind, index);
    memset(e, 0, sizeof(*e));
    e->index = index;
    s->hashed++;
    if (!c || all_zero(c)) {
        e->index |= MIG_ENTRY_ZERO;
        s->zero++;
    } else {
        sha256(c, MIG_PAGE, e->hash);
    }
}

/* The next index of this round's kind into *index: pages first, then blocks. 0 when none is left. */
static int next_index(struct mig_src *s, uint32_t *kind, uint64_t *index)
{
    uint64_t p = next_page(s);
    if (p < s->npages) {
        s->cursor = p + 1;
        *kind = MIG_KIND_PAGE;
        *index = p;
        return 1;
    }
    s->cursor = s->npages;
    if (s->blk_cursor == UINT64_MAX || (s->blk_cursor = s->delta->ops->next(s->delta, s->blk_cursor)) == UINT64_MAX)
        return 0;
    *kind = MIG_KIND_BLOCK;
    *index = s->blk_cursor++;
    return 1;
}

/* Hash up to MIG_STEP entries of one kind into a new batch and send it. 1 sent, 0 nothing left, <0. */
static int send_batch(struct mig_src *s)
{
    struct mig_batch *b = &s->b[(s->head + s->count) % MIG_WINDOW];
    uint8_t *p = mig_io_begin(&s->io, MIG_HASHES);
    struct mig_hashes_hdr h = { ++s->seq, 0, 0, 0 };
    struct mig_entry e;
    uint32_t kind, at = sizeof(h);
    uint64_t index;
    while (h.n < MIG_STEP) {
        uint64_t keep_page = s->cursor, keep_blk = s->blk_cursor;
        if (!next_index(s, &kind, &index))
            break;
        if (h.n && kind != h.kind) {                  /* a batch holds one kind: put it back */
            s->cursor = keep_page;
            s->blk_cursor = keep_blk;
            break;
        }
        h.kind = kind;
        entry(s, &e, kind, index);
        at += mig_entry_put(p + at, &e);
        if (e.index & MIG_ENTRY_ZERO)
            b->zero[h.n / 8] |= (uint8_t)(1u << (h.n % 8));
        else
            b->zero[h.n / 8] &= (uint8_t)~(1u << (h.n % 8));
        b->idx[h.n++] = index;
    }
    if (!h.n)
        return 0;
    memcpy(p, &h, sizeof(h));
    b->seq = h.seq;
    b->kind = h.kind;
    b->n = h.n;
    b->next = 0;
    b->answered = 0;
    s->count++;
    int rc = mig_io_send(&s->io, at);
    return rc < 0 ? rc : 1;
}

int mig_src_want(struct mig_src *s, const uint8_t *p, uint32_t len)
{
    struct mig_want_hdr h;
    const uint8_t *bits;
    struct mig_batch *b = NULL;
    for (unsigned i = 0; i < s->count; i++)
        if (!s->b[(s->head + i) % MIG_WINDOW].answered) {
            b = &s->b[(s->head + i) % MIG_WINDOW];
            break;
        }
    if (mig_want_decode(p, len, &h, &bits, &s->io.why))
        return -EPROTO;
    if (!b || h.seq != b->seq || h.n != b->n) {
        s->io.why = "WANT answers no batch we sent";
        return -EPROTO;
    }
    memcpy(b->want, bits, (h.n + 7) / 8);
    b->answered = 1;
    for (uint32_t i = 0; i < b->n; i++)
        b->want[i / 8] &= (uint8_t)~((b->zero[i / 8] >> (i % 8) & 1) << (i % 8));   /* zeros need no data */
    for (uint32_t i = 0; i < b->n; i++)
        s->found += !(b->want[i / 8] >> (i % 8) & 1) && !(b->zero[i / 8] >> (i % 8) & 1);
    return 0;
}

/*
 * Compression pays while pages shrink. Pages go through deflate in probes of Z_PROBE; a probe that saved
 * less than an eighth of its bytes (random data, content already compressed) sends the next Z_REST pages as
 * they are, without spending the CPU on them, and then tries again.
 */
#define Z_PROBE 64u
#define Z_REST  1024u

/* c deflated into out (less than MIG_PAGE bytes): its length, or 0 when it goes as it is. */
static uint32_t deflated(struct mig_src *s, const uint8_t *c, uint8_t *out)
{
    if (!s->z || !c)
        return 0;
    if (s->zrest) {
        s->zrest--;
        return 0;
    }
    uint32_t n = zpage_compress(s->z, c, out, MIG_PAGE);
    s->zprobe_in += MIG_PAGE;
    s->zprobe_out += n ? n : MIG_PAGE;
    if (++s->zprobe == Z_PROBE) {
        if (s->zprobe_in - s->zprobe_out < s->zprobe_in / 8)
            s->zrest = Z_REST;
        s->zprobe = 0;
        s->zprobe_in = s->zprobe_out = 0;
    }
    if (n) {
        s->zpages++;
        s->zin += MIG_PAGE;
        s->zout += n;
    }
    return n;
}

/* Send the oldest answered batch's next wanted entry. 1 sent, 0 the batch is finished, <0. */
static int send_wanted(struct mig_src *s, struct mig_batch *b)
{
    while (b->next < b->n && !(b->want[b->next / 8] >> (b->next % 8) & 1))
        b->next++;
    if (b->next == b->n)
        return 0;
    uint64_t index = b->idx[b->next++];
    const uint8_t *c = content(s, b->kind, index);
    uint8_t *p = mig_io_begin(&s->io, MIG_DATA);
    struct mig_data_hdr h = { b->kind, MIG_ENC_RAW, index };
    uint32_t n = deflated(s, c, p + sizeof(h));
    if (n)
        h.enc = MIG_ENC_DEFLATE;
    else if (c)
        memcpy(p + sizeof(h), c, MIG_PAGE);
    else
        memset(p + sizeof(h), 0, MIG_PAGE);
    memcpy(p, &h, sizeof(h));
    if (b->kind == MIG_KIND_PAGE)
        s->sent++;
    else
        s->blocks++;
    int rc = mig_io_send(&s->io, (uint32_t)sizeof(h) + (n ? n : MIG_PAGE));
    return rc < 0 ? rc : 1;
}

int mig_src_round_step(struct mig_src *s)
{
    while (s->count && s->b[s->head].answered) {
        int rc = send_wanted(s, &s->b[s->head]);
        if (rc)
            return rc;
        s->head = (s->head + 1) % MIG_WINDOW;
        s->count--;
    }
    if (s->count < MIG_WINDOW) {
        int rc = send_batch(s);
        if (rc)
            return rc;
    }
    return s->count ? 0 : 2;
}

/* The copy-on-write overlay: reads combine the delta and the base per 4 KiB block, writes go to the delta. */
#include "blk/cow.h"
#include "blk/blk.h"
#include "blk/delta.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

#define COW_SPB  (DELTA_BLOCK_SIZE / BLK_SECTOR_SIZE)    /* sectors per block */
#define COW_SUBS 4                                       /* base requests one clone request keeps in flight */

enum sub_state { SUB_IDLE, SUB_INFLIGHT, SUB_RETRY };
enum ctx_state { CTX_FREE, CTX_WAITING, CTX_RUNNING, CTX_DONE };

struct cow_ctx;
struct cow_sub {                   /* one request to the base, owned by a context */
    struct blk_req req;
    struct cow_ctx *ctx;
    int state;
};

/* A clone request in flight. Contexts are preallocated; the in-flight ones form a list in submission order. */
struct cow_ctx {
    struct cow *cow;
    struct blk_req *req;           /* the caller's */
    struct cow_ctx *prev, *next;   /* submission order (in flight) or free list (next) */
    int state, status, pump, phase;
    int deps;                      /* earlier contexts in the list this one must wait for */
    int busy;                      /* subs in flight or waiting for a retry */
    uint64_t b0, b1;               /* blocks touched (inclusive) */
    uint64_t cursor;               /* reads: next block to look at */
    uint8_t *bounce;               /* writes: the head and tail blocks read from the base */
    struct cow_sub sub[COW_SUBS];
};

struct cow {
    struct blk_dev dev;
    struct blk_dev *base;
    struct delta *delta;
    struct cow_ctx *ctxs, *free, *head, *tail;
    uint8_t *bounce;
    int running, again, closing, nretry;
    struct cow_stats st;
};

static const struct blk_ops cow_ops;

/* ---- block geometry ---- */

/* The sector after block b (the disk's end for a short last block). */
static uint64_t cow_blk_end(const struct cow *cow, uint64_t b)
{
    uint64_t first = b * COW_SPB;
    return cow->dev.sectors - first > COW_SPB ? first + COW_SPB : cow->dev.sectors;
}

/* The sectors [*s0, *s1) of block b the request covers. */
static void cow_span(const struct cow_ctx *c, uint64_t b, uint64_t *s0, uint64_t *s1)
{
    uint64_t first = b * COW_SPB, end = cow_blk_end(c->cow, b), rend = c->req->lba + c->req->nr;
    *s0 = c->req->lba > first ? c->req->lba : first;
    *s1 = rend < end ? rend : end;
}

/* Whether the request leaves part of block b uncovered. */
static int cow_partial(const struct cow_ctx *c, uint64_t b)
{
    uint64_t s0, s1;
    cow_span(c, b, &s0, &s1);
    return s0 != b * COW_SPB || s1 != cow_blk_end(c->cow, b);
}

/* Copy n bytes between buf and the request's scatter list from byte off (to_iov: buf -> iov). */
static void cow_iov_copy(struct blk_req *req, size_t off, uint8_t *buf, size_t n, int to_iov)
{
    for (int i = 0; i < req->niov && n; i++) {
        size_t len = req->iov[i].len;
        if (off >= len) {
            off -= len;
            continue;
        }
        size_t k = len - off < n ? len - off : n;
        if (to_iov)
            memcpy((uint8_t *)req->iov[i].base + off, buf, k);
        else
            memcpy(buf, (uint8_t *)req->iov[i].base + off, k);
        buf += k;
        n -= k;
        off = 0;
    }
}

/* Point out at bytes [off, off + n) of the request's scatter list. Returns the entries used. */
static int cow_iov_slice(const struct blk_req *req, size_t off, size_t n, struct blk_iov *out)
{
    int k = 0;
    for (int i = 0; i < req->niov && n; i++) {
        size_t len = req->iov[i].len;
        if (off >= len) {
            off -= len;
            continue;
        }
        size_t take = len - off < n ? len - off : n;
        out[k++] = (struct blk_iov){ (uint8_t *)req->iov[i].base + off, take };
        n -= take;
        off = 0;
    }
    return k;
}

/* ---- ordering ---- */

/* Whether later must wait for earlier: both touch a common block and one of them changes it; a flush
 * waits for every earlier write and discard. */
static int cow_conflicts(const struct cow_ctx *earlier, const struct cow_ctx *later)
{
    enum blk_op e = earlier->req->op, l = later->req->op;
    if (l == BLK_FLUSH)
        return e == BLK_WRITE || e == BLK_DISCARD;
    if (e == BLK_FLUSH || (e == BLK_READ && l == BLK_READ))
        return 0;
    return earlier->b0 <= later->b1 && later->b0 <= earlier->b1;
}

/* ---- base requests ---- */

static void cow_run(struct cow *cow);

static void cow_base_done(struct blk_req *req, int status)
{
    struct cow_sub *s = req->priv;
    struct cow_ctx *c = s->ctx;
    s->state = SUB_IDLE;
    c->busy--;
    if (status && !c->status)
        c->status = status;
    c->pump = 1;
    cow_run(c->cow);
}

/* Submit (or resubmit) a prepared sub; -EAGAIN from the base leaves it for a retry. Called in cow_run. */
static void cow_sub_issue(struct cow_sub *s)
{
    struct cow_ctx *c = s->ctx;
    struct cow *cow = c->cow;
    uint32_t nr = s->req.nr;
    if (s->state == SUB_RETRY)
        cow->nretry--;
    s->state = SUB_INFLIGHT;
    int rc = blk_submit(cow->base, &s->req);   /* may complete (and change s) before it returns */
    if (rc == 0) {
        cow->st.base_reads++;
        cow->st.base_bytes += (uint64_t)nr * BLK_SECTOR_SIZE;
    } else if (rc == -EAGAIN) {
        s->state = SUB_RETRY;
        cow->nretry++;
    } else {
        s->state = SUB_IDLE;
        c->busy--;
        if (!c->status)
            c->status = rc;
        c->pump = 1;
        cow->again = 1;
    }
}

/* Prepare a free sub to read sectors [s0, s1) of the base into iov[0..niov). Returns it or NULL. */
static struct cow_sub *cow_sub_prepare(struct cow_ctx *c, uint64_t s0, uint64_t s1)
{
    for (int i = 0; i < COW_SUBS; i++) {
        struct cow_sub *s = &c->sub[i];
        if (s->state != SUB_IDLE)
            continue;
        s->req.op = BLK_READ;
        s->req.lba = s0;
        s->req.nr = (uint32_t)(s1 - s0);
        s->req.niov = 0;
        c->busy++;
        return s;
    }
    return NULL;
}

/* ---- reads ---- */

/* Copy the delta blocks into the caller's buffers and read runs of other blocks from the base, straight
 * into the caller's buffers, a run per base request. Continues from c->cursor when a sub frees up. */
static void cow_read_pump(struct cow_ctx *c)
{
    struct cow *cow = c->cow;
    struct delta *d = cow->delta;
    while (!c->status && c->cursor <= c->b1) {
        uint64_t b = c->cursor, run = b, s0, s1, e0, e1;
        const uint8_t *data = d->ops->lookup(d, b);
        cow_span(c, b, &s0, &s1);
        if (data) {
            cow_iov_copy(c->req, (size_t)(s0 - c->req->lba) * BLK_SECTOR_SIZE,
                         (uint8_t *)data + (s0 - b * COW_SPB) * BLK_SECTOR_SIZE,
                         (size_t)(s1 - s0) * BLK_SECTOR_SIZE, 1);
            c->cursor++;
            continue;
        }
        while (run < c->b1 && !d->ops->lookup(d, run + 1))
            run++;
        cow_span(c, run, &e0, &e1);
        struct cow_sub *s = cow_sub_prepare(c, s0, e1);
        if (!s)
            break;                 /* all subs busy: resume from a completion */
        s->req.niov = cow_iov_slice(c->req, (size_t)(s0 - c->req->lba) * BLK_SECTOR_SIZE,
                                    (size_t)(e1 - s0) * BLK_SECTOR_SIZE, s->req.iov);
        c->cursor = run + 1;
        cow_sub_issue(s);
    }
    if (!c->busy && (c->status || c->cursor > c->b1))
        c->state = CTX_DONE;
}

/* ---- writes, discards, flushes ---- */

/* Store the write in the delta: whole-request quota check first, then block by block. */
static int cow_write_commit(struct cow_ctx *c)
{
    struct delta *d = c->cow->delta;
    if (d->quota_blocks) {
        uint64_t need = 0;
        for (uint64_t b = c->b0; b <= c->b1; b++)
            need += d->ops->lookup(d, b) == NULL;
        if (d->ops->count(d) + need > d->quota_blocks)
            return -ENOSPC;
    }
    for (uint64_t b = c->b0; b <= c->b1; b++) {
        uint64_t s0, s1;
        int fresh = d->ops->lookup(d, b) == NULL;
        uint8_t *w = d->ops->alloc(d, b);
        if (!w)
            return -ENOSPC;
        if (fresh && cow_partial(c, b))
            memcpy(w, c->bounce + (b == c->b0 ? 0 : DELTA_BLOCK_SIZE), DELTA_BLOCK_SIZE);
        cow_span(c, b, &s0, &s1);
        cow_iov_copy(c->req, (size_t)(s0 - c->req->lba) * BLK_SECTOR_SIZE,
                     w + (s0 - b * COW_SPB) * BLK_SECTOR_SIZE, (size_t)(s1 - s0) * BLK_SECTOR_SIZE, 0);
    }
    return 0;
}

/* Phase 0: read the partly written edge blocks that have no delta from the base (bounce 0 is the head
 * block, bounce 1 the tail). Phase 1: once they are in, merge and commit. */
static void cow_write_pump(struct cow_ctx *c)
{
    struct cow *cow = c->cow;
    if (c->phase == 0) {
        c->phase = 1;
        for (int i = 0; i < 2 && !c->status; i++) {
            uint64_t b = i ? c->b1 : c->b0;
            if ((i && c->b1 == c->b0) || !cow_partial(c, b) || cow->delta->ops->lookup(cow->delta, b))
                continue;
            struct cow_sub *s = cow_sub_prepare(c, b * COW_SPB, cow_blk_end(cow, b));
            /* zeroed first: a base that fills less than asked must not leave an earlier block's bytes */
            memset(c->bounce + i * DELTA_BLOCK_SIZE, 0, DELTA_BLOCK_SIZE);
            s->req.niov = 1;
            s->req.iov[0] = (struct blk_iov){ c->bounce + i * DELTA_BLOCK_SIZE,
                                              (size_t)s->req.nr * BLK_SECTOR_SIZE };
            cow->st.rmw++;
            cow_sub_issue(s);
        }
    }
    if (c->busy)
        return;
    if (!c->status && (c->status = cow_write_commit(c)) == -ENOSPC)
        cow->st.enospc++;
    c->state = CTX_DONE;
}

/* Drop the delta blocks the discard covers entirely; edge blocks it covers in part stay as they are. */
static void cow_discard(struct cow_ctx *c)
{
    struct delta *d = c->cow->delta;
    for (uint64_t b = d->ops->next(d, c->b0); b <= c->b1; b = d->ops->next(d, b + 1)) {
        if (!cow_partial(c, b))
            d->ops->drop(d, b);
    }
}

static void cow_pump(struct cow_ctx *c)
{
    struct delta *d = c->cow->delta;
    if (c->status && !c->busy) {                 /* cancelled before it started */
        c->state = CTX_DONE;
        return;
    }
    switch (c->req->op) {
    case BLK_READ:
        cow_read_pump(c);
        break;
    case BLK_WRITE:
        cow_write_pump(c);
        break;
    case BLK_DISCARD:
        cow_discard(c);
        c->state = CTX_DONE;
        break;
    default:                                     /* flush: earlier writes are done (it waited for them) */
        c->status = d->ops->flush ? d->ops->flush(d) : 0;
        c->state = CTX_DONE;
        break;
    }
}

/* ---- the scheduler ---- */

/* Take c off the in-flight list, release its waiters and complete the caller's request. */
static void cow_finish(struct cow *cow, struct cow_ctx *c)
{
    struct blk_req *req = c->req;
    int status = c->status;
    for (struct cow_ctx *l = c->next; l; l = l->next)
        if (cow_conflicts(c, l))
            l->deps--;
    if (c->prev)
        c->prev->next = c->next;
    else
        cow->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        cow->tail = c->prev;
    c->state = CTX_FREE;
    c->next = cow->free;
    cow->free = c;
    cow->again = 1;
    req->done(req, status);        /* may submit again (re-entering cow_run, which only notes it) */
}

static void cow_free(struct cow *cow)
{
    cow->delta->ops->destroy(cow->delta);
    kfree(cow->bounce);
    kfree(cow->ctxs);
    kfree(cow);
}

/* Every event (submit, base completion, close) comes here; one instance runs at a time and repeats while
 * events arrive during it, so nested completions never see a half-updated context. */
static void cow_run(struct cow *cow)
{
    if (cow->running) {
        cow->again = 1;
        return;
    }
    cow->running = 1;
    do {
        cow->again = 0;
        for (struct cow_ctx *c = cow->head; c && cow->nretry; c = c->next)
            for (int i = 0; i < COW_SUBS; i++)
                if (c->sub[i].state == SUB_RETRY)
                    cow_sub_issue(&c->sub[i]);
        for (struct cow_ctx *c = cow->head, *next; c; c = next) {
            next = c->next;
            if (c->state == CTX_WAITING && c->deps == 0) {
                c->state = CTX_RUNNING;
                c->pump = 1;
            }
            if (c->state == CTX_RUNNING && c->pump) {
                c->pump = 0;
                cow_pump(c);
            }
            if (c->state == CTX_DONE)
                cow_finish(cow, c);
        }
    } while (cow->again);
    cow->running = 0;
    if (cow->closing && !cow->head)
        cow_free(cow);
}

/* ---- the blk_dev ---- */

static int cow_check(const struct cow *cow, const struct blk_req *req)
{
    if (req->op == BLK_FLUSH)
        return 0;
    if (req->op != BLK_READ && req->op != BLK_WRITE && req->op != BLK_DISCARD)
        return -EINVAL;
    if (req->lba > cow->dev.sectors || req->nr > cow->dev.sectors - req->lba)
        return -EINVAL;
    if (req->op != BLK_DISCARD && (req->niov < 0 || req->niov > BLK_MAX_IOV ||
                                   blk_iov_bytes(req) != (size_t)req->nr * BLK_SECTOR_SIZE))
        return -EINVAL;
    return 0;
}

static void cow_count(struct cow *cow, enum blk_op op)
{
    if (op == BLK_READ)
        cow->st.reads++;
    else if (op == BLK_WRITE)
        cow->st.writes++;
    else if (op == BLK_DISCARD)
        cow->st.discards++;
    else
        cow->st.flushes++;
}

static int cow_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct cow *cow = dev->priv;
    struct cow_ctx *c;
    int rc = cow_check(cow, req);
    if (rc)
        return rc;
    if (cow->closing)
        return -ENODEV;
    if (req->op != BLK_FLUSH && req->nr == 0) {  /* touches no block: nothing to order */
        cow_count(cow, req->op);
        req->done(req, 0);
        return 0;
    }
    if (!(c = cow->free))
        return -EAGAIN;
    cow->free = c->next;
    cow_count(cow, req->op);
    *c = (struct cow_ctx){ .cow = cow, .req = req, .state = CTX_WAITING, .bounce = c->bounce, .prev = cow->tail };
    for (int i = 0; i < COW_SUBS; i++)
        c->sub[i] = (struct cow_sub){ .req = { .done = cow_base_done, .priv = &c->sub[i], .origin = cow },
                                      .ctx = c };
    if (req->op != BLK_FLUSH) {
        c->b0 = req->lba / COW_SPB;
        c->b1 = (req->lba + req->nr - 1) / COW_SPB;
        c->cursor = c->b0;
    }
    for (struct cow_ctx *e = cow->head; e; e = e->next)
        c->deps += cow_conflicts(e, c);
    if (cow->tail)
        cow->tail->next = c;
    else
        cow->head = c;
    cow->tail = c;
    cow_run(cow);
    return 0;
}

/* Cancel everything: waiting requests at once, running ones once their base reads are back. */
static void cow_close(struct blk_dev *dev)
{
    struct cow *cow = dev->priv;
    cow->closing = 1;
    for (struct cow_ctx *c = cow->head; c; c = c->next) {
        if (!c->status)
            c->status = -ECANCELED;
        if (c->state == CTX_WAITING)
            c->state = CTX_DONE;
        for (int i = 0; i < COW_SUBS; i++) {
            if (c->sub[i].state == SUB_RETRY) {
                c->sub[i].state = SUB_IDLE;
                c->busy--;
                cow->nretry--;
            }
        }
        c->pump = 1;
    }
    cow_run(cow);
}

static const struct blk_ops cow_ops = { .submit = cow_submit, .close = cow_close };

struct delta *cow_delta(struct blk_dev *dev)
{
    return dev && dev->ops == &cow_ops ? ((struct cow *)dev->priv)->delta : NULL;
}

int cow_get_stats(struct blk_dev *dev, struct cow_stats *st)
{
    struct cow *cow;
    if (!dev || !st || dev->ops != &cow_ops)
        return -EINVAL;
    cow = dev->priv;
    *st = cow->st;
    st->delta_blocks = cow->delta->ops->count(cow->delta);
    st->quota_blocks = cow->delta->quota_blocks;
    return 0;
}

int cow_inflight(struct blk_dev *dev)
{
    struct cow *cow;
    int n = 0;
    if (!dev || dev->ops != &cow_ops)
        return -EINVAL;
    cow = dev->priv;
    if (cow->nretry)
        cow_run(cow);
    for (struct cow_ctx *c = cow->head; c; c = c->next)
        n++;
    return n;
}

/* Delta blocks a clone of base may store for quota_bytes (0 for the store: no limit of its own). */
static uint64_t cow_quota_blocks(const struct blk_dev *base, uint64_t quota_bytes)
{
    uint64_t disk_blocks = (base->sectors + COW_SPB - 1) / COW_SPB, q;
    if (quota_bytes == COW_QUOTA_NONE)
        return 0;
    if (quota_bytes != COW_QUOTA_DEFAULT)
        return quota_bytes / DELTA_BLOCK_SIZE;
    q = disk_blocks / COW_QUOTA_DIVISOR;
    return q ? q : 1;
}

struct blk_dev *cow_create(struct blk_dev *base, uint64_t quota_bytes, const char *name, int *err)
{
    int dummy;
    struct cow *cow;
    err = err ? err : &dummy;
    *err = -EINVAL;
    if (!base || !base->ops || !base->ops->submit || base->sectors == 0 ||
        (quota_bytes != COW_QUOTA_DEFAULT && quota_bytes < DELTA_BLOCK_SIZE))
        return NULL;
    *err = -ENOMEM;
    if (!(cow = kzalloc(sizeof(*cow))))
        return NULL;
    cow->ctxs = kzalloc(COW_MAX_INFLIGHT * sizeof(struct cow_ctx));
    cow->bounce = kzalloc((size_t)COW_MAX_INFLIGHT * 2 * DELTA_BLOCK_SIZE);
    cow->delta = delta_ram_create(cow_quota_blocks(base, quota_bytes));
    if (!cow->ctxs || !cow->bounce || !cow->delta) {
        if (cow->delta)
            cow->delta->ops->destroy(cow->delta);
        kfree(cow->bounce);
        kfree(cow->ctxs);
        kfree(cow);
        return NULL;
    }
    for (int i = COW_MAX_INFLIGHT - 1; i >= 0; i--) {
        cow->ctxs[i].bounce = cow->bounce + (size_t)i * 2 * DELTA_BLOCK_SIZE;
        cow->ctxs[i].next = cow->free;
        cow->free = &cow->ctxs[i];
    }
    cow->base = base;
    cow->dev = (struct blk_dev){ .ops = &cow_ops, .sectors = base->sectors,
                                 .block_size = base->block_size ? base->block_size : BLK_SECTOR_SIZE,
                                 .read_only = 0, .priv = cow };
    kstrlcpy(cow->dev.name, name ? name : "cow", sizeof(cow->dev.name));
    *err = 0;
    return &cow->dev;
}

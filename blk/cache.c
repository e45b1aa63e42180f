/* The shared golden cache: a read-only blk_dev holding 64 KiB lines of its base, LRU, single-flight, read-ahead. */
#include "blk/cache.h"
#include "blk/blk.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

/*
 * How it runs. Every entry (submit, a base completion, close) brackets its work with cache_enter/leave;
 * only the outermost leave runs the queue (cache_drain), so a base completing inside its submit, or a
 * user's done() submitting again, only queues work. Users' done() is called from cache_drain or close
 * only. A request (struct creq) walks its range line by line: a valid line is copied; a line being
 * fetched is joined (the request waits on it); a missing line starts one base read for it and the
 * missing lines after it up to the request's end. A base read's completion copies its lines straight
 * into the waiting requests, so every fetch moves its waiters forward even when the cache is tiny and
 * the line is evicted again at once: requests larger than the cache finish, one fetch at a time. When no
 * line can be had (all are being fetched) or all fetch contexts are in flight, the request waits on the
 * starved list, which every base completion wakes in arrival order (oldest first: none starves for good).
 * Slots (creqs) are shared fairly: each client (blk_req.origin) holds at most CACHE_CLIENT_REQS; a read
 * that finds none parks in its client's queue (linked through layer_priv, so parking costs nothing), and
 * cache_drain hands freed slots to the parked clients in turn.
 */

#define LINE CACHE_LINE_BYTES

enum { LINE_FREE, LINE_FETCHING, LINE_VALID };
enum { CQ_FREE, CQ_RUN, CQ_WAIT, CQ_STARVED };

struct client {
    const void *origin;            /* blk_req.origin of its requests */
    int active;                    /* slots it holds */
    struct blk_req *park_head, *park_tail;   /* waiting for a slot, linked through layer_priv */
};

struct creq {
    struct blk_req *req;
    struct client *cl;
    uint64_t ra_from, ra_to;       /* read-ahead to start after its first step */
    uint64_t id;                   /* per submission: tells a request's own fetches from others' */
    uint64_t start, pos, len;      /* device byte offset of the request, bytes copied, bytes wanted */
    int status, state;
    struct creq *next;             /* run queue, starved list or a line's waiters */
};

struct line {
    uint64_t no;                   /* line number in the base */
    uint64_t owner;                /* id of the request whose miss fetched it; 0 for read-ahead */
    int state;
    int ra;                        /* fetched by read-ahead and not read yet */
    struct creq *waiters;
    struct line *hnext, *prev, *next;   /* hash chain; LRU list (next also links the free list) */
    uint8_t *data;
};

struct fetch {
    struct blk_req breq;
    struct cache *c;
    struct line *lines[CACHE_FETCH_LINES];
    int n, tries;
    struct fetch *next;            /* free list or retry list */
};

struct stream {
    uint64_t last, ra_end, used;   /* last line read, read-ahead issued below this line, LRU tick */
    uint32_t seq;                  /* lines advanced in order */
};

struct cache {
    struct blk_dev dev;
    struct blk_dev *base;
    uint64_t base_bytes, base_lines, nlines, nfree, next_id, tick;
    struct line *lines;
    struct line **hash;
    int hshift;
    struct line *lru_head, *lru_tail, *free_lines;
    struct creq creqs[CACHE_REQS];
    struct creq *free_creqs, *run_head, *run_tail, *starved, *starved_tail;
    struct client clients[CACHE_CLIENTS];
    int rr, parked;                /* next client to get a slot; reads parked in all */
    struct fetch *fetches, *free_fetches, *retry;
    int nfetch, depth, closing, inflight;
    struct stream streams[CACHE_STREAMS];
    struct cache_stats st;
};

static const struct blk_ops cache_ops;
static void fetch_done(struct blk_req *breq, int status);
static void cache_enter(struct cache *c);
static void cache_leave(struct cache *c);
static int cache_unpark(struct cache *c);
static void readahead(struct cache *c, uint64_t from, uint64_t to);

static uint64_t line_bytes(const struct cache *c, uint64_t no)
{
    uint64_t left = c->base_bytes - no * LINE;
    return left < LINE ? left : LINE;
}

static struct line **hash_slot(struct cache *c, uint64_t no)
{
    return &c->hash[(no * 0x9E3779B97F4A7C15ull) >> c->hshift];
}

static struct line *hash_find(struct cache *c, uint64_t no)
{
    for (struct line *l = *hash_slot(c, no); l; l = l->hnext)
        if (l->no == no)
            return l;
    return NULL;
}

static void hash_remove(struct cache *c, struct line *l)
{
    for (struct line **p = hash_slot(c, l->no); *p; p = &(*p)->hnext)
        if (*p == l) {
            *p = l->hnext;
            return;
        }
}

static void lru_unlink(struct cache *c, struct line *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        c->lru_head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    else
        c->lru_tail = l->prev;
    l->prev = l->next = NULL;
}

static void lru_push_head(struct cache *c, struct line *l)
{
    l->prev = NULL;
    l->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = l;
    else
        c->lru_tail = l;
    c->lru_head = l;
}

/* A line to fill: a free one, else the least recently used valid one. NULL when all are being fetched. */
static struct line *line_take(struct cache *c)
{
    struct line *l = c->free_lines;
    if (l) {
        c->free_lines = l->next;
        l->next = NULL;
        c->nfree--;
        return l;
    }
    if (!(l = c->lru_tail))
        return NULL;
    lru_unlink(c, l);
    hash_remove(c, l);
    c->st.evictions++;
    return l;
}

/* line_take, zeroed: a base read that fills less than asked must not show what the memory held before
 * (an earlier owner's bytes, or the evicted line's). */
static struct line *line_alloc(struct cache *c)
{
    struct line *l = line_take(c);
    if (l)
        memset(l->data, 0, LINE);
    return l;
}

/* A fetching line whose read failed: forget it (its data is not kept). */
static void line_release(struct cache *c, struct line *l)
{
    hash_remove(c, l);
    l->state = LINE_FREE;
    l->next = c->free_lines;
    c->free_lines = l;
    c->nfree++;
}

/* Copy n bytes from src into req's scatter list starting pos bytes into it. */
static void iov_copy(struct blk_req *req, uint64_t pos, const uint8_t *src, uint64_t n)
{
    for (int i = 0; i < req->niov && i < BLK_MAX_IOV && n; i++) {
        uint64_t len = req->iov[i].len, k;
        if (pos >= len) {
            pos -= len;
            continue;
        }
        k = len - pos < n ? len - pos : n;
        memcpy((uint8_t *)req->iov[i].base + pos, src, (size_t)k);
        src += k;
        n -= k;
        pos = 0;
    }
}

/* Give q the part of valid line l its next bytes lie in. */
static void creq_copy_line(struct cache *c, struct creq *q, struct line *l)
{
    uint64_t lstart = l->no * LINE, lend = lstart + line_bytes(c, l->no);
    uint64_t off = q->start + q->pos, end = q->start + q->len;
    if (off < lstart || off >= lend)
        return;
    if (end > lend)
        end = lend;
    iov_copy(q->req, q->pos, l->data + (off - lstart), end - off);
    q->pos += end - off;
    if (l->ra) {
        l->ra = 0;
        c->st.readahead_used++;
    }
}

/* Append q, in state, to the queue *head..*tail (the run queue or the starved list). */
static void creq_append(struct creq **head, struct creq **tail, struct creq *q, int state)
{
    q->state = state;
    q->next = NULL;
    if (*tail)
        (*tail)->next = q;
    else
        *head = q;
    *tail = q;
}

static void run_push(struct cache *c, struct creq *q)
{
    creq_append(&c->run_head, &c->run_tail, q, CQ_RUN);
}

static struct creq *run_pop(struct cache *c)
{
    struct creq *q = c->run_head;
    if (q && !(c->run_head = q->next))
        c->run_tail = NULL;
    return q;
}

static void creq_finish(struct cache *c, struct creq *q, int status)
{
    struct blk_req *req = q->req;
    q->cl->active--;
    q->state = CQ_FREE;
    q->req = NULL;
    q->next = c->free_creqs;
    c->free_creqs = q;
    req->layer_priv = NULL;
    req->done(req, status);
}

/*
 * One base read for the missing lines first.. before end (exclusive), stopping at a line already present,
 * the base's end, CACHE_FETCH_LINES or the last line that can be had. owner: the request that missed
 * (0: read-ahead). Returns the fetch, ready to send, or NULL when no line or no fetch context is free.
 */
static struct fetch *fetch_build(struct cache *c, uint64_t first, uint64_t end, uint64_t owner)
{
    struct fetch *f = c->free_fetches;
    uint64_t bytes = 0;
    if (!f || first >= c->base_lines)
        return NULL;
    if (end > c->base_lines)
        end = c->base_lines;
    if (end > first + CACHE_FETCH_LINES)
        end = first + CACHE_FETCH_LINES;
    f->n = 0;
    for (uint64_t no = first; no < end; no++) {
        struct line *l;
        if (hash_find(c, no) || !(l = line_alloc(c)))
            break;
        *l = (struct line){ .no = no, .owner = owner, .state = LINE_FETCHING, .ra = owner == 0, .data = l->data };
        l->hnext = *hash_slot(c, no);
        *hash_slot(c, no) = l;
        f->breq.iov[f->n] = (struct blk_iov){ l->data, (size_t)line_bytes(c, no) };
        bytes += line_bytes(c, no);
        f->lines[f->n++] = l;
    }
    if (!f->n)
        return NULL;
    c->free_fetches = f->next;
    f->breq.op = BLK_READ;
    f->breq.lba = first * (LINE / BLK_SECTOR_SIZE);
    f->breq.nr = (uint32_t)(bytes / BLK_SECTOR_SIZE);
    f->breq.niov = f->n;
    f->breq.done = fetch_done;
    f->breq.priv = f;
    f->tries = 0;
    return f;
}

/* A finished base read: lines become valid (and feed their waiters) or are dropped, failing their waiters. */
static void fetch_complete(struct cache *c, struct fetch *f, int status)
{
    for (int i = 0; i < f->n; i++) {
        struct line *l = f->lines[i];
        struct creq *w = l->waiters, *next;
        l->waiters = NULL;
        if (status == 0) {
            l->state = LINE_VALID;
            lru_push_head(c, l);
        } else {
            line_release(c, l);
        }
        for (; w; w = next) {
            next = w->next;
            if (status == 0)
                creq_copy_line(c, w, l);
            else
                w->status = status;
            run_push(c, w);
        }
    }
    if (status == 0)
        c->st.bytes_fetched += (uint64_t)f->breq.nr * BLK_SECTOR_SIZE;
    f->next = c->free_fetches;
    c->free_fetches = f;
    c->starved_tail = NULL;
    while (c->starved) {                       /* lines and a fetch context are free again */
        struct creq *q = c->starved;
        c->starved = q->next;
        run_push(c, q);
    }
}

/* Hand f to the base. Returns 0 (sent), -EAGAIN (queued for retry) or the base's refusal (f completed). */
static int fetch_send(struct cache *c, struct fetch *f)
{
    int rc;
    c->inflight++;
    c->st.base_reads++;
    rc = blk_submit(c->base, &f->breq);
    if (rc == 0)
        return 0;
    c->inflight--;
    c->st.base_reads--;
    if (rc == -EAGAIN) {
        f->next = c->retry;
        c->retry = f;
    } else {
        fetch_complete(c, f, rc);
    }
    return rc;
}

static void fetch_done(struct blk_req *breq, int status)
{
    struct fetch *f = breq->priv;
    struct cache *c = f->c;
    cache_enter(c);
    c->inflight--;
    if (status > 0)
        status = -EIO;
    if (c->closing) {
        /* nothing: the requests were cancelled; the memory goes when the last read is back */
    } else if (status == -EAGAIN && ++f->tries < CACHE_MAX_TRIES) {
        f->next = c->retry;                    /* the base asked us to come back later */
        c->retry = f;
    } else {
        fetch_complete(c, f, status == -EAGAIN ? -EIO : status);
    }
    cache_leave(c);
}

/* Send what waits for retry, stopping when the base is full again. Returns the reads sent. */
static int retry_flush(struct cache *c)
{
    int sent = 0;
    while (c->retry && !c->closing) {
        struct fetch *f = c->retry;
        c->retry = f->next;
        if (fetch_send(c, f) == -EAGAIN)
            break;
        sent++;
    }
    return sent;
}

/* Move q through its range as far as the cache allows; finish it when done or failed. */
static void creq_step(struct cache *c, struct creq *q)
{
    while (q->status == 0 && q->pos < q->len) {
        uint64_t no = (q->start + q->pos) / LINE, last = (q->start + q->len - 1) / LINE;
        struct line *l = hash_find(c, no);
        struct fetch *f;
        if (l && l->state == LINE_VALID) {
            if (l->owner != q->id)
                c->st.hits++;
            lru_unlink(c, l);
            lru_push_head(c, l);
            creq_copy_line(c, q, l);
            continue;
        }
        if (l) {                               /* single flight: wait for the read already going */
            if (l->owner != q->id)
                c->st.joins++;
            q->state = CQ_WAIT;
            q->next = l->waiters;
            l->waiters = q;
            return;
        }
        if (!(f = fetch_build(c, no, last + 1, q->id))) {
            creq_append(&c->starved, &c->starved_tail, q, CQ_STARVED);
            return;
        }
        c->st.misses += (uint64_t)f->n;
        q->state = CQ_WAIT;
        q->next = NULL;
        f->lines[0]->waiters = q;
        fetch_send(c, f);
        return;
    }
    creq_finish(c, q, q->status);
}

static void cache_free(struct cache *c)
{
    for (uint64_t i = 0; c->lines && i < c->nlines; i++)
        kfree(c->lines[i].data);
    kfree(c->lines);
    kfree(c->hash);
    kfree(c->fetches);
    kfree(c);
}

/* Run the queue: resend refused base reads, start parked reads on freed slots, step requests (each one's
 * demand read goes out before its read-ahead). */
static void cache_drain(struct cache *c)
{
    while (!c->closing) {
        int sent = retry_flush(c);
        struct creq *q;
        cache_unpark(c);
        if ((q = run_pop(c))) {
            uint64_t from = q->ra_from, to = q->ra_to;
            q->ra_from = q->ra_to = 0;
            creq_step(c, q);
            if (to > from)
                readahead(c, from, to);
        } else if (!sent || !c->retry) {
            break;
        }
    }
}

static void cache_enter(struct cache *c)
{
    c->depth++;
}

/* Leave an entry; the outermost one runs the queue, and frees a closed cache once the base is done with it. */
static void cache_leave(struct cache *c)
{
    if (c->depth == 1 && !c->closing)
        cache_drain(c);
    if (--c->depth == 0 && c->closing && c->inflight == 0)
        cache_free(c);
}

/*
 * Note a read of lines a..b against the tracked streams (one per sequential reader). A request that
 * continues a stream for the second line or more asks for read-ahead: *from..*to (empty when none).
 */
static void stream_note(struct cache *c, uint64_t a, uint64_t b, uint64_t *from, uint64_t *to)
{
    struct stream *s = NULL, *old = &c->streams[0];
    uint64_t win = c->nlines / 4 < CACHE_RA_LINES ? c->nlines / 4 : CACHE_RA_LINES;
    *from = *to = 0;
    c->tick++;
    for (int i = 0; i < CACHE_STREAMS && !s; i++) {
        struct stream *t = &c->streams[i];
        if (t->used && (a == t->last || a == t->last + 1))
            s = t;
        else if (t->used < old->used)
            old = t;
    }
    if (!s) {
        *old = (struct stream){ .last = b, .used = c->tick };
        return;
    }
    if (s->seq < 1000)
        s->seq += (uint32_t)(b - s->last);
    s->last = b;
    s->used = c->tick;
    if (s->seq < 2 || win == 0 || s->ra_end > b + 1 + win / 2)
        return;
    *from = s->ra_end > b + 1 ? s->ra_end : b + 1;
    *to = s->ra_end = b + 1 + win;
}

/* Start base reads for the missing lines of from..to, as far as lines and fetch contexts allow. */
static void readahead(struct cache *c, uint64_t from, uint64_t to)
{
    while (from < to && from < c->base_lines && !c->closing) {
        struct fetch *f;
        if (hash_find(c, from)) {
            from++;
            continue;
        }
        if (!(f = fetch_build(c, from, to, 0)))
            return;
        c->st.readahead += (uint64_t)f->n;
        from += (uint64_t)f->n;
        if (fetch_send(c, f) == -EAGAIN)
            return;
    }
}

/* The client entry of origin: its own, else a free one, else (more clients than entries) a shared one. */
static struct client *client_of(struct cache *c, const void *origin)
{
    struct client *free = NULL;
    for (int i = 0; i < CACHE_CLIENTS; i++) {
        struct client *cl = &c->clients[i];
        int idle = !cl->active && !cl->park_head;
        if (cl->origin == origin && !idle)
            return cl;
        if (idle && !free)
            free = cl;
    }
    if (free) {
        free->origin = origin;
        return free;
    }
    return &c->clients[(uintptr_t)origin / 64 % CACHE_CLIENTS];
}

/* Give req a slot and queue it to run. The caller checked that cl may take one. */
static void creq_start(struct cache *c, struct blk_req *req, struct client *cl)
{
    struct creq *q = c->free_creqs;
    c->free_creqs = q->next;
    *q = (struct creq){ .req = req, .cl = cl, .id = ++c->next_id, .start = req->lba * BLK_SECTOR_SIZE,
                        .len = (uint64_t)req->nr * BLK_SECTOR_SIZE };
    cl->active++;
    req->layer_priv = q;
    stream_note(c, q->start / LINE, (q->start + q->len - 1) / LINE, &q->ra_from, &q->ra_to);
    run_push(c, q);
}

static int client_may_start(const struct cache *c, const struct client *cl)
{
    return c->free_creqs && cl->active < CACHE_CLIENT_REQS;
}

static void client_park(struct cache *c, struct client *cl, struct blk_req *req)
{
    req->layer_priv = NULL;
    if (cl->park_tail)
        cl->park_tail->layer_priv = req;
    else
        cl->park_head = req;
    cl->park_tail = req;
    c->parked++;
}

static struct blk_req *client_unpark(struct cache *c, struct client *cl)
{
    struct blk_req *req = cl->park_head;
    if (!(cl->park_head = req->layer_priv))
        cl->park_tail = NULL;
    c->parked--;
    return req;
}

/* Hand free slots to parked reads, one per client in turn. Returns the reads started. */
static int cache_unpark(struct cache *c)
{
    int started = 0;
    for (int idle = 0; c->parked && c->free_creqs && idle < CACHE_CLIENTS; idle++) {
        struct client *cl = &c->clients[c->rr];
        c->rr = (c->rr + 1) % CACHE_CLIENTS;
        if (cl->park_head && client_may_start(c, cl)) {
            creq_start(c, client_unpark(c, cl), cl);
            started++;
            idle = -1;
        }
    }
    return started;
}

static int cache_check(const struct blk_dev *dev, const struct blk_req *req)
{
    if (req->op == BLK_WRITE || req->op == BLK_DISCARD)
        return -EROFS;
    if (req->op != BLK_READ || req->niov < 0 || req->niov > BLK_MAX_IOV)
        return -EINVAL;
    if (req->lba > dev->sectors || req->nr > dev->sectors - req->lba)
        return -EINVAL;
    if (blk_iov_bytes(req) != (size_t)req->nr * BLK_SECTOR_SIZE)
        return -EINVAL;
    return 0;
}

static int cache_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct cache *c = dev->priv;
    struct client *cl;
    int rc;
    if (!req || !req->done || c->closing)
        return c->closing ? -ENODEV : -EINVAL;
    if (req->op == BLK_FLUSH || (req->op == BLK_READ && req->nr == 0 && cache_check(dev, req) == 0)) {
        req->done(req, 0);                     /* read only: nothing to flush */
        return 0;
    }
    if ((rc = cache_check(dev, req)) < 0)
        return rc;
    cache_enter(c);
    cl = client_of(c, req->origin);
    if (!c->parked && client_may_start(c, cl))
        creq_start(c, req, cl);
    else
        client_park(c, cl, req);               /* others wait first, or no slot: its turn comes in cache_unpark */
    cache_leave(c);                            /* the outermost entry runs it */
    return 0;
}

static void cache_close(struct blk_dev *dev)
{
    struct cache *c = dev->priv;
    if (c->closing)
        return;
    cache_enter(c);
    c->closing = 1;
    for (int i = 0; i < CACHE_REQS; i++)
        if (c->creqs[i].state != CQ_FREE)
            creq_finish(c, &c->creqs[i], -ECANCELED);
    for (int i = 0; i < CACHE_CLIENTS; i++)
        while (c->clients[i].park_head) {
            struct blk_req *req = client_unpark(c, &c->clients[i]);
            req->layer_priv = NULL;
            req->done(req, -ECANCELED);
        }
    cache_leave(c);
}

static const struct blk_ops cache_ops = { .submit = cache_submit, .close = cache_close };

/* Lines, their buffers, the hash table and the fetch contexts, all sized now. */
static int cache_alloc(struct cache *c)
{
    int bits = 1;
    while ((1ull << bits) < 2 * c->nlines)
        bits++;
    c->hshift = 64 - bits;
    c->lines = kzalloc((size_t)(c->nlines * sizeof(*c->lines)));
    c->hash = kzalloc((size_t)((1ull << bits) * sizeof(*c->hash)));
    c->fetches = kzalloc((size_t)c->nfetch * sizeof(*c->fetches));
    if (!c->lines || !c->hash || !c->fetches)
        return -ENOMEM;
    for (uint64_t i = 0; i < c->nlines; i++) {
        if (!(c->lines[i].data = kmalloc(LINE)))
            return -ENOMEM;
        c->lines[i].next = c->free_lines;
        c->free_lines = &c->lines[i];
    }
    c->nfree = c->nlines;
    for (int i = 0; i < c->nfetch; i++) {
        c->fetches[i].c = c;
        c->fetches[i].next = c->free_fetches;
        c->free_fetches = &c->fetches[i];
    }
    return 0;
}

struct blk_dev *cache_create(struct blk_dev *base, uint64_t cache_bytes, const char *name, int *err)
{
    struct cache *c;
    int dummy, rc;
    err = err ? err : &dummy;
    *err = -EINVAL;
    if (!base || !base->ops || !base->sectors || base->sectors > UINT64_MAX / BLK_SECTOR_SIZE ||
        cache_bytes / LINE < CACHE_MIN_LINES)
        return NULL;
    *err = -ENOMEM;
    if (!(c = kzalloc(sizeof(*c))))
        return NULL;
    c->base = base;
    c->base_bytes = base->sectors * BLK_SECTOR_SIZE;
    c->base_lines = (c->base_bytes + LINE - 1) / LINE;
    c->nlines = cache_bytes / LINE < c->base_lines ? cache_bytes / LINE : c->base_lines;
    c->nfetch = c->nlines < CACHE_FETCHES_MAX ? (int)c->nlines : CACHE_FETCHES_MAX;
    if ((rc = cache_alloc(c)) < 0) {
        *err = rc;
        cache_free(c);
        return NULL;
    }
    for (int i = 0; i < CACHE_REQS; i++) {
        c->creqs[i].next = c->free_creqs;
        c->free_creqs = &c->creqs[i];
    }
    c->dev = (struct blk_dev){ .ops = &cache_ops, .sectors = base->sectors, .block_size = base->block_size,
                               .read_only = 1, .priv = c };
    kstrlcpy(c->dev.name, name ? name : "cache", sizeof(c->dev.name));
    *err = 0;
    return &c->dev;
}

int cache_get_stats(struct blk_dev *dev, struct cache_stats *st)
{
    struct cache *c;
    if (!dev || !st || dev->ops != &cache_ops)
        return -EINVAL;
    c = dev->priv;
    *st = c->st;
    st->lines = c->nlines;
    st->lines_used = c->nlines - c->nfree;
    st->bytes = c->nlines * LINE;
    return 0;
}

/* iscsi-read's timed mode: keep QD reads of one size in flight for SECS (sequential or random), print MB/s and IOPS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/iscsi/perf.h"
#include "kernel/time.h"

struct perf_run;

struct perf_slot {
    struct blk_req req;
    unsigned char *buf;
    struct perf_run *run;
};

struct perf_run {
    struct blk_dev *dev;
    const struct perf_opts *o;
    uint64_t nchunks, cursor, rng, end, reads;
    int inflight, err;
};

/* xorshift64* (Vigna): a small, seedable generator so random runs repeat exactly. */
static uint64_t perf_rand(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Next byte offset: the wrapping sequential cursor, or a uniformly random bs-aligned chunk. */
static uint64_t perf_next(struct perf_run *r)
{
    uint64_t chunk;
    if (r->o->random) {
        chunk = perf_rand(&r->rng) % r->nchunks;
    } else {
        chunk = r->cursor;
        r->cursor = chunk + 1 == r->nchunks ? 0 : chunk + 1;
    }
    return chunk * r->o->bs;
}

static void perf_done(struct blk_req *req, int status);

/* Issue the slot's next read; returns 0, or -1 after an error message. */
static int perf_submit(struct perf_slot *sl)
{
    struct perf_run *r = sl->run;
    uint32_t bs = r->o->bs;
    uint64_t off = perf_next(r);
    int rc;
    memset(&sl->req, 0, sizeof(sl->req));
    sl->req.op = BLK_READ;
    sl->req.lba = off / 512;
    sl->req.nr = bs / 512;
    sl->req.iov[0].base = sl->buf;
    sl->req.iov[0].len = bs;
    sl->req.niov = 1;
    sl->req.done = perf_done;
    sl->req.priv = sl;
    rc = blk_submit(r->dev, &sl->req);
    if (rc < 0) {
        fprintf(stderr, "iscsi-read: error: submit failed (%d)\n", rc);
        r->err = 1;
        return -1;
    }
    r->inflight++;
    return 0;
}

/* A read finished: count it and, until the time is up, put the next one in flight straight away (inside
 * the engine's receive call, so every command a batch of responses frees goes out in one send). */
static void perf_done(struct blk_req *req, int status)
{
    struct perf_slot *sl = req->priv;
    struct perf_run *r = sl->run;
    r->inflight--;
    if (status < 0) {
        fprintf(stderr, "iscsi-read: error: read at LBA %llu failed (%d)\n", (unsigned long long)req->lba, status);
        r->err = 1;
        return;
    }
    r->reads++;
    if (!r->err && time_ns() < r->end)
        perf_submit(sl);
}

int perf_run(struct posix_conn *pc, struct blk_dev *dev, const struct perf_opts *o)
{
    struct perf_run r = { .dev = dev, .o = o, .nchunks = dev->sectors * 512 / o->bs, .rng = o->seed ? o->seed : 1 };
    struct perf_slot *slots = calloc((size_t)o->qd, sizeof(*slots));
    uint64_t t0;
    if (!slots || !r.nchunks) {
        fprintf(stderr, "iscsi-read: error: %s\n", slots ? "LUN smaller than one request" : "out of memory");
        free(slots);
        return 1;
    }
    for (int i = 0; i < o->qd && !r.err; i++) {
        slots[i].run = &r;
        if (!(slots[i].buf = malloc(o->bs)))
            r.err = 1;
    }
    t0 = time_ns();
    r.end = t0 + (uint64_t)(o->secs * 1e9);
    for (int i = 0; i < o->qd && !r.err; i++)
        perf_submit(&slots[i]);
    while (r.inflight)
        posix_conn_step(pc, 10);
    double secs = (double)(time_ns() - t0) / 1e9;
    if (!r.err)
        printf("perf: %s bs=%u qd=%d %.2f s: %llu reads, %.0f IOPS, %.1f MB/s\n", o->random ? "random" : "sequential",
               o->bs, o->qd, secs, (unsigned long long)r.reads, (double)r.reads / secs,
               (double)r.reads * o->bs / secs / 1e6);
    for (int i = 0; i < o->qd; i++)
        free(slots[i].buf);
    free(slots);
    return r.err;
}

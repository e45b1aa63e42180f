/* `iscsi sha256 N [BYTES]`: hash a LUN through its blk_dev with many scattered reads in flight (test, bench). */
#include "net/iscsi_sessions.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/sha256.h"
#include "kernel/shell.h"
#include "kernel/time.h"

#define MS        1000000ull
#define SHA_QD    32               /* requests in flight */
#define SHA_CHUNK (64 * 1024)      /* bytes per request */
#define SHA_NIOV  4                /* each request scatters into this many pieces of the buffer */

struct sha_slot {
    struct blk_req req;
    int state;                     /* 0 free, 1 in flight, 2 done */
    int status;
};

struct sha_run {
    struct blk_dev *dev;
    uint8_t *buf;                  /* SHA_QD * SHA_CHUNK, slot i owns [i * SHA_CHUNK, +SHA_CHUNK) */
    struct sha_slot slot[SHA_QD];
    uint64_t total, nchunks, next_sub, next_hash;
    int inflight, err;
    uint64_t hash_ns;              /* time spent hashing (under TCG it bounds the rate as much as I/O) */
    struct sha256_ctx sha;
};

static void sha_done(struct blk_req *req, int status)
{
    struct sha_slot *sl = req->priv;
    sl->status = status;
    sl->state = 2;
}

/* Fill slot for chunk k and submit it; returns 0, -EAGAIN (queue full: retry later) or an error. */
static int sha_submit(struct sha_run *r, uint64_t k)
{
    struct sha_slot *sl = &r->slot[k % SHA_QD];
    uint8_t *base = r->buf + (k % SHA_QD) * SHA_CHUNK;
    uint64_t off = k * SHA_CHUNK, len = r->total - off < SHA_CHUNK ? r->total - off : SHA_CHUNK;
    size_t piece = (size_t)len / SHA_NIOV;
    int rc;
    memset(&sl->req, 0, sizeof(sl->req));
    sl->req.op = BLK_READ;
    sl->req.lba = off / BLK_SECTOR_SIZE;
    sl->req.nr = (uint32_t)(len / BLK_SECTOR_SIZE);
    /* Scatter into SHA_NIOV pieces (sector multiples) so the engine's iovec placement is exercised. */
    piece -= piece % BLK_SECTOR_SIZE;
    for (size_t done = 0; done < len; sl->req.niov++) {
        size_t n = sl->req.niov == SHA_NIOV - 1 || !piece ? (size_t)len - done : piece;
        sl->req.iov[sl->req.niov].base = base + done;
        sl->req.iov[sl->req.niov].len = n;
        done += n;
    }
    sl->req.done = sha_done;
    sl->req.priv = sl;
    sl->state = 1;
    rc = blk_submit(r->dev, &sl->req);
    if (rc < 0)
        sl->state = 0;
    else
        r->inflight++;
    return rc;
}

/* Hash finished chunks in order; stop at the first failure. */
static void sha_reap(struct sha_run *r)
{
    while (r->next_hash < r->next_sub && r->slot[r->next_hash % SHA_QD].state == 2) {
        struct sha_slot *sl = &r->slot[r->next_hash % SHA_QD];
        sl->state = 0;
        r->inflight--;
        if (sl->status < 0 && !r->err) {
            kprintf("error: iscsi sha256: read at byte %llu failed (%d)\n",
                    (unsigned long long)(r->next_hash * SHA_CHUNK), sl->status);
            r->err = sl->status;
        }
        if (!r->err) {
            uint64_t t = time_ns();
            sha256_update(&r->sha, r->buf + (r->next_hash % SHA_QD) * SHA_CHUNK, sl->req.nr * 512ull);
            r->hash_ns += time_ns() - t;
        }
        r->next_hash++;
    }
}

/* Submit and reap until everything is hashed, a read fails or Ctrl-C; then drain what is in flight. */
static void sha_loop(struct sha_run *r)
{
    uint64_t drain_end = 0;
    while (r->next_hash < r->nchunks || r->inflight) {
        while (!r->err && r->next_sub < r->nchunks && r->next_sub - r->next_hash < SHA_QD) {
            int rc = sha_submit(r, r->next_sub);
            if (rc == -EAGAIN)
                break;
            if (rc < 0) {
                kprintf("error: iscsi sha256: submit failed (%d)\n", rc);
                r->err = rc;
                break;
            }
            r->next_sub++;
        }
        iscsi_wait_turn();
        sha_reap(r);
        if (!r->err && console_getc() == 3)
            r->err = -ECANCELED;
        if (r->err && !drain_end)
            drain_end = time_ns() + 60000 * MS;
        if (r->err && (!r->inflight || time_ns() > drain_end))
            break;
        if (r->err)
            r->nchunks = r->next_sub;   /* submit nothing more; keep reaping what is in flight */
    }
}

int iscsi_sha256_cmd(int argc, char **argv)
{
    static struct sha_run r;
    uint64_t idx, bytes = 0, t0, us, rate;
    uint8_t dig[32];
    if (kstrtou64(argv[2], &idx, 0) < 0 || (argc == 4 && kstrtou64(argv[3], &bytes, 1) < 0))
        return shell_usage("iscsi");
    memset(&r, 0, sizeof(r));
    r.dev = iscsi_find_lun((int)(idx < ISCSI_MAX_SESSIONS ? idx : ISCSI_MAX_SESSIONS));
    if (!r.dev) {
        kprintf("error: iscsi sha256: no ready session %llu\n", (unsigned long long)idx);
        return -ENODEV;
    }
    r.total = r.dev->sectors * BLK_SECTOR_SIZE;
    if (argc == 4 && (bytes > r.total || bytes % r.dev->block_size)) {
        kprintf("error: iscsi sha256: BYTES must be a multiple of %u up to %llu\n", r.dev->block_size,
                (unsigned long long)r.total);
        return -EINVAL;
    }
    if (argc == 4)
        r.total = bytes;
    r.nchunks = (r.total + SHA_CHUNK - 1) / SHA_CHUNK;
    r.buf = kmalloc(SHA_QD * SHA_CHUNK);
    if (!r.buf)
        return -ENOMEM;
    sha256_init(&r.sha);
    t0 = time_ns();
    sha_loop(&r);
    us = (time_ns() - t0) / 1000 + 1;
    if (r.inflight) {              /* requests still own the buffer: never free it under them */
        kprintf("error: iscsi sha256: %d reads never completed; buffer leaked\n", r.inflight);
        return r.err ? r.err : -ETIMEDOUT;
    }
    kfree(r.buf);
    if (r.err)
        return r.err;
    sha256_final(&r.sha, dig);
    rate = r.total * 100 / us;     /* bytes per microsecond = MB/s, times 100 */
    kprintf("sha256 ");
    for (int i = 0; i < 32; i++)
        kprintf("%02x", dig[i]);
    kprintf(" bytes %llu time %llu rate %llu.%02llu MB/s (hashing %llu ms)\n", (unsigned long long)r.total,
            (unsigned long long)(us / 1000), (unsigned long long)(rate / 100), (unsigned long long)(rate % 100),
            (unsigned long long)(r.hash_ns / MS));
    return 0;
}

/* Synchronous byte-range I/O over an asynchronous blk_dev: one bounce buffer, one request at a time. */
#include "blk/sync.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define SYNC_CHUNK (64u * 1024u)

struct sync_req {
    struct blk_req req;
    volatile int done;
    int status;
};

static void sync_done(struct blk_req *req, int status)
{
    struct sync_req *s = req->priv;
    s->status = status;
    s->done = 1;
}

/* One request of nr sectors at lba through bounce; waits for it. */
static int sync_one(struct blk_dev *d, enum blk_op op, uint64_t lba, uint32_t nr, void *bounce, blk_wait_fn wait)
{
    struct sync_req s;
    int rc;
    for (;;) {
        memset(&s, 0, sizeof(s));
        s.req = (struct blk_req){ .op = op, .lba = lba, .nr = nr, .niov = 1, .done = sync_done, .priv = &s };
        s.req.iov[0] = (struct blk_iov){ bounce, (size_t)nr * BLK_SECTOR_SIZE };
        rc = blk_submit(d, &s.req);
        if (rc != -EAGAIN)
            break;
        wait();
    }
    if (rc)
        return rc;
    while (!s.done)
        wait();
    return s.status;
}

int blk_rw_sync(struct blk_dev *d, enum blk_op op, uint64_t off, void *buf, uint64_t len, blk_wait_fn wait)
{
    uint8_t *bounce, *p = buf;
    uint64_t size = d->sectors * BLK_SECTOR_SIZE;
    int err = 0;

    if ((op != BLK_READ && op != BLK_WRITE) || off > size || len > size - off)
        return -EINVAL;
    if (op == BLK_WRITE && ((off | len) & (BLK_SECTOR_SIZE - 1)))
        return -EINVAL;
    if (!(bounce = kmalloc(SYNC_CHUNK)))
        return -ENOMEM;
    while (len && !err) {
        uint64_t lba = off / BLK_SECTOR_SIZE, skip = off % BLK_SECTOR_SIZE;
        uint64_t n = len < SYNC_CHUNK - skip ? len : SYNC_CHUNK - skip;
        uint32_t nr = (uint32_t)((skip + n + BLK_SECTOR_SIZE - 1) / BLK_SECTOR_SIZE);
        if (op == BLK_WRITE)
            memcpy(bounce, p, n);
        else                                   /* a short read must show zeros, not the bounce's old bytes */
            memset(bounce, 0, (size_t)nr * BLK_SECTOR_SIZE);
        err = sync_one(d, op, lba, nr, bounce, wait);
        if (!err && op == BLK_READ)
            memcpy(p, bounce + skip, n);
        p += n;
        off += n;
        len -= n;
    }
    kfree(bounce);
    return err;
}

/* The asynchronous block interface: devices take requests and complete them through a callback. */
#ifndef SHOAL_BLK_H
#define SHOAL_BLK_H
#include <stdint.h>
#include <stddef.h>

#define BLK_SECTOR_SIZE 512
#define BLK_MAX_IOV     16

enum blk_op { BLK_READ = 0, BLK_WRITE = 1, BLK_FLUSH = 2, BLK_DISCARD = 3 };

struct blk_iov {
    void *base;
    size_t len;
};

struct blk_req;
typedef void (*blk_done_fn)(struct blk_req *req, int status);   /* status: 0 or negative errno */

/* One request: a range of 512-byte sectors and a scatter list whose lengths add up to nr * 512. */
struct blk_req {
    enum blk_op op;
    uint64_t lba;                  /* first sector */
    uint32_t nr;                   /* sectors */
    struct blk_iov iov[BLK_MAX_IOV];
    int niov;
    blk_done_fn done;              /* called exactly once, possibly before submit returns */
    void *priv;                    /* the submitter's */
    const void *origin;            /* whom it is for (a clone), so a shared layer can share fairly; NULL: anyone */
    void *layer_priv;              /* the device's, while it owns the request */
};

struct blk_dev;
struct blk_ops {
    /* Queue req. Returns 0 when accepted (done() will be called), or a negative errno when refused
     * outright (done() is then not called): -EINVAL for a range past the end or a bad scatter list,
     * -EROFS for a write to a read-only device, -EAGAIN when the device's queue is full (retry after
     * a completion). */
    int (*submit)(struct blk_dev *dev, struct blk_req *req);
    /* Release the device; outstanding requests complete with -ECANCELED first. */
    void (*close)(struct blk_dev *dev);
};

struct blk_dev {
    const struct blk_ops *ops;
    uint64_t sectors;              /* size in 512-byte sectors */
    uint32_t block_size;           /* the device's native block size in bytes (512 or 4096) */
    int read_only;
    char name[32];
    void *priv;
};

/* Submit through dev->ops after checking the range, op and scatter list (the checks every layer relies on). */
int blk_submit(struct blk_dev *dev, struct blk_req *req);
/* Bytes the scatter list of req describes. */
size_t blk_iov_bytes(const struct blk_req *req);
#endif

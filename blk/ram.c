/* A RAM disk: a struct blk_dev over memory (a private copy, or a read-only image in place). */
#include "blk/ram.h"
#include "blk/blk.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

struct ramdisk {
    struct blk_dev dev;
    uint8_t *data;
    int owned;                     /* data is our copy */
};

static int ram_submit(struct blk_dev *dev, struct blk_req *req)
{
    struct ramdisk *rd = dev->priv;
    uint64_t off = req->lba * BLK_SECTOR_SIZE;
    /* blk_submit checked the range and the scatter list; check again: this layer may be called directly. */
    if (req->op != BLK_FLUSH && (req->lba > dev->sectors || req->nr > dev->sectors - req->lba))
        return -EINVAL;
    if ((req->op == BLK_WRITE || req->op == BLK_DISCARD) && dev->read_only)
        return -EROFS;
    switch (req->op) {
    case BLK_READ:
    case BLK_WRITE:
        for (int i = 0; i < req->niov && i < BLK_MAX_IOV; i++) {
            size_t n = req->iov[i].len;
            if (off + n > dev->sectors * BLK_SECTOR_SIZE)
                return -EINVAL;
            if (req->op == BLK_READ)
                memcpy(req->iov[i].base, rd->data + off, n);
            else
                memcpy(rd->data + off, req->iov[i].base, n);
            off += n;
        }
        break;
    case BLK_DISCARD:
        memset(rd->data + off, 0, (size_t)req->nr * BLK_SECTOR_SIZE);
        break;
    case BLK_FLUSH:
        break;
    default:
        return -EINVAL;
    }
    req->done(req, 0);
    return 0;
}

static void ram_close(struct blk_dev *dev)
{
    struct ramdisk *rd = dev->priv;
    if (rd->owned)
        kfree(rd->data);
    kfree(rd);
}

static const struct blk_ops ram_ops = { .submit = ram_submit, .close = ram_close };

struct blk_dev *ramdisk_create(const void *image, uint64_t bytes, int read_only)
{
    uint64_t sectors = bytes / BLK_SECTOR_SIZE;
    struct ramdisk *rd;
    if (sectors == 0 || (read_only && !image))
        return NULL;
    if (!(rd = kzalloc(sizeof(*rd))))
        return NULL;
    if (read_only) {
        rd->data = (uint8_t *)(uintptr_t)image;
    } else {
        rd->owned = 1;
        rd->data = kmalloc((size_t)(sectors * BLK_SECTOR_SIZE));
        if (!rd->data) {
            kfree(rd);
            return NULL;
        }
        if (image)
            memcpy(rd->data, image, (size_t)(sectors * BLK_SECTOR_SIZE));
        else
            memset(rd->data, 0, (size_t)(sectors * BLK_SECTOR_SIZE));
    }
    rd->dev = (struct blk_dev){ .ops = &ram_ops, .sectors = sectors, .block_size = BLK_SECTOR_SIZE,
                                .read_only = read_only, .priv = rd };
    kstrlcpy(rd->dev.name, "ramdisk", sizeof(rd->dev.name));
    return &rd->dev;
}

void ramdisk_destroy(struct blk_dev *dev)
{
    if (dev)
        dev->ops->close(dev);
}

const uint8_t *ramdisk_image(struct blk_dev *dev)
{
    return dev && dev->ops == &ram_ops && dev->read_only ? ((struct ramdisk *)dev->priv)->data : NULL;
}

/* The asynchronous block interface: the request checks shared by every layer. */
#include "blk/blk.h"
#include "kernel/errno.h"

size_t blk_iov_bytes(const struct blk_req *req)
{
    size_t n = 0;
    for (int i = 0; i < req->niov && i < BLK_MAX_IOV; i++)
        n += req->iov[i].len;
    return n;
}

int blk_submit(struct blk_dev *dev, struct blk_req *req)
{
    if (!dev || !req || !req->done)
        return -EINVAL;
    if (req->op > BLK_DISCARD)
        return -EINVAL;
    if (req->op == BLK_FLUSH)
        return dev->ops->submit(dev, req);
    if (req->niov < 0 || req->niov > BLK_MAX_IOV)
        return -EINVAL;
    if (req->lba > dev->sectors || req->nr > dev->sectors - req->lba)
        return -EINVAL;
    if ((req->op == BLK_WRITE || req->op == BLK_DISCARD) && dev->read_only)
        return -EROFS;
    if (req->op != BLK_DISCARD && blk_iov_bytes(req) != (size_t)req->nr * BLK_SECTOR_SIZE)
        return -EINVAL;
    return dev->ops->submit(dev, req);
}

/* Synchronous byte-range I/O over an asynchronous blk_dev, for loaders and shell commands that may wait. */
#ifndef SHOAL_BLK_SYNC_H
#define SHOAL_BLK_SYNC_H
#include <stdint.h>
#include "blk/blk.h"

/* Called while a request is outstanding: must make progress on whatever completes it (e.g. poll the network). */
typedef void (*blk_wait_fn)(void);

/*
 * Read len bytes at byte offset off of d into buf (any alignment), or write them (BLK_WRITE: off and len must
 * be multiples of 512). Issues requests of up to 64 KiB through a bounce buffer and calls wait() until each
 * completes (retrying -EAGAIN refusals after a wait). Returns 0, -EINVAL (range past the end, unaligned
 * write), -ENOMEM, or the first request's error (-EIO, -ENOSPC, ...).
 */
int blk_rw_sync(struct blk_dev *d, enum blk_op op, uint64_t off, void *buf, uint64_t len, blk_wait_fn wait);
#endif

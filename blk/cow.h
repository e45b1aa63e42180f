/* The copy-on-write overlay: a writable clone (struct blk_dev) over a read-only base, delta in 4 KiB blocks. */
#ifndef SHOAL_BLK_COW_H
#define SHOAL_BLK_COW_H
#include <stdint.h>

struct blk_dev;

/*
 * Semantics (all requests are asynchronous; done() may run before submit returns):
 * - Ordering: requests that touch a common 4 KiB block take effect in submission order (a read
 *   submitted after a write to the block sees it; a write waits for an earlier read or read-modify-write
 *   of the block). Requests on disjoint blocks run in parallel; two reads never wait for each other.
 * - A write that covers part of a block with no delta reads the base block first, merges, and stores
 *   the whole block. The quota (and the delta's memory) is checked for the whole request before any
 *   block changes: a write needing more new blocks than the quota fails with -ENOSPC and changes nothing.
 *   Should kmalloc fail in the middle of a multi-block write, the blocks before the failing one are
 *   written and the rest unchanged (each block is all old or all new), and the request fails -ENOSPC.
 * - A read copies the blocks stored in the delta from RAM and turns each run of other blocks into one
 *   base request for exactly the sectors asked for, read straight into the caller's buffers (up to 4
 *   such base requests in flight per clone request). The base must accept any sector range.
 * - A failed base read fails the request with the base's status (-EIO); the delta does not change.
 * - Discard drops the delta blocks the range covers entirely (they show the base again and free
 *   quota); the partly covered blocks at its edges are left as they are.
 * - Flush completes once every write and discard submitted before it has completed.
 * - At most COW_MAX_INFLIGHT requests at once; submit returns -EAGAIN beyond (retry after a completion).
 *   A base request refused with -EAGAIN is retried on the clone's next base completion, submit or
 *   cow_inflight call.
 * - Close: requests waiting for their turn complete with -ECANCELED at once; requests with base reads
 *   in flight complete with -ECANCELED when the base returns those reads (their buffers are the base's
 *   until then), and the clone's memory is freed after the last one. The base must outlive that.
 */
#define COW_MAX_INFLIGHT 64

struct cow_stats {
    uint64_t delta_blocks, quota_blocks, reads, writes, discards, flushes, base_reads,
             base_bytes, rmw, enospc;
};

#define COW_QUOTA_DEFAULT 0                  /* a quarter of the base's size (COW_QUOTA_DIVISOR) */
#define COW_QUOTA_NONE    UINT64_MAX         /* no limit of its own: only the host's delta budget */
#define COW_QUOTA_DIVISOR 4

/* Create a clone over base (which must stay open longer than the clone). quota_bytes: COW_QUOTA_DEFAULT,
 * COW_QUOTA_NONE, or bytes rounded down to whole 4 KiB blocks (less than one block is -EINVAL). Costs the same time and
 * memory whatever the base's size (about 600 KiB: contexts and their bounce blocks). Returns the
 * clone's blk_dev (same size and block_size as base, writable), or NULL with *err (-ENOMEM, -EINVAL).
 * The base is never written. Not reentrant across CPUs: one I/O context drives a clone and its base. */
struct blk_dev *cow_create(struct blk_dev *base, uint64_t quota_bytes, const char *name, int *err);
/* Counters of a clone made by cow_create (NULL dev or not a cow: -EINVAL). Returns 0. */
int cow_get_stats(struct blk_dev *dev, struct cow_stats *st);
/* Requests of the clone in flight (accepted, done() not yet called), or -EINVAL when dev is not a clone.
 * Also resubmits base reads the base refused with -EAGAIN, so a caller polling it (with the base's I/O
 * polled in between) always makes progress. Not to be called after close. */
int cow_inflight(struct blk_dev *dev);
/* The delta store of a clone made by cow_create (migration reads and fills it while the clone is idle),
 * or NULL when dev is not a clone. */
struct delta *cow_delta(struct blk_dev *dev);
/* Close: dev->ops->close(dev) frees everything (see above for requests still in flight). */
#endif

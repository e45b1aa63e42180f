/* The delta store of a copy-on-write clone: whole 4 KiB blocks keyed by block number (RAM now, persistent later). */
#ifndef SHOAL_BLK_DELTA_H
#define SHOAL_BLK_DELTA_H
#include <stdint.h>

#define DELTA_BLOCK_SIZE  4096u
#define DELTA_BLOCK_SHIFT 12

struct delta;

struct delta_ops {
    /* The stored block blk, or NULL when the block has no delta (the base shows through). */
    const uint8_t *(*lookup)(struct delta *d, uint64_t blk);
    /* The writable block blk: the stored one, or a new one of zeros (never memory's earlier contents).
     * NULL when a new block would pass the quota or the host budget, or memory is exhausted; nothing
     * then changes. */
    uint8_t *(*alloc)(struct delta *d, uint64_t blk);
    /* Forget block blk (the base shows through again) and free its memory; absent blocks are ignored. */
    void (*drop)(struct delta *d, uint64_t blk);
    /* The first stored block numbered from or above, or UINT64_MAX when there is none (walks a range
     * such as a discard of the whole disk in time proportional to the blocks stored, not to the range). */
    uint64_t (*next)(struct delta *d, uint64_t from);
    /* Blocks stored. */
    uint64_t (*count)(struct delta *d);
    /* Make every block written so far durable. Returns 0 or a negative errno. NULL: nothing to do (RAM). */
    int (*flush)(struct delta *d);
    /* Free every block and the store itself. */
    void (*destroy)(struct delta *d);
};

/* The head every store starts with. quota_blocks 0 means unlimited; alloc enforces it. */
struct delta {
    const struct delta_ops *ops;
    uint64_t quota_blocks;
};

/*
 * A RAM store: kmalloc'd 4 KiB blocks in a radix tree grown on demand, so creation costs the same
 * whatever the disk size. quota_blocks 0: unlimited. Returns the store, or NULL when out of memory.
 */
struct delta *delta_ram_create(uint64_t quota_blocks);

/*
 * The host's budget for RAM delta blocks, shared by every RAM store: alloc refuses a new block (NULL, so
 * the clone's write fails -ENOSPC) when budget_blocks are in use (0: no count limit) or when mem_low
 * (NULL: none) says the host is short of free memory. Stored blocks stay readable and writable.
 */
void delta_ram_budget(uint64_t budget_blocks, int (*mem_low)(void));
/* RAM delta blocks stored by all stores now. */
uint64_t delta_ram_used(void);
#endif

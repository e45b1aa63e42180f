/* A migration destination's index of the contents it holds: SHA-256 -> where a page or block with it lives. */
#ifndef SHOAL_VMM_MIG_PAGEIDX_H
#define SHOAL_VMM_MIG_PAGEIDX_H
#include <stdint.h>

/*
 * An open-addressing table keyed by the whole hash. A location is an opaque nonzero number (the caller
 * packs kind and index into it). Entries are hints: what a location held may have changed since, so the
 * caller re-hashes what it copies. Probing is bounded (MIG_IDX_PROBES), so a peer that feeds contents
 * whose hashes crowd one slot costs lookups a fixed time and only loses the deduplication.
 */
#define MIG_IDX_PROBES 32

struct mig_idx_slot {
    uint8_t hash[32];
    uint64_t loc;                          /* 0: empty */
};

struct mig_idx {
    struct mig_idx_slot *slot;
    uint64_t mask;                         /* capacity - 1 */
    uint64_t used, dropped;                /* entries; puts that found no slot */
};

/* An empty index for about n entries (capacity a power of two >= 2n). 0 or -ENOMEM. */
int mig_idx_init(struct mig_idx *x, uint64_t n);
/* Record loc (nonzero) for hash, replacing what the hash had. Full probe window: counted in dropped. */
void mig_idx_put(struct mig_idx *x, const uint8_t hash[32], uint64_t loc);
/* The location recorded for hash, or 0. */
uint64_t mig_idx_get(const struct mig_idx *x, const uint8_t hash[32]);
void mig_idx_free(struct mig_idx *x);
#endif

/* Per-image index of 4 KiB block hashes: built once per image and kept; how many blocks two images share. */
#ifndef SHOAL_POOL_BLOCKIDX_H
#define SHOAL_POOL_BLOCKIDX_H
#include <stdint.h>
#include <stddef.h>

#define BLOCKIDX_BS   4096
#define BLOCKIDX_HASH 32                 /* SHA-256, whole: nobody forges a block by collision (DESIGN) */

struct blockidx {
    uint64_t n;                          /* whole 4 KiB blocks */
    uint64_t zero;                       /* all-zero blocks among them (kept out of the sorted list) */
    uint8_t (*hash)[BLOCKIDX_HASH];      /* per block, in block order */
    uint32_t *order;                     /* the non-zero blocks' numbers, sorted by hash */
    uint64_t nz;                         /* entries in order */
};

/* What two indexes share; "found" counts blocks (duplicates within an image count each time), "distinct"
 * counts different contents. Zero blocks are counted apart and never as shared. */
struct blockidx_share {
    uint64_t a_blocks, a_zero, a_found, a_distinct;
    uint64_t b_blocks, b_zero, b_found, b_distinct;
    uint64_t both_distinct;              /* contents present in both */
};

/* An empty index for n blocks (hash[] to be filled, then blockidx_finish). NULL when out of memory. */
struct blockidx *blockidx_alloc(uint64_t n);
void blockidx_free(struct blockidx *x);
/* Hash block i's bytes into the index; an all-zero block is counted as zero. */
void blockidx_add(struct blockidx *x, uint64_t i, const uint8_t block[BLOCKIDX_BS]);
/* Sort the non-zero blocks by hash (after every block was added). */
void blockidx_finish(struct blockidx *x);
/* Compare two finished indexes. */
void blockidx_share(const struct blockidx *a, const struct blockidx *b, struct blockidx_share *s);
/* The block of x whose content hashes to h (its SHA-256), or -1. */
int64_t blockidx_find(const struct blockidx *x, const uint8_t h[BLOCKIDX_HASH]);
#endif

/* A migration destination's page side (vmm/mig/dstpages.c) on the host: fake guests, a RAM delta, frames built. */
#ifndef SHOAL_TESTS_MIG_DST_SHIM_H
#define SHOAL_TESTS_MIG_DST_SHIM_H
#include "vmm/mig/dst.h"

#define SHIM_OTHER_SLOT 2                      /* the slot of the other guest of this "host" */

/*
 * A destination session filling a new VM of npages pages (slot 1), with a RAM delta of disk_blocks blocks
 * when disk_blocks > 0, and another guest of other_pages pages in SHIM_OTHER_SLOT (0: none) whose RAM the
 * session may index (mig_dst_scan). Every guest page starts as zeros.
 */
struct mig_dst *shim_dst_new(uint64_t npages, uint64_t disk_blocks, uint64_t other_pages);
void shim_dst_free(struct mig_dst *d);
/* The bytes of a VM slot's page (writable: a test plays that guest), or NULL outside its RAM. */
uint8_t *shim_page(int slot, uint64_t pfn);
/* The last frame the session queued (a WANT): its type, payload and length; type 0 when none since clear. */
uint32_t shim_sent(struct mig_dst *d, const uint8_t **payload, uint32_t *len);
void shim_sent_clear(struct mig_dst *d);
/* A HASHES payload into buf (room for MIG_MAX_PAYLOAD): kind, n entries. Returns its length. */
uint32_t shim_hashes(uint8_t *buf, uint32_t kind, uint32_t n, const struct mig_entry *e);
/* A DATA payload into buf: kind, index, one page. Returns its length. */
uint32_t shim_data(uint8_t *buf, uint32_t kind, uint64_t index, const uint8_t *page);
#endif

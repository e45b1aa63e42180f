/* Host paging: the identity map of all RAM (2 MiB or 1 GiB pages) set up at boot. */
#ifndef SHOAL_ARCH_PAGING_H
#define SHOAL_ARCH_PAGING_H
#include <stdint.h>

/*
 * Extend the boot identity map (first 4 GiB) up to top (exclusive), using 1 GiB pages when the CPU
 * has them and 2 MiB pages otherwise. Returns 0, or -ENOMEM when a page table could not be allocated.
 */
int paging_map_identity(uint64_t top);
/* The first address not identity-mapped. */
uint64_t paging_mapped_top(void);
#endif

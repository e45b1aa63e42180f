/* Host paging: the identity map of all RAM (2 MiB or 1 GiB pages) set up at boot. */
#ifndef SHOAL_ARCH_PAGING_H
#define SHOAL_ARCH_PAGING_H
#include <stdint.h>

/* Page-table entry bits of 4-level paging (SDM 3A 4.5): host tables, NPT (the same format) and guest walks. */
#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_PS  (1ull << 7)
#define PTE_NX  (1ull << 63)

/*
 * Extend the boot identity map (first 4 GiB) up to top (exclusive), using 1 GiB pages when the CPU
 * has them and 2 MiB pages otherwise. Returns 0, or -ENOMEM when a page table could not be allocated.
 */
int paging_map_identity(uint64_t top);
/* The first address not identity-mapped. */
uint64_t paging_mapped_top(void);
#endif

/* Physical page allocator: a bitmap over all RAM, 4 KiB pages, contiguous aligned runs. */
#ifndef SHOAL_PMM_H
#define SHOAL_PMM_H
#include <stdint.h>
#include <stddef.h>
#include "kernel/bootinfo.h"

#define PAGE_SIZE  4096ull
#define PAGE_SHIFT 12

struct pmm_stats {
    uint64_t managed_pages;   /* AVAILABLE pages the map reported */
    uint64_t free_pages;
    uint64_t reserved_pages;  /* AVAILABLE pages withheld: kernel, modules, boot info, the bitmap */
    uint64_t alloc_pages;     /* handed out and not yet freed */
};

/* Bytes of bitmap needed to cover every AVAILABLE range of the map. */
size_t pmm_bitmap_bytes(const struct mem_range *ranges, int n);

/*
 * Start managing the AVAILABLE ranges (rounded inward to whole pages) using bitmap storage of
 * bitmap_bytes. Everything else is never handed out. Returns 0, or -ENOSPC when the bitmap is too small.
 */
int pmm_init(const struct mem_range *ranges, int n, uint64_t *bitmap, size_t bitmap_bytes);

/* Withhold [base, base+len) (rounded outward to pages) for good: it is never handed out. */
void pmm_reserve(uint64_t base, uint64_t len);

/*
 * Allocate npages contiguous pages aligned to align_pages (a power of two; 0 or 1 for none).
 * Returns the physical address, or 0 when no such run is free (page 0 is never managed).
 */
uint64_t pmm_alloc(size_t npages, size_t align_pages);

/* Return pages from pmm_alloc. Freeing a page that is not allocated is logged and ignored. */
void pmm_free(uint64_t pa, size_t npages);

void pmm_get_stats(struct pmm_stats *st);
#endif

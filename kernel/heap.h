/* Kernel heap: kmalloc/kfree over the page allocator (size classes for small blocks, pages for large). */
#ifndef SHOAL_HEAP_H
#define SHOAL_HEAP_H
#include <stddef.h>
#include <stdint.h>

/* Allocate size bytes, 16-byte aligned. Returns NULL when memory is exhausted (never panics). */
void *kmalloc(size_t size);
/* kmalloc, zero-filled. */
void *kzalloc(size_t size);
/* Free a block from kmalloc; NULL is ignored. */
void kfree(void *p);

struct heap_stats {
    uint64_t bytes_in_use;     /* requested bytes of live blocks */
    uint64_t pages;            /* pages taken from the page allocator */
    uint64_t allocs, frees;
};
void heap_get_stats(struct heap_stats *st);
/* Debug builds (HEAP_DEBUG): report freed blocks written since they were freed. A no-op otherwise. */
void heap_check(void);
#endif

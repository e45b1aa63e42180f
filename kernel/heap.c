/* Kernel heap: power-of-two size classes carved from pages; large blocks take whole pages. */
#include "kernel/heap.h"
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define MIN_SHIFT   5                       /* 32-byte blocks */
#define MAX_SHIFT   11                      /* 2 KiB blocks */
#define NCLASSES    (MAX_SHIFT - MIN_SHIFT + 1)
#define HDR         16
#define HEAP_MAGIC  0x5ea1u
#define HEAP_POISON 0xDB                    /* every byte of a free small block after its list pointer */

struct hdr {
    uint32_t magic;
    uint32_t cls;         /* class index, or NCLASSES for a page block */
    uint64_t size;        /* requested bytes; page blocks: this many bytes, pages follow */
};

struct free_block { struct free_block *next; };

static struct free_block *free_lists[NCLASSES];
static struct heap_stats stats;

static int refill(int cls)
{
    size_t bsize = (size_t)1 << (cls + MIN_SHIFT);
    uint64_t pa = pmm_alloc(1, 1);
    if (!pa)
        return -1;
    stats.pages++;
    memset((void *)(uintptr_t)pa, HEAP_POISON, PAGE_SIZE);
    for (size_t off = 0; off + bsize <= PAGE_SIZE; off += bsize) {
        struct free_block *b = (struct free_block *)(uintptr_t)(pa + off);
        b->next = free_lists[cls];
        free_lists[cls] = b;
    }
    return 0;
}

/*
 * Free small blocks are poisoned, so a use-after-free reads the poison instead of stale pointers, and a
 * write after free is reported when the block is handed out again (once: the first is the clue).
 */
static void poison_check(const struct free_block *b, int cls)
{
    static int reported;
    const uint8_t *q = (const uint8_t *)b;
    size_t n = (size_t)1 << (cls + MIN_SHIFT);
    for (size_t i = sizeof(*b); i < n && !reported; i++)
        if (q[i] != HEAP_POISON) {
            reported = 1;
            log_err("heap: block %p (%zu bytes) was written after it was freed (byte %zu = %#x)", (const void *)b,
                    n, i, q[i]);
        }
}

static void *alloc_pages_block(size_t size)
{
    size_t npages = (size + HDR + PAGE_SIZE - 1) / PAGE_SIZE;
    uint64_t pa = pmm_alloc(npages, 1);
    struct hdr *h;
    if (!pa)
        return NULL;
    stats.pages += npages;
    h = (struct hdr *)(uintptr_t)pa;
    *h = (struct hdr){ HEAP_MAGIC, NCLASSES, size };
    return (char *)h + HDR;
}

void *kmalloc(size_t size)
{
    struct hdr *h;
    int cls = 0;

    if (!size || size > (1ull << 40))
        return NULL;
    if (size + HDR > ((size_t)1 << MAX_SHIFT)) {
        void *p = alloc_pages_block(size);
        if (p) {
            stats.allocs++;
            stats.bytes_in_use += size;
        }
        return p;
    }
    while (((size_t)1 << (cls + MIN_SHIFT)) < size + HDR)
        cls++;
    if (!free_lists[cls] && refill(cls) < 0)
        return NULL;
    h = (struct hdr *)free_lists[cls];
    poison_check(free_lists[cls], cls);
    free_lists[cls] = free_lists[cls]->next;
    *h = (struct hdr){ HEAP_MAGIC, (uint32_t)cls, size };
    stats.allocs++;
    stats.bytes_in_use += size;
    return (char *)h + HDR;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

static void release(struct hdr *h);

#ifdef HEAP_DEBUG
/*
 * Debug builds (make HEAP_DEBUG=1) hold freed blocks back: each waits, poisoned whole, in a FIFO of
 * QUARANTINE blocks and is checked when it leaves, so a write after free names the block and offset.
 */
#define QUARANTINE 4096
static struct { struct hdr *h; size_t bytes; struct hdr saved; } quarantine[QUARANTINE];
static unsigned q_next;

static void quarantine_check(unsigned i)
{
    const uint8_t *q = (const uint8_t *)quarantine[i].h;
    for (size_t off = 0; off < quarantine[i].bytes; off++)
        if (q[off] != HEAP_POISON) {
            log_err("heap: freed block %p (%zu bytes) written at offset %zu (= %#x)", (const void *)q,
                    quarantine[i].bytes, off, q[off]);
            return;
        }
}

static void quarantine_put(struct hdr *h)
{
    size_t bytes = h->cls == NCLASSES ? (h->size + HDR + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE
                                      : (size_t)1 << (h->cls + MIN_SHIFT);
    unsigned i = q_next++ % QUARANTINE;
    if (quarantine[i].h) {
        quarantine_check(i);
        *quarantine[i].h = quarantine[i].saved;
        release(quarantine[i].h);
    }
    quarantine[i].h = h;
    quarantine[i].bytes = bytes;
    quarantine[i].saved = *h;
    memset(h, HEAP_POISON, bytes);
}

void heap_check(void)
{
    for (unsigned i = 0; i < QUARANTINE; i++)
        if (quarantine[i].h)
            quarantine_check(i);
}
#else
void heap_check(void) {}
#endif

void kfree(void *p)
{
    struct hdr *h;
    if (!p)
        return;
    h = (struct hdr *)((char *)p - HDR);
    if (h->magic != HEAP_MAGIC || h->cls > NCLASSES) {
        log_err("heap: kfree(%p) of a block that is not live: ignored", p);
        return;
    }
    stats.frees++;
    stats.bytes_in_use -= h->size;
#ifdef HEAP_DEBUG
    quarantine_put(h);
#else
    release(h);
#endif
}

/* Return a block whose header is still intact to the page allocator or its class list. */
static void release(struct hdr *h)
{
    uint32_t cls;
    h->magic = 0;
    if (h->cls == NCLASSES) {
        size_t npages = (h->size + HDR + PAGE_SIZE - 1) / PAGE_SIZE;
        pmm_free((uint64_t)(uintptr_t)h, npages);
        stats.pages -= npages;
        return;
    }
    cls = h->cls;
    memset(h, HEAP_POISON, (size_t)1 << (cls + MIN_SHIFT));
    ((struct free_block *)h)->next = free_lists[cls];
    free_lists[cls] = (struct free_block *)h;
}

void heap_get_stats(struct heap_stats *st)
{
    *st = stats;
}

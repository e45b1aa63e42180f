/* Physical page allocator: one bit per 4 KiB page (1 = not free), first fit with a search hint. */
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

static uint64_t *bits;          /* 1 = used or not RAM */
static uint64_t *allocated;     /* second bitmap half: 1 = handed out by pmm_alloc */
static uint64_t npages_total;   /* pages covered: [0, npages_total) */
static struct pmm_stats stats;
static uint64_t hint;

static int test_bit(const uint64_t *b, uint64_t i) { return (b[i / 64] >> (i % 64)) & 1; }
static void set_bit(uint64_t *b, uint64_t i) { b[i / 64] |= 1ull << (i % 64); }
static void clear_bit(uint64_t *b, uint64_t i) { b[i / 64] &= ~(1ull << (i % 64)); }

static uint64_t top_page(const struct mem_range *r, int n)
{
    uint64_t top = 0;
    for (int i = 0; i < n; i++)
        if (r[i].type == MEM_AVAILABLE && (r[i].base + r[i].len) / PAGE_SIZE > top)
            top = (r[i].base + r[i].len) / PAGE_SIZE;
    return top;
}

size_t pmm_bitmap_bytes(const struct mem_range *ranges, int n)
{
    /* two bitmaps (used, allocated), whole 64-bit words */
    return (size_t)((top_page(ranges, n) + 63) / 64) * 8 * 2;
}

int pmm_init(const struct mem_range *ranges, int n, uint64_t *bitmap, size_t bitmap_bytes)
{
    size_t need = pmm_bitmap_bytes(ranges, n);
    if (bitmap_bytes < need)
        return -ENOSPC;
    npages_total = top_page(ranges, n);
    bits = bitmap;
    allocated = bitmap + need / 16;
    memset(bits, 0xff, need / 2);
    memset(allocated, 0, need / 2);
    memset(&stats, 0, sizeof(stats));
    for (int i = 0; i < n; i++) {
        if (ranges[i].type != MEM_AVAILABLE)
            continue;
        uint64_t first = (ranges[i].base + PAGE_SIZE - 1) / PAGE_SIZE;
        uint64_t end = (ranges[i].base + ranges[i].len) / PAGE_SIZE;
        for (uint64_t p = first ? first : 1; p < end; p++) {  /* page 0 is never managed */
            clear_bit(bits, p);
            stats.managed_pages++;
        }
    }
    stats.free_pages = stats.managed_pages;
    hint = 0;
    return 0;
}

void pmm_reserve(uint64_t base, uint64_t len)
{
    uint64_t first = base / PAGE_SIZE;
    uint64_t end = len ? (base + len + PAGE_SIZE - 1) / PAGE_SIZE : first;
    if (end > npages_total)
        end = npages_total;
    for (uint64_t p = first; p < end; p++) {
        if (!test_bit(bits, p)) {
            set_bit(bits, p);
            stats.free_pages--;
            stats.reserved_pages++;
        }
    }
}

/* Is [p, p+n) entirely free? On failure *skip is the first used page seen. */
static int run_free(uint64_t p, uint64_t n, uint64_t *skip)
{
    for (uint64_t i = p; i < p + n; i++) {
        if (!(i % 64) && i + 64 <= p + n && bits[i / 64] == 0) {
            i += 63;
            continue;
        }
        if (test_bit(bits, i)) {
            *skip = i;
            return 0;
        }
    }
    return 1;
}

static uint64_t search(uint64_t from, uint64_t to, uint64_t n, uint64_t align)
{
    uint64_t p = (from + align - 1) & ~(align - 1), used;
    while (p + n <= to) {
        if (bits[p / 64] == ~0ull) {                 /* a full word: jump past it */
            p = ((p / 64 + 1) * 64 + align - 1) & ~(align - 1);
            continue;
        }
        if (run_free(p, n, &used))
            return p;
        p = (used + 1 + align - 1) & ~(align - 1);
    }
    return 0;
}

uint64_t pmm_alloc(size_t npages, size_t align_pages)
{
    uint64_t align = align_pages ? align_pages : 1, p;
    if (!npages || (align & (align - 1)) || npages > stats.free_pages)
        return 0;
    p = search(hint, npages_total, npages, align);
    if (!p)
        p = search(1, npages_total, npages, align);
    if (!p)
        return 0;
    for (uint64_t i = p; i < p + npages; i++) {
        set_bit(bits, i);
        set_bit(allocated, i);
    }
    stats.free_pages -= npages;
    stats.alloc_pages += npages;
    if (npages == 1)
        hint = p + 1;
    return p * PAGE_SIZE;
}

void pmm_free(uint64_t pa, size_t npages)
{
    uint64_t first = pa / PAGE_SIZE;
    if (pa % PAGE_SIZE || first + npages > npages_total) {
        log_err("pmm: free of bad range %#llx+%zu pages ignored", (unsigned long long)pa, npages);
        return;
    }
    for (uint64_t p = first; p < first + npages; p++) {
        if (!test_bit(allocated, p)) {
            log_err("pmm: double free of page %#llx ignored", (unsigned long long)(p * PAGE_SIZE));
            continue;
        }
        clear_bit(allocated, p);
        clear_bit(bits, p);
        stats.free_pages++;
        stats.alloc_pages--;
    }
    if (first < hint)
        hint = first;
}

void pmm_get_stats(struct pmm_stats *st)
{
    *st = stats;
}

/* Unit tests: the kernel heap (kernel/heap.c) over a host page allocator: classes, reuse, double free, poison. */
#define TEST_SUITE "heap"
#include <stdarg.h>
#include <stdlib.h>
#include "tests/unit/test.h"
#include "kernel/heap.h"
#include "kernel/pmm.h"
#include "kernel/log.h"

/* ---- stand-ins: pages from the host allocator, log lines captured ---- */

static long pages_out;
static char last_log[256];
static int log_lines;

uint64_t pmm_alloc(size_t npages, size_t align_pages)
{
    void *p;
    if (posix_memalign(&p, PAGE_SIZE * align_pages, npages * PAGE_SIZE))
        return 0;
    pages_out += (long)npages;
    return (uint64_t)(uintptr_t)p;
}

void pmm_free(uint64_t pa, size_t npages)
{
    pages_out -= (long)npages;
    free((void *)(uintptr_t)pa);
}

void log_printf(int level, const char *fmt, ...)
{
    va_list ap;
    (void)level;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
    log_lines++;
}

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

/* ---- tests ---- */

#define LIVE 256

/* Every live block keeps its own fill while others come and go: no two blocks ever share a byte. */
TEST(mixed_sizes_never_overlap)
{
    static uint8_t *blk[LIVE];
    static size_t len[LIVE];
    struct heap_stats st0, st;
    heap_get_stats(&st0);
    for (int step = 0; step < 40000; step++) {
        int i = (int)(rnd() % LIVE);
        if (blk[i]) {
            for (size_t k = 0; k < len[i]; k++)
                if (blk[i][k] != (uint8_t)i) {
                    test_fail(__FILE__, __LINE__, "step %d: block %d (%zu bytes) byte %zu changed", step, i, len[i], k);
                    return;
                }
            kfree(blk[i]);
            blk[i] = NULL;
            continue;
        }
        len[i] = rnd() % 4 ? 1 + rnd() % 200 : 1 + rnd() % 6000;   /* mostly small classes, some page blocks */
        blk[i] = kmalloc(len[i]);
        CHECK(blk[i] != NULL);
        CHECK_EQ((uintptr_t)blk[i] % 16, 0);
        memset(blk[i], i, len[i]);
    }
    for (int i = 0; i < LIVE; i++) {
        kfree(blk[i]);
        blk[i] = NULL;
    }
    heap_get_stats(&st);
    CHECK_EQ(st.bytes_in_use, st0.bytes_in_use);
    CHECK_EQ(st.allocs - st0.allocs, st.frees - st0.frees);
    CHECK_EQ(log_lines, 0);
}

/* A freed block goes back to the list of its own size: the next request of that size gets it, a smaller
 * request never does (kfree once read the class after the free-list link had overwritten it). */
TEST(freed_block_returns_to_its_class)
{
    void *a = kmalloc(40), *small, *again;
    kfree(a);
    small = kmalloc(8);
    CHECK(small != a);
    again = kmalloc(40);
    CHECK(again == a);
    kfree(small);
    kfree(again);
    for (size_t sz = 1; sz <= 2032; sz = sz * 2 + 1) {       /* every class */
        void *p = kmalloc(sz);
        kfree(p);
        CHECK(kmalloc(sz) == p);
        kfree(p);
    }
}

/* Large blocks take whole pages and give them back. */
TEST(page_blocks_return_their_pages)
{
    long before = pages_out;
    void *p = kmalloc(3 * PAGE_SIZE);
    CHECK(p != NULL);
    CHECK_EQ(pages_out - before, 4);                         /* the header needs a fourth page */
    memset(p, 0x5a, 3 * PAGE_SIZE);
    kfree(p);
    CHECK_EQ(pages_out, before);
}

TEST(double_free_and_foreign_pointers_are_ignored)
{
    struct heap_stats st0, st;
    int lines = log_lines;
    void *p = kmalloc(100), *q;
    heap_get_stats(&st0);
    kfree(p);
    kfree(p);                                                /* second time: not live */
    heap_get_stats(&st);
    CHECK_EQ(st.frees - st0.frees, 1);
    CHECK_EQ(log_lines - lines, 1);
    CHECK(strstr(last_log, "not live") != NULL);
    q = kmalloc(100);                                        /* the list is intact: one block, once */
    CHECK(q == p);
    CHECK(kmalloc(100) != q);
    CHECK(kmalloc(0) == NULL);
    kfree(NULL);
}

TEST(write_after_free_is_reported)
{
    int lines = log_lines;
    uint8_t *p = kmalloc(200);
    kfree(p);
    p[50] = 1;                                               /* the bug under test: a stale writer */
    CHECK(kmalloc(200) == p);
    CHECK(log_lines > lines);
    CHECK(strstr(last_log, "written after it was freed") != NULL);
}

TEST(kzalloc_zeroes_reused_blocks)
{
    uint8_t *p = kmalloc(300);
    memset(p, 0xff, 300);
    kfree(p);
    uint8_t *q = kzalloc(300);
    CHECK(q == p);
    for (int i = 0; i < 300; i++)
        if (q[i]) {
            CHECK_EQ(q[i], 0);
            break;
        }
    kfree(q);
}

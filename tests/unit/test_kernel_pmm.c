/* Unit tests: the physical page allocator never hands out reserved memory and fails cleanly when empty. */
#define TEST_SUITE "pmm"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "kernel/pmm.h"

static uint64_t bitmap[4096];

static void setup(const struct mem_range *r, int n)
{
    CHECK_EQ(pmm_init(r, n, bitmap, sizeof(bitmap)), 0);
}

TEST(only_available_pages_and_never_page0)
{
    struct mem_range r[] = {
        { 0, 0x9f000, MEM_AVAILABLE }, { 0x9f000, 0x61000, MEM_RESERVED },
        { 0x100000, 0x100800, MEM_AVAILABLE },   /* partial last page: rounded in */
        { 0x300000, 0x1000, MEM_ACPI_RECLAIM },
    };
    struct pmm_stats st;
    setup(r, 4);
    pmm_get_stats(&st);
    CHECK_EQ(st.managed_pages, 0x9e + 0x100);
    for (;;) {
        uint64_t pa = pmm_alloc(1, 1);
        if (!pa)
            break;
        CHECK(pa != 0);
        CHECK(!(pa >= 0x9f000 && pa < 0x100000));
        CHECK(pa < 0x200000);
        CHECK(pa % PAGE_SIZE == 0);
    }
    pmm_get_stats(&st);
    CHECK_EQ(st.free_pages, 0);
    CHECK_EQ(st.alloc_pages, 0x9e + 0x100);
}

TEST(reserved_ranges_and_modules_never_handed_out)
{
    struct mem_range r[] = { { 0x100000, 0x400000, MEM_AVAILABLE } };
    setup(r, 1);
    pmm_reserve(0x100000, 0x23456);          /* kernel image: rounded outward */
    pmm_reserve(0x300000, 0x1);              /* a one-byte module still withholds its page */
    pmm_reserve(0x4ff000, 0x10000);          /* runs past the end: clipped */
    int n = 0;
    for (uint64_t pa; (pa = pmm_alloc(1, 1)); n++) {
        CHECK(!(pa >= 0x100000 && pa < 0x124000));
        CHECK(pa != 0x300000);
        CHECK(pa != 0x4ff000);
    }
    CHECK_EQ(n, 0x400 - 0x24 - 1 - 1);
}

TEST(contiguous_aligned_runs)
{
    struct mem_range r[] = { { 0x1000, 0x7ff000, MEM_AVAILABLE } };
    setup(r, 1);
    uint64_t a = pmm_alloc(1, 1);
    uint64_t b = pmm_alloc(512, 512);        /* 2 MiB aligned 2 MiB */
    CHECK(a != 0);
    CHECK(b != 0);
    CHECK_EQ(b % (2 << 20), 0);
    uint64_t c = pmm_alloc(512, 512);
    CHECK(c != 0 && c != b);
    CHECK_EQ(c % (2 << 20), 0);
    CHECK_U64(pmm_alloc(1024, 512), 0);      /* 4 MiB aligned no longer fits around them */
    pmm_free(b, 512);
    CHECK_U64(pmm_alloc(512, 512), b);
    CHECK_U64(pmm_alloc(3, 3), 0);           /* alignment must be a power of two */
    CHECK_U64(pmm_alloc(0, 1), 0);
}

TEST(exhaustion_and_reuse)
{
    struct mem_range r[] = { { 0x10000, 0x4000, MEM_AVAILABLE } };
    setup(r, 1);
    uint64_t p[4];
    for (int i = 0; i < 4; i++)
        CHECK((p[i] = pmm_alloc(1, 1)) != 0);
    CHECK_U64(pmm_alloc(1, 1), 0);
    CHECK_U64(pmm_alloc(2, 1), 0);
    pmm_free(p[2], 1);
    CHECK_U64(pmm_alloc(1, 1), p[2]);
}

TEST(double_and_bad_free_ignored)
{
    struct mem_range r[] = { { 0x10000, 0x4000, MEM_AVAILABLE } };
    struct pmm_stats st;
    setup(r, 1);
    pmm_reserve(0x11000, 0x1000);
    uint64_t a = pmm_alloc(1, 1);
    pmm_free(a, 1);
    pmm_free(a, 1);                          /* double free */
    pmm_free(0x11000, 1);                    /* reserved, never allocated */
    pmm_free(0x10001, 1);                    /* misaligned */
    pmm_free(0x90000000, 1);                 /* beyond RAM */
    pmm_get_stats(&st);
    CHECK_EQ(st.free_pages, 3);
    for (uint64_t pa; (pa = pmm_alloc(1, 1));)
        CHECK(pa != 0x11000);
}

TEST(bitmap_too_small)
{
    struct mem_range r[] = { { 0, 1ull << 40, MEM_AVAILABLE } };
    CHECK(pmm_bitmap_bytes(r, 1) > sizeof(bitmap));
    CHECK(pmm_init(r, 1, bitmap, sizeof(bitmap)) < 0);
}

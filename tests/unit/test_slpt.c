/* Host tests of second-level page tables (arch/x86/slpt.c): write protection over 2 MiB and 4 KiB leaves. */
#define TEST_SUITE "slpt"
#include "tests/unit/test.h"
#include "tests/unit/dirty_fake.h"
#include "arch/x86/slpt.h"
#include "arch/x86/hvm.h"
#include "kernel/errno.h"

extern const struct slpt_fmt npt_fmt, ept_fmt;

#define HPA   0x40000000ull          /* leaves only hold frame numbers: nothing dereferences them */
#define MIB2  0x200000ull

static uint64_t leaf(const struct slpt *t, uint64_t gpa, int *level)
{
    *level = 0;
    return slpt_lookup(t, gpa, level);
}

/* Protecting 8 KiB inside a 2 MiB leaf splits it into 4 KiB leaves with the same frames and bits; only
 * those two lose the write bit; lifting it gives it back; the next 2 MiB leaf stays whole. */
static void split_and_restore(const struct slpt_fmt *fmt)
{
    struct slpt t;
    int level;
    CHECK_EQ(slpt_init(&t, fmt), 0);
    CHECK_EQ(slpt_map(&t, 0, HPA, 2 * MIB2, HVM_RWX), 0);
    uint64_t big = leaf(&t, 0x1000, &level), pages = t.pages;
    CHECK_EQ(level, 2);
    CHECK_EQ(slpt_write_protect(&t, 0x1000, 0x2000, 1), 0);
    CHECK_EQ(t.pages, pages + 1);
    for (uint64_t gpa = 0; gpa < MIB2; gpa += 0x1000) {
        uint64_t e = leaf(&t, gpa, &level);
        CHECK_EQ(level, 1);
        CHECK_U64(e & 0x000ffffffffff000ull, HPA + gpa);
        CHECK_U64(e & ~0x000ffffffffff000ull & ~fmt->write, big & ~0x000ffffffffff000ull & ~fmt->large & ~fmt->write);
        CHECK_EQ(!!(e & fmt->write), gpa < 0x1000 || gpa >= 0x3000);
    }
    CHECK_EQ(leaf(&t, MIB2, &level) & fmt->write, fmt->write);
    CHECK_EQ(level, 2);
    CHECK_EQ(slpt_write_protect(&t, 0, MIB2, 0), 0);
    CHECK_EQ(t.pages, pages + 1);
    CHECK_EQ(leaf(&t, 0x2000, &level) & fmt->write, fmt->write);
    CHECK_EQ(level, 1);
    slpt_destroy(&t);
}

TEST(npt_protect_splits_and_restores) { split_and_restore(&npt_fmt); }
TEST(ept_protect_splits_and_restores) { split_and_restore(&ept_fmt); }

/* 4 KiB leaves (host pages not 2 MiB aligned) are protected in place; unmapped space is passed over
 * without creating tables; lifting the protection over a 2 MiB leaf never splits it. */
TEST(protect_4k_leaves_and_holes)
{
    struct slpt t;
    int level;
    CHECK_EQ(slpt_init(&t, &ept_fmt), 0);
    CHECK_EQ(slpt_map(&t, 0, HPA + 0x1000, 0x4000, HVM_RWX), 0);
    CHECK_EQ(slpt_map(&t, 4 * MIB2, HPA, MIB2, HVM_RWX), 0);
    uint64_t pages = t.pages;
    CHECK_EQ(slpt_write_protect(&t, 0, 2 * MIB2, 1), 0);
    CHECK_EQ(t.pages, pages);
    for (uint64_t gpa = 0; gpa < 0x4000; gpa += 0x1000)
        CHECK_EQ(leaf(&t, gpa, &level) & ept_fmt.write, 0);
    CHECK_EQ(leaf(&t, 0x4000, &level), 0);
    CHECK_EQ(slpt_write_protect(&t, 1ull << 40, MIB2, 1), 0);        /* nothing there */
    CHECK_EQ(t.pages, pages);
    CHECK_EQ(slpt_write_protect(&t, 4 * MIB2, MIB2, 0), 0);
    CHECK_EQ(leaf(&t, 4 * MIB2 + 0x5000, &level) & ept_fmt.write, ept_fmt.write);
    CHECK_EQ(level, 2);
    CHECK_EQ(slpt_write_protect(&t, 0x1000, 0x1000, 0), 0);
    CHECK_EQ(leaf(&t, 0x1000, &level) & ept_fmt.write, ept_fmt.write);
    CHECK_EQ(leaf(&t, 0x2000, &level) & ept_fmt.write, 0);
    slpt_destroy(&t);
}

/* No page for the split table: -ENOMEM, and the 2 MiB leaf is still whole and writable. */
TEST(protect_split_without_memory)
{
    struct slpt t;
    int level;
    CHECK_EQ(slpt_init(&t, &npt_fmt), 0);
    CHECK_EQ(slpt_map(&t, 0, HPA, MIB2, HVM_RWX), 0);
    fake_pmm_fail = 1;
    CHECK_EQ(slpt_write_protect(&t, 0, 0x1000, 1), -ENOMEM);
    fake_pmm_fail = 0;
    CHECK_EQ(leaf(&t, 0, &level) & npt_fmt.write, npt_fmt.write);
    CHECK_EQ(level, 2);
    slpt_destroy(&t);
}

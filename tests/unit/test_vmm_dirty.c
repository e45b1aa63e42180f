/* Host tests of the dirty-page log (vmm/dirty.c) over guest memory (vmm/gmem.c) and real second-level tables. */
#define TEST_SUITE "vmm-dirty"
#include "tests/unit/test.h"
#include "tests/unit/dirty_fake.h"
#include "vmm/vm.h"
#include "vmm/dirty.h"
#include "kernel/pmm.h"
#include "kernel/errno.h"
#include <stdlib.h>

int fake_pmm_fail, fake_pmm_no_large;

uint64_t pmm_alloc(size_t npages, size_t align_pages)
{
    if (fake_pmm_fail || (fake_pmm_no_large && npages > 1))
        return 0;
    return (uint64_t)(uintptr_t)aligned_alloc(align_pages * PAGE_SIZE, npages * PAGE_SIZE);
}

void pmm_free(uint64_t pa, size_t npages)
{
    (void)npages;
    free((void *)(uintptr_t)pa);
}

extern const struct slpt_fmt npt_fmt;
static int fake_map(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    return slpt_map(&vm->t, gpa, hpa, len, prot);
}
static int fake_protect(struct hvm_vm *vm, uint64_t gpa, uint64_t len, int on)
{
    vm->protects += on;
    return slpt_write_protect(&vm->t, gpa, len, on);
}
static const struct hvm_ops fake_hvm = { .map = fake_map, .write_protect = fake_protect };
const struct hvm_ops *hvm = &fake_hvm;

/* The cross-CPU flush (vmm/vm.c): counted, and made to fail when a test says so. */
static int shootdowns, shootdown_rc;
int vm_tlb_shootdown(struct vm *vm)
{
    (void)vm;
    shootdowns++;
    return shootdown_rc;
}

#define MEM    (2 * CHUNK_SIZE)
#define NPAGES (MEM / PAGE_SIZE)
#define NWORDS (NPAGES / 64)
static struct vm vm;
static struct hvm_vm hw;

static void vm_new(int fragmented)
{
    memset(&vm, 0, sizeof(vm));
    memset(&hw, 0, sizeof(hw));
    CHECK_EQ(slpt_init(&hw.t, &npt_fmt), 0);
    vm.hw = &hw;
    fake_pmm_no_large = fragmented;
    CHECK_EQ(gmem_alloc(&vm, MEM), 0);
    fake_pmm_no_large = 0;
}

static void vm_gone(void)
{
    gmem_free(&vm);
    CHECK(vm.dirty == NULL);
    slpt_destroy(&hw.t);
}

static int writable(uint64_t page)
{
    int level;
    return !!(slpt_lookup(&hw.t, page * PAGE_SIZE, &level) & npt_fmt.write);
}

static int count_writable(void)
{
    int n = 0;
    for (uint64_t p = 0; p < NPAGES; p++)
        n += writable(p);
    return n;
}

/* Collect and check the set is exactly the n pages listed, and that they are protected again. */
static void collect_exactly(const uint64_t *pages, int n)
{
    static uint64_t bits[NWORDS], want[NWORDS];
    memset(want, 0, sizeof(want));
    for (int i = 0; i < n; i++)
        want[pages[i] / 64] |= 1ull << (pages[i] % 64);
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), n);
    CHECK_MEM(bits, want, sizeof(bits));
    CHECK_EQ(count_writable(), 0);
}

/* Start protects every page; guest write faults, gpa_write and gpa_ptr_w set exactly their pages; a
 * collect empties the log and protects those pages again; stop makes everything writable. */
static void log_round_trip(int fragmented)
{
    static const uint64_t faulted[] = { 3, 700, NPAGES - 1 };
    static const uint64_t all[] = { 3, 5, 6, 9, 700, NPAGES - 1 };
    uint8_t buf[32] = { 1 };
    vm_new(fragmented);
    CHECK_EQ(count_writable(), NPAGES);
    CHECK_EQ(dirty_start(&vm), 0);
    CHECK_EQ(dirty_start(&vm), -EBUSY);
    CHECK_EQ(count_writable(), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(dirty_fault(&vm, faulted[i] * PAGE_SIZE + 0x10), 1);
    CHECK_EQ(count_writable(), 3);
    CHECK(writable(700));
    CHECK_EQ(gpa_write(&vm, 6 * PAGE_SIZE - 16, buf, sizeof(buf)), 0);     /* pages 5 and 6 */
    CHECK(gpa_ptr_w(&vm, 9 * PAGE_SIZE, 1) != NULL);
    CHECK_EQ(gpa_read(&vm, 11 * PAGE_SIZE, buf, sizeof(buf)), 0);          /* reads mark nothing */
    CHECK(gpa_ptr(&vm, 12 * PAGE_SIZE, 1) != NULL);
    int protects = hw.protects, shot = shootdowns;
    collect_exactly(all, 6);
    CHECK(hw.protects > protects);                                          /* the flush came with it */
    CHECK_EQ(shootdowns, shot + 1);                                         /* on every CPU */
    collect_exactly(all, 0);
    CHECK_EQ(shootdowns, shot + 1);                                         /* nothing protected: none */
    CHECK_EQ(dirty_faults(&vm), 3);
    dirty_stop(&vm);
    CHECK_EQ(count_writable(), NPAGES);
    vm_gone();
}

TEST(dirty_log_round_trip_chunks) { log_round_trip(0); }

/* Protection counts only once every CPU dropped its writable translations: start shoots them down and
 * fails (everything writable again) when a CPU does not answer; a collect that cannot fails too. */
TEST(dirty_protection_is_shot_down)
{
    static uint64_t bits[NWORDS];
    int shot = shootdowns;
    vm_new(0);
    shootdown_rc = -ETIMEDOUT;
    CHECK_EQ(dirty_start(&vm), -ETIMEDOUT);
    CHECK_EQ(shootdowns, shot + 1);
    CHECK_EQ(count_writable(), NPAGES);
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), -EINVAL);                    /* not tracking */
    shootdown_rc = 0;
    CHECK_EQ(dirty_start(&vm), 0);
    CHECK_EQ(shootdowns, shot + 2);
    CHECK_EQ(dirty_fault(&vm, 7 * PAGE_SIZE), 1);
    shootdown_rc = -ETIMEDOUT;
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), -ETIMEDOUT);
    shootdown_rc = 0;
    dirty_stop(&vm);
    vm_gone();
}
TEST(dirty_log_round_trip_single_pages) { log_round_trip(1); }

/* Faults the log does not own go on to the MMIO/unassigned path; bad collects change nothing. */
TEST(dirty_refuses_what_is_not_tracked)
{
    static uint64_t bits[NWORDS];
    vm_new(0);
    CHECK_EQ(dirty_fault(&vm, 0x1000), 0);                                  /* not tracking */
    gmem_mark_dirty(&vm, 0, PAGE_SIZE);                                     /* a no-op then */
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), -EINVAL);
    CHECK_EQ(dirty_start(&vm), 0);
    CHECK_EQ(dirty_fault(&vm, MEM), 0);                                     /* past RAM */
    CHECK_EQ(dirty_fault(&vm, ~0ull & ~0xfffull), 0);
    gmem_mark_dirty(&vm, MEM - 8, 64);                                      /* clipped to RAM */
    gmem_mark_dirty(&vm, ~0ull - 8, 64);                                    /* wraps: nothing */
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS - 1), -ENOSPC);
    static const uint64_t last[] = { NPAGES - 1 };
    collect_exactly(last, 1);
    vm_gone();
}

/* No table page for the splits: start fails, and no page is left without its write bit. */
TEST(dirty_start_without_memory)
{
    vm_new(0);
    fake_pmm_fail = 1;
    CHECK_EQ(dirty_start(&vm), -ENOMEM);
    fake_pmm_fail = 0;
    CHECK(vm.dirty == NULL);
    CHECK_EQ(count_writable(), NPAGES);
    vm_gone();
}

/* The checking mode: a page changed behind the log's back (a raw pointer, as a writer that forgot to
 * mark would) is counted and named; pages written through gpa_write or a guest fault are not. */
TEST(dirty_check_names_unmarked_changes)
{
    static uint64_t bits[NWORDS];
    uint64_t missed[1] = { 0 };
    uint8_t one = 1;
    vm_new(0);
    CHECK_EQ(dirty_check_start(&vm), -EINVAL);                             /* not tracking */
    CHECK_EQ(dirty_start(&vm), 0);
    CHECK_EQ(dirty_check(&vm, bits, missed, 1), -EINVAL);                  /* no sums yet */
    CHECK_EQ(dirty_check_start(&vm), 0);
    CHECK_EQ(gpa_write(&vm, 40 * PAGE_SIZE, &one, 1), 0);
    CHECK_EQ(dirty_fault(&vm, 41 * PAGE_SIZE), 1);
    ((uint8_t *)gpa_ptr(&vm, 41 * PAGE_SIZE, 1))[0] = 1;                   /* the guest's write */
    ((uint8_t *)gpa_ptr(&vm, 77 * PAGE_SIZE, 1))[5] = 1;                   /* unmarked */
    ((uint8_t *)gpa_ptr(&vm, 90 * PAGE_SIZE, 1))[9] = 1;                   /* unmarked */
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), 2);
    CHECK_EQ(dirty_check(&vm, bits, missed, 1), 2);                        /* counted past max */
    CHECK_EQ(missed[0], 77);
    CHECK_EQ(dirty_collect(&vm, bits, NWORDS), 0);
    CHECK_EQ(dirty_check(&vm, bits, missed, 1), 0);                        /* the new sums were taken */
    vm_gone();
}

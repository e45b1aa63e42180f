/* Host tests of guest memory (vmm/gmem.c) over a fake page allocator: freed guest RAM is scrubbed. */
#define TEST_SUITE "vmm-gmem"
#include "tests/unit/test.h"
#include "vmm/vm.h"
#include "kernel/pmm.h"
#include <stdlib.h>

/* The fake page allocator hands out dirty pages (as a real one does) and checks pages coming back. */
static uint64_t live_pages, dirty_freed, refuse_large;

uint64_t pmm_alloc(size_t npages, size_t align_pages)
{
    if (refuse_large && npages > 1)
        return 0;
    void *p = aligned_alloc(align_pages * PAGE_SIZE, npages * PAGE_SIZE);
    memset(p, 0xa5, npages * PAGE_SIZE);
    live_pages += npages;
    return (uint64_t)(uintptr_t)p;
}

void pmm_free(uint64_t pa, size_t npages)
{
    const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
    for (size_t i = 0; i < npages * PAGE_SIZE; i++)
        if (p[i]) {
            dirty_freed++;
            break;
        }
    live_pages -= npages;
    free((void *)(uintptr_t)pa);
}

static int fake_map(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    (void)vm; (void)gpa; (void)hpa; (void)len; (void)prot;
    return 0;
}
static const struct hvm_ops fake_hvm = { .map = fake_map };
const struct hvm_ops *hvm = &fake_hvm;
int vm_tlb_shootdown(struct vm *vm) { (void)vm; return 0; }    /* one CPU: nothing to shoot down */

/* A guest's RAM full of its secrets, then freed: no page goes back to the allocator unscrubbed. */
static void fill_and_free(uint64_t size)
{
    static struct vm vm;
    static uint8_t secret[4096];
    memset(&vm, 0, sizeof(vm));
    memset(secret, 0x5e, sizeof(secret));
    live_pages = dirty_freed = 0;
    CHECK_EQ(gmem_alloc(&vm, size), 0);
    CHECK_EQ(live_pages, size / PAGE_SIZE);
    for (uint64_t gpa = 0; gpa < size; gpa += sizeof(secret))
        CHECK_EQ(gpa_write(&vm, gpa, secret, sizeof(secret)), 0);
    gmem_free(&vm);
    CHECK_EQ(live_pages, 0);
    CHECK_EQ(dirty_freed, 0);
}

TEST(freed_chunks_are_scrubbed)
{
    refuse_large = 0;
    fill_and_free(3 * CHUNK_SIZE);
}

TEST(freed_single_pages_are_scrubbed)
{
    refuse_large = 1;                                  /* fragmented host memory: chunks made of pages */
    fill_and_free(2 * CHUNK_SIZE);
    refuse_large = 0;
}

/* A disk request still at the disk holds the VM's RAM: destroying the VM must not hand the pages its
 * completion will write to another tenant (zero-copy reads point straight into guest pages). */
TEST(ram_held_by_a_request_outlives_the_vm)
{
    static struct vm vm;
    memset(&vm, 0, sizeof(vm));
    refuse_large = 0;
    live_pages = dirty_freed = 0;
    CHECK_EQ(gmem_alloc(&vm, CHUNK_SIZE), 0);
    struct gmem_lease *lease = gmem_hold(&vm);
    uint8_t *buf = gpa_ptr(&vm, 8192, 512);           /* where the read's data will land */
    CHECK(buf != NULL);
    gmem_free(&vm);
    CHECK_EQ(live_pages, CHUNK_SIZE / PAGE_SIZE);      /* still the VM's, though the VM is gone */
    memset(buf, 0x77, 512);                            /* the late completion */
    gmem_unhold(lease);
    CHECK_EQ(live_pages, 0);                           /* now back, scrubbed */
    CHECK_EQ(dirty_freed, 0);
}

/* Without a request in flight the RAM goes back at once. */
TEST(ram_without_holds_goes_back_at_destroy)
{
    static struct vm vm;
    memset(&vm, 0, sizeof(vm));
    live_pages = 0;
    CHECK_EQ(gmem_alloc(&vm, CHUNK_SIZE), 0);
    gmem_unhold(gmem_hold(&vm));
    gmem_free(&vm);
    CHECK_EQ(live_pages, 0);
}

/* Checking the dirty log: a CRC32C per RAM page, so a page that changed without its bit is caught. */
#include "vmm/dirty.h"
#include "vmm/vm.h"
#include "kernel/crc32c.h"
#include "kernel/heap.h"
#include "kernel/pmm.h"
#include "kernel/errno.h"

static uint32_t page_sum(struct vm *vm, uint64_t page)
{
    const void *p = gpa_ptr(vm, page * PAGE_SIZE, PAGE_SIZE);
    return p ? crc32c(0, p, PAGE_SIZE) : 0;
}

int dirty_check_start(struct vm *vm)
{
    uint32_t **sums = dirty_sums(vm);
    uint64_t npages = vm->mem_size / PAGE_SIZE;
    if (!sums)
        return -EINVAL;
    if (!*sums && !(*sums = kzalloc(npages * sizeof(uint32_t))))
        return -ENOMEM;
    for (uint64_t p = 0; p < npages; p++)
        (*sums)[p] = page_sum(vm, p);
    return 0;
}

long dirty_check(struct vm *vm, const uint64_t *bits, uint64_t *missed, size_t max)
{
    uint32_t **sums = dirty_sums(vm);
    uint64_t npages = vm->mem_size / PAGE_SIZE;
    long n = 0;
    if (!sums || !*sums)
        return -EINVAL;
    for (uint64_t p = 0; p < npages; p++) {
        uint32_t s = page_sum(vm, p);
        if (s != (*sums)[p] && !(bits[p / 64] >> (p % 64) & 1) && n++ < (long)max)
            missed[n - 1] = p;
        (*sums)[p] = s;
    }
    return n;
}

/* Dirty-page log for live migration: write-protect RAM through hvm_ops, note each page's first write. */
#include "vmm/dirty.h"
#include "vmm/vm.h"
#include "kernel/heap.h"
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

struct dirty_log {
    uint64_t npages;                 /* 4 KiB pages of RAM */
    uint64_t faults;                 /* write faults taken */
    uint64_t collects;               /* dirty_collect calls that succeeded */
    uint64_t *bits;
    uint32_t *sums;                  /* vmm/dirtycheck.c's page checksums, when it keeps them */
};

static size_t words_of(uint64_t npages) { return (size_t)((npages + 63) / 64); }

static int bits_set(uint64_t w)
{
    int n = 0;
    for (; w; w &= w - 1)
        n++;
    return n;
}

int dirty_start(struct vm *vm)
{
    struct dirty_log *d;
    int rc;
    if (vm->dirty)
        return -EBUSY;
    if (!vm->mem_size || !hvm->write_protect)
        return -ENODEV;
    d = kzalloc(sizeof(*d));
    if (d) {
        d->npages = vm->mem_size / PAGE_SIZE;
        d->bits = kzalloc(words_of(d->npages) * sizeof(uint64_t));
    }
    if (!d || !d->bits) {
        kfree(d);
        return -ENOMEM;
    }
    rc = hvm->write_protect(vm->hw, 0, vm->mem_size, 1);
    if (!rc)
        rc = vm_tlb_shootdown(vm);           /* vCPUs on other CPUs drop their writable translations */
    if (rc) {
        hvm->write_protect(vm->hw, 0, vm->mem_size, 0);
        kfree(d->bits);
        kfree(d);
        return rc;
    }
    vm->dirty = d;
    return 0;
}

void dirty_stop(struct vm *vm)
{
    struct dirty_log *d = vm->dirty;
    if (!d)
        return;
    vm->dirty = NULL;
    hvm->write_protect(vm->hw, 0, d->npages * PAGE_SIZE, 0);
    kfree(d->sums);
    kfree(d->bits);
    kfree(d);
}

size_t dirty_words(const struct vm *vm)
{
    return vm->dirty ? words_of(vm->dirty->npages) : 0;
}

uint64_t dirty_faults(const struct vm *vm)
{
    return vm->dirty ? vm->dirty->faults : 0;
}

uint32_t **dirty_sums(struct vm *vm)
{
    return vm->dirty ? &vm->dirty->sums : NULL;
}

uint64_t dirty_collects(const struct vm *vm)
{
    return vm->dirty ? vm->dirty->collects : 0;
}

void gmem_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
    struct dirty_log *d = vm->dirty;
    if (!d || !len || gpa >= d->npages * PAGE_SIZE)
        return;
    uint64_t last = (gpa + len - 1 < gpa || gpa + len > d->npages * PAGE_SIZE) ? d->npages - 1
                                                                               : (gpa + len - 1) / PAGE_SIZE;
    for (uint64_t p = gpa / PAGE_SIZE; p <= last; p++)
        d->bits[p / 64] |= 1ull << (p % 64);
}

int dirty_fault(struct vm *vm, uint64_t gpa)
{
    struct dirty_log *d = vm->dirty;
    uint64_t p = gpa / PAGE_SIZE;
    if (!d || p >= d->npages || !gpa_to_hpa(vm, gpa))
        return 0;
    d->bits[p / 64] |= 1ull << (p % 64);
    d->faults++;
    return hvm->write_protect(vm->hw, p * PAGE_SIZE, PAGE_SIZE, 0) == 0;
}

/* Protect each run of set bits again with one call (one invalidation per run on VMX). */
static int reprotect(struct vm *vm, const uint64_t *bits, uint64_t npages)
{
    uint64_t p = 0;
    while (p < npages) {
        if (!(bits[p / 64] >> (p % 64) & 1)) {
            p = (p % 64 || bits[p / 64]) ? p + 1 : p + 64;
            continue;
        }
        uint64_t start = p;
        while (p < npages && (bits[p / 64] >> (p % 64) & 1))
            p++;
        int rc = hvm->write_protect(vm->hw, start * PAGE_SIZE, (p - start) * PAGE_SIZE, 1);
        if (rc)
            return rc;
    }
    return 0;
}

int dirty_collect(struct vm *vm, uint64_t *bits, size_t nwords)
{
    struct dirty_log *d = vm->dirty;
    int count = 0;
    if (!d)
        return -EINVAL;
    size_t need = words_of(d->npages);
    if (nwords < need)
        return -ENOSPC;
    for (size_t w = 0; w < nwords; w++) {
        bits[w] = w < need ? d->bits[w] : 0;
        count += bits_set(bits[w]);
    }
    memset(d->bits, 0, need * sizeof(uint64_t));
    int rc = reprotect(vm, bits, d->npages);
    if (!rc && count)
        rc = vm_tlb_shootdown(vm);
    if (rc)
        return rc;
    d->collects++;
    return count;
}

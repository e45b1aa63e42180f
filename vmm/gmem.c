/* Guest memory: RAM from the page allocator in 2 MiB chunks, mapped through second-level tables only. */
#include "vmm/vm.h"
#include "vmm/dirty.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define PAGES_PER_CHUNK (CHUNK_SIZE / PAGE_SIZE)

static int chunk_alloc(struct vm *vm, struct mem_chunk *c, uint64_t gpa)
{
    c->hpa = pmm_alloc(PAGES_PER_CHUNK, PAGES_PER_CHUNK);
    if (c->hpa) {
        memset((void *)(uintptr_t)c->hpa, 0, CHUNK_SIZE);
        return hvm->map(vm->hw, gpa, c->hpa, CHUNK_SIZE, HVM_RWX);
    }
    /* Fragmented host memory: fall back to single pages for this chunk. */
    c->pages = kzalloc(PAGES_PER_CHUNK * sizeof(uint64_t));
    if (!c->pages)
        return -ENOMEM;
    for (uint64_t i = 0; i < PAGES_PER_CHUNK; i++) {
        if (!(c->pages[i] = pmm_alloc(1, 1)))
            return -ENOMEM;
        memset((void *)(uintptr_t)c->pages[i], 0, PAGE_SIZE);
        if (hvm->map(vm->hw, gpa + i * PAGE_SIZE, c->pages[i], PAGE_SIZE, HVM_RWX))
            return -ENOMEM;
    }
    return 0;
}

/* The VM's RAM once the VM is gone, while requests at a disk still hold it. */
struct gmem_lease {
    int holds;
    int orphaned;                    /* gmem_free ran: the chunks below are this lease's to free */
    struct mem_chunk *chunks;
    int nchunks;
    char name[VM_NAME_MAX];
};

int gmem_alloc(struct vm *vm, uint64_t size)
{
    int n = (int)((size + CHUNK_SIZE - 1) / CHUNK_SIZE);
    vm->lease = kzalloc(sizeof(*vm->lease));
    vm->chunks = kzalloc((size_t)n * sizeof(*vm->chunks));
    if (!vm->chunks || !vm->lease)
        return -ENOMEM;
    memcpy(vm->lease->name, vm->name, sizeof(vm->lease->name));
    vm->nchunks = n;
    vm->mem_size = (uint64_t)n * CHUNK_SIZE;
    for (int i = 0; i < n; i++)
        if (chunk_alloc(vm, &vm->chunks[i], (uint64_t)i * CHUNK_SIZE))
            return -ENOMEM;      /* the caller destroys the VM, which frees what was taken */
    return 0;
}

/* Zero pages before the allocator has them back: whoever gets them next (another tenant's RAM, the
 * heap, a disk cache) must never see this guest's data. */
static void scrub_free(uint64_t hpa, uint64_t npages)
{
    memset((void *)(uintptr_t)hpa, 0, npages * PAGE_SIZE);
    pmm_free(hpa, npages);
}

static void chunks_free(const char *name, struct mem_chunk *chunks, int nchunks)
{
    uint64_t t0 = time_ns();
    for (int i = 0; i < nchunks; i++) {
        struct mem_chunk *c = &chunks[i];
        if (c->hpa)
            scrub_free(c->hpa, PAGES_PER_CHUNK);
        if (c->pages) {
            for (uint64_t p = 0; p < PAGES_PER_CHUNK; p++)
                if (c->pages[p])
                    scrub_free(c->pages[p], 1);
            kfree(c->pages);
        }
    }
    if (nchunks)
        log_info("vm %s: scrubbed %llu MiB of RAM in %llu ms", name,
                 (unsigned long long)((uint64_t)nchunks * CHUNK_SIZE >> 20),
                 (unsigned long long)((time_ns() - t0) / 1000000));
    kfree(chunks);
}

struct gmem_lease *gmem_hold(struct vm *vm)
{
    if (vm->lease)
        vm->lease->holds++;
    return vm->lease;
}

void gmem_unhold(struct gmem_lease *l)
{
    if (!l || --l->holds > 0 || !l->orphaned)
        return;
    chunks_free(l->name, l->chunks, l->nchunks);
    kfree(l);
}

void gmem_free(struct vm *vm)
{
    struct gmem_lease *l = vm->lease;
    dirty_stop(vm);
    if (l && l->holds > 0) {             /* requests at a disk still write into these pages */
        log_info("vm %s: RAM kept until %d disk request%s finish", vm->name, l->holds, l->holds == 1 ? "" : "s");
        l->chunks = vm->chunks;
        l->nchunks = vm->nchunks;
        l->orphaned = 1;
    } else {
        chunks_free(vm->name, vm->chunks, vm->nchunks);
        kfree(l);
    }
    vm->lease = NULL;
    vm->chunks = NULL;
    vm->nchunks = 0;
}

uint64_t gpa_to_hpa(struct vm *vm, uint64_t gpa)
{
    struct mem_chunk *c;
    if (gpa >= vm->mem_size)
        return 0;
    c = &vm->chunks[gpa / CHUNK_SIZE];
    if (c->hpa)
        return c->hpa + gpa % CHUNK_SIZE;
    if (!c->pages || !c->pages[(gpa % CHUNK_SIZE) / PAGE_SIZE])
        return 0;
    return c->pages[(gpa % CHUNK_SIZE) / PAGE_SIZE] + gpa % PAGE_SIZE;
}

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    uint64_t span, hpa;
    if (!len || gpa + len < gpa || gpa + len > vm->mem_size)
        return NULL;
    hpa = gpa_to_hpa(vm, gpa);
    span = vm->chunks[gpa / CHUNK_SIZE].hpa ? CHUNK_SIZE - gpa % CHUNK_SIZE : PAGE_SIZE - gpa % PAGE_SIZE;
    if (!hpa || len > span)
        return NULL;
    return (void *)(uintptr_t)hpa;
}

void *gpa_ptr_w(struct vm *vm, uint64_t gpa, size_t len)
{
    void *p = gpa_ptr(vm, gpa, len);
    if (p)
        gmem_mark_dirty(vm, gpa, len);
    return p;
}

static int gpa_copy(struct vm *vm, uint64_t gpa, void *buf, size_t len, int to_guest)
{
    if (gpa + len < gpa || gpa + len > vm->mem_size)
        return -EFAULT;
    while (len) {
        size_t n = PAGE_SIZE - gpa % PAGE_SIZE;
        void *p;
        if (n > len)
            n = len;
        if (!(p = gpa_ptr(vm, gpa, n)))
            return -EFAULT;
        if (to_guest) {
            memcpy(p, buf, n);
            gmem_mark_dirty(vm, gpa, n);      /* after the bytes: a collect in between sees them */
        } else
            memcpy(buf, p, n);
        gpa += n;
        buf = (uint8_t *)buf + n;
        len -= n;
    }
    return 0;
}

int gpa_read(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
    return gpa_copy(vm, gpa, buf, len, 0);
}

int gpa_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    return gpa_copy(vm, gpa, (void *)buf, len, 1);
}

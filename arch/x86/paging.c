/* Host paging: extend the boot identity map over all RAM the memory map reports (SDM 3A 4.5). */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define GIB     (1ull << 30)
#define MIB2    (1ull << 21)

extern uint64_t boot_pml4[512];
static uint64_t mapped_top = 4 * GIB;

uint64_t paging_mapped_top(void) { return mapped_top; }

/* A zeroed page for a table; identity-mapped because first fit hands out low memory first. */
static uint64_t *table_page(void)
{
    uint64_t pa = pmm_alloc(1, 1);
    if (!pa || pa >= mapped_top)
        return NULL;
    memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
    return (uint64_t *)(uintptr_t)pa;
}

static uint64_t *next_level(uint64_t *entry)
{
    if (!(*entry & PTE_P)) {
        uint64_t *t = table_page();
        if (!t)
            return NULL;
        *entry = (uint64_t)(uintptr_t)t | PTE_P | PTE_W;
    }
    return (uint64_t *)(uintptr_t)(*entry & 0x000ffffffffff000ull);
}

static int map_gib(uint64_t base, int huge)
{
    uint64_t *pdpt = next_level(&boot_pml4[(base >> 39) & 511]), *pd;
    uint64_t *e;
    if (!pdpt)
        return -ENOMEM;
    e = &pdpt[(base >> 30) & 511];
    if (*e & PTE_P)
        return 0;
    if (huge) {
        *e = base | PTE_P | PTE_W | PTE_PS;
        return 0;
    }
    if (!(pd = next_level(e)))
        return -ENOMEM;
    for (int i = 0; i < 512; i++)
        pd[i] = (base + i * MIB2) | PTE_P | PTE_W | PTE_PS;
    return 0;
}

int paging_map_identity(uint64_t top)
{
    int huge = (cpuid(0x80000001, 0).edx >> 26) & 1;   /* Page1GB */
    top = (top + GIB - 1) & ~(GIB - 1);
    for (uint64_t base = mapped_top; base < top; base += GIB) {
        int rc = map_gib(base, huge);
        if (rc) {
            log_err("paging: cannot map RAM above %#llx", (unsigned long long)base);
            return rc;
        }
        mapped_top = base + GIB;
    }
    write_cr3(read_cr3());
    return 0;
}

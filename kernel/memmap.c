/* Memory map normalisation: sort, split overlaps (restrictive type wins), merge neighbours. */
#include "kernel/bootinfo.h"
#include "kernel/errno.h"

static int type_rank(uint32_t type)
{
    switch (type) {
    case MEM_AVAILABLE: return 0;
    case MEM_ACPI_RECLAIM: return 1;
    case MEM_ACPI_NVS: return 2;
    case MEM_BAD: return 4;
    default: return 3;  /* reserved and anything unknown */
    }
}

int memmap_add(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
    if (!len)
        return 0;
    if (base + len < base)            /* wraps: clamp to the top of the address space */
        len = UINT64_MAX - base;
    if (type < MEM_AVAILABLE || type > MEM_BAD)
        type = MEM_RESERVED;
    if (bi->nmem && bi->mem[bi->nmem - 1].type == type &&
        bi->mem[bi->nmem - 1].base + bi->mem[bi->nmem - 1].len == base) {
        bi->mem[bi->nmem - 1].len += len;     /* no wrap: len was clamped to the top above */
        return 0;
    }
    if (bi->nmem == BOOT_MAX_RANGES)
        return -ENOSPC;
    bi->mem[bi->nmem++] = (struct mem_range){ base, len, type };
    return 0;
}

static void sort_points(uint64_t *p, int n)
{
    for (int i = 1; i < n; i++) {
        uint64_t v = p[i];
        int j = i;
        for (; j > 0 && p[j - 1] > v; j--)
            p[j] = p[j - 1];
        p[j] = v;
    }
}

/* The winning type over [a, b), or 0 when no range covers it. */
static uint32_t type_over(const struct boot_info *bi, uint64_t a, uint64_t b)
{
    uint32_t best = 0;
    for (int i = 0; i < bi->nmem; i++) {
        const struct mem_range *r = &bi->mem[i];
        if (r->base <= a && b <= r->base + r->len && (!best || type_rank(r->type) > type_rank(best)))
            best = r->type;
    }
    return best;
}

void memmap_normalise(struct boot_info *bi)
{
    uint64_t pts[2 * BOOT_MAX_RANGES];
    struct mem_range out[BOOT_MAX_RANGES];
    int np = 0, no = 0;

    for (int i = 0; i < bi->nmem; i++) {
        pts[np++] = bi->mem[i].base;
        pts[np++] = bi->mem[i].base + bi->mem[i].len;
    }
    sort_points(pts, np);
    for (int i = 0; i + 1 < np; i++) {
        uint64_t a = pts[i], b = pts[i + 1];
        uint32_t t;
        if (a == b || !(t = type_over(bi, a, b)))
            continue;
        if (no && out[no - 1].type == t && out[no - 1].base + out[no - 1].len == a)
            out[no - 1].len += b - a;
        else if (no < BOOT_MAX_RANGES)
            out[no++] = (struct mem_range){ a, b - a, t };
    }
    for (int i = 0; i < no; i++)
        bi->mem[i] = out[i];
    bi->nmem = no;
}

uint64_t memmap_total_available(const struct boot_info *bi)
{
    uint64_t sum = 0;
    for (int i = 0; i < bi->nmem; i++)
        if (bi->mem[i].type == MEM_AVAILABLE)
            sum += bi->mem[i].len;
    return sum;
}

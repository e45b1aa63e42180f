/* Second-level page tables: a 4-level radix tree of 4 KiB tables, 2 MiB leaves where aligned. */
#include "arch/x86/slpt.h"
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define ADDR_MASK 0x000ffffffffff000ull
#define MIB2      (1ull << 21)

static uint64_t *table_va(uint64_t pa) { return (uint64_t *)(uintptr_t)pa; }

static uint64_t new_table(struct slpt *t)
{
    uint64_t pa = pmm_alloc(1, 1);
    if (pa) {
        memset(table_va(pa), 0, PAGE_SIZE);
        t->pages++;
    }
    return pa;
}

int slpt_init(struct slpt *t, const struct slpt_fmt *fmt)
{
    t->fmt = fmt;
    t->pages = 0;
    t->root = new_table(t);
    return t->root ? 0 : -ENOMEM;
}

static void free_level(struct slpt *t, uint64_t pa, int level)
{
    uint64_t *e = table_va(pa);
    if (level > 1)
        for (int i = 0; i < 512; i++)
            if (e[i] && !(level == 2 && (e[i] & t->fmt->large)))
                free_level(t, e[i] & ADDR_MASK, level - 1);
    pmm_free(pa, 1);
    t->pages--;
}

void slpt_destroy(struct slpt *t)
{
    if (t->root)
        free_level(t, t->root, 4);
    t->root = 0;
}

/* The entry for gpa at level (1 = PT, 2 = PD), allocating tables on the way; NULL on -ENOMEM. */
static uint64_t *walk_alloc(struct slpt *t, uint64_t gpa, int level)
{
    uint64_t *tab = table_va(t->root);
    for (int l = 4; l > level; l--) {
        uint64_t *e = &tab[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (!*e || (l == 2 && (*e & t->fmt->large))) {
            uint64_t pa = new_table(t);
            if (!pa)
                return NULL;
            *e = pa | t->fmt->table;      /* a 2 MiB leaf being split loses its old mapping: replaced */
        }
        tab = table_va(*e & ADDR_MASK);
    }
    return &tab[(gpa >> (12 + 9 * (level - 1))) & 511];
}

int slpt_map(struct slpt *t, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    uint64_t leaf = t->fmt->leaf(prot);
    while (len) {
        int big = !(gpa % MIB2) && !(hpa % MIB2) && len >= MIB2;
        uint64_t *e = walk_alloc(t, gpa, big ? 2 : 1);
        uint64_t step = big ? MIB2 : PAGE_SIZE;
        if (!e)
            return -ENOMEM;
        if (big && *e && !(*e & t->fmt->large))
            free_level(t, *e & ADDR_MASK, 1);   /* a 4 KiB table replaced by one 2 MiB leaf */
        *e = hpa | leaf | (big ? t->fmt->large : 0);
        gpa += step;
        hpa += step;
        len = len > step ? len - step : 0;
    }
    return 0;
}

uint64_t slpt_lookup(const struct slpt *t, uint64_t gpa, int *level)
{
    uint64_t *tab = table_va(t->root);
    for (int l = 4; l >= 1; l--) {
        uint64_t e = tab[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (!e)
            return 0;
        if (l == 1 || (l == 2 && (e & t->fmt->large))) {
            *level = l;
            return e;
        }
        tab = table_va(e & ADDR_MASK);
    }
    return 0;
}

/* Replace the 2 MiB leaf *pde by a table of 512 4 KiB leaves with the same frames and bits. */
static int split_large(struct slpt *t, uint64_t *pde)
{
    uint64_t pa = new_table(t), big = *pde;
    uint64_t *pt = table_va(pa);
    if (!pa)
        return -ENOMEM;
    for (uint64_t i = 0; i < 512; i++)
        pt[i] = (big & ~t->fmt->large) + i * PAGE_SIZE;
    *pde = pa | t->fmt->table;
    return 0;
}

/* The page-directory entry covering gpa, or NULL when no table reaches that far. */
static uint64_t *find_pde(const struct slpt *t, uint64_t gpa)
{
    uint64_t *tab = table_va(t->root);
    for (int l = 4; l > 2; l--) {
        uint64_t e = tab[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (!e)
            return NULL;
        tab = table_va(e & ADDR_MASK);
    }
    return &tab[(gpa >> 21) & 511];
}

int slpt_write_protect(struct slpt *t, uint64_t gpa, uint64_t len, int on)
{
    uint64_t end = gpa + len;
    while (gpa < end) {
        uint64_t *pde = find_pde(t, gpa), next = (gpa | (MIB2 - 1)) + 1;
        if (pde && *pde && (*pde & t->fmt->large)) {
            if (!on) {
                *pde |= t->fmt->write;          /* never protected as a whole: nothing to split */
                gpa = next;
                continue;
            }
            if (split_large(t, pde))
                return -ENOMEM;
        }
        if (!pde || !*pde) {
            gpa = next;
            continue;
        }
        uint64_t *pt = table_va(*pde & ADDR_MASK);
        for (; gpa < end && gpa < next; gpa += PAGE_SIZE) {
            uint64_t *e = &pt[(gpa >> 12) & 511];
            if (*e)
                *e = on ? (*e & ~t->fmt->write) : (*e | t->fmt->write);
        }
    }
    return 0;
}

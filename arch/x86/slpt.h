/* Second-level page tables (EPT and NPT share the 4-level radix shape; only entry bits differ). */
#ifndef SHOAL_ARCH_SLPT_H
#define SHOAL_ARCH_SLPT_H
#include <stdint.h>

struct slpt_fmt {
    uint64_t table;                   /* bits of an entry pointing to a lower table */
    uint64_t (*leaf)(int prot);       /* bits of a leaf mapping with prot (HVM_R/W/X) */
    uint64_t large;                   /* the page-size bit of a 2 MiB leaf */
    uint64_t write;                   /* the write-permission bit of a leaf */
};

struct slpt {
    const struct slpt_fmt *fmt;
    uint64_t root;                    /* physical address of the top table */
    uint64_t pages;                   /* table pages in use */
};

/* Allocate an empty top table. 0, or -ENOMEM. */
int slpt_init(struct slpt *t, const struct slpt_fmt *fmt);
/*
 * Map [gpa, gpa+len) to [hpa, hpa+len), 4 KiB aligned, with 2 MiB leaves wherever gpa, hpa and the
 * remaining length allow. Replaces earlier mappings. 0, or -ENOMEM (the part mapped so far stays).
 */
int slpt_map(struct slpt *t, uint64_t gpa, uint64_t hpa, uint64_t len, int prot);
/* Free every table page. */
void slpt_destroy(struct slpt *t);
/*
 * Clear (on=1) or set (on=0) the write bit of every mapped 4 KiB page in [gpa, gpa+len) (4 KiB aligned).
 * Protecting splits each 2 MiB leaf it touches into 512 4 KiB leaves first (same frames, same bits);
 * unprotecting never allocates. The caller invalidates the TLBs. 0, or -ENOMEM when a split needed a
 * table (the pages before it stay changed).
 */
int slpt_write_protect(struct slpt *t, uint64_t gpa, uint64_t len, int on);
/* The leaf entry that maps gpa (and its level: 1 = 4 KiB, 2 = 2 MiB), or 0 when unmapped. */
uint64_t slpt_lookup(const struct slpt *t, uint64_t gpa, int *level);
#endif

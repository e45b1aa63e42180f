/* What the boot loader told us, normalised: memory map, command line, modules, loader name. */
#ifndef SHOAL_BOOTINFO_H
#define SHOAL_BOOTINFO_H
#include <stdint.h>
#include <stddef.h>

#define MB1_BOOT_MAGIC 0x2BADB002u
#define MB2_BOOT_MAGIC 0x36d76289u

enum mem_type { MEM_AVAILABLE = 1, MEM_RESERVED = 2, MEM_ACPI_RECLAIM = 3, MEM_ACPI_NVS = 4, MEM_BAD = 5 };

struct mem_range {
    uint64_t base, len;
    uint32_t type;
};

struct boot_module {
    uint64_t start, end;   /* physical, end exclusive */
    char name[64];         /* the loader's string for the module (path and arguments) */
};

#define BOOT_MAX_RANGES  128
#define BOOT_MAX_MODULES 16
#define BOOT_CMDLINE_MAX 1024

struct boot_info {
    int protocol;                           /* 1 or 2 */
    struct mem_range mem[BOOT_MAX_RANGES];  /* sorted, non-overlapping, merged */
    int nmem;
    struct boot_module mod[BOOT_MAX_MODULES];
    int nmod;
    char cmdline[BOOT_CMDLINE_MAX];         /* as the loader gave it */
    char loader[64];
    uint64_t info_start, info_end;          /* the info structure itself, to keep out of the allocator */
    uint64_t rsdp_copy_phys;                /* multiboot2 ACPI tag: where the RSDP copy lies (0: none) */
};

/*
 * Physical memory as the parser sees it: map(ctx, pa, len) returns a pointer to len readable bytes
 * at physical address pa, or NULL when that range is not readable (the parser then rejects the item).
 */
struct phys_view {
    const void *(*map)(void *ctx, uint64_t pa, size_t len);
    void *ctx;
};

/*
 * Parse multiboot1 (magic MB1_BOOT_MAGIC) or multiboot2 (MB2_BOOT_MAGIC) information at info_pa into bi.
 * Truncated or malformed parts are skipped with a warning; returns 0, or -EINVAL when the magic is
 * unknown or the block is unreadable, or -ENOENT when no memory map was found at all.
 */
int bootinfo_parse(uint32_t magic, uint64_t info_pa, const struct phys_view *pv, struct boot_info *bi);

/*
 * Add a range to an unsorted list (used by the parsers). Zero-length ranges are dropped; returns
 * -ENOSPC when the list is full.
 */
int memmap_add(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type);

/*
 * Sort the map and resolve overlaps: where ranges overlap, the more restrictive type wins
 * (anything not AVAILABLE beats AVAILABLE); adjacent ranges of one type are merged.
 */
void memmap_normalise(struct boot_info *bi);

/* Sum of the AVAILABLE ranges, in bytes. */
uint64_t memmap_total_available(const struct boot_info *bi);
#endif

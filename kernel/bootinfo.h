/* What the boot loader told us, normalised: firmware, memory map and its source, command line, modules, ACPI. */
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

/* How shoal was started: the firmware (UEFI when the multiboot2 info carries an EFI tag). */
enum boot_firmware { BOOT_FW_BIOS = 0, BOOT_FW_UEFI = 1 };

/* Where the memory map came from. */
enum boot_mmap_source {
    MMAP_NONE = 0,
    MMAP_MB1,          /* multiboot1 memory map (the BIOS's E820 map, as the loader passed it) */
    MMAP_MB1_BASIC,    /* multiboot1 mem_lower/mem_upper only */
    MMAP_MB2,          /* multiboot2 memory map tag (6): E820, or the loader's translation of EFI's map */
    MMAP_MB2_BASIC,    /* multiboot2 basic meminfo tag (4) only */
    MMAP_EFI,          /* multiboot2 EFI memory map tag (17): the firmware's own descriptors */
};

/* Where the RSDP the loader points at came from (acpi_init may still fall back to a BIOS-area scan). */
enum boot_rsdp_source { RSDP_NONE = 0, RSDP_TAG_V1, RSDP_TAG_V2, RSDP_EFI_TABLE };

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
    uint64_t rsdp_phys;                     /* RSDP the loader gave (a tag's copy or EFI's table), 0: none */
    int rsdp_source;                        /* enum boot_rsdp_source */
    int firmware;                           /* enum boot_firmware */
    int firmware_assumed;                   /* 1: the protocol does not say (multiboot1): BIOS assumed */
    int mmap_source;                        /* enum boot_mmap_source */
    int mmap_entries;                       /* entries (EFI: descriptors) in the map the loader gave */
    uint64_t efi_systab;                    /* EFI system table (multiboot2 tag 11 or 12), 0: none */
    int efi_64bit;                          /* efi_systab is a 64-bit table (tag 12) */
    int efi_boot_services;                  /* tag 18: the loader left EFI boot services running */
};

/* "EFI memory map (multiboot2 tag 17)" and so on: where the memory map came from, for `info`. */
const char *bootinfo_mmap_source_name(int source);

/* "multiboot2 ACPI 2.0 tag" and so on: where the loader's RSDP came from, for `info`. */
const char *bootinfo_rsdp_source_name(int source);

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
 * Multiboot2: an EFI tag (11, 12, 17-20) means UEFI; the EFI memory map (17) is preferred to the
 * memory map tag (6), which is used when 17 is absent or unusable, then basic meminfo (4); the ACPI 2.0
 * tag (15) to the 1.0 tag (14); without either, under UEFI, the RSDP is looked up in the EFI system
 * table's configuration table (read through pv, every pointer and count checked).
 */
int bootinfo_parse(uint32_t magic, uint64_t info_pa, const struct phys_view *pv, struct boot_info *bi);

/*
 * Add a range to an unsorted list (used by the parsers). Zero-length ranges are dropped; a range that
 * continues the last one added with the same type extends it; returns -ENOSPC when the list is full.
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

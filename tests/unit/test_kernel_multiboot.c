/* Unit tests: multiboot1/2 parsing on crafted info blocks, and memory map normalisation. */
#define TEST_SUITE "multiboot"
#include "tests/unit/test.h"
#include "kernel/bootinfo.h"
#include "kernel/errno.h"
#include <stdlib.h>

#define PHYS_BASE 0x10000u
#define PHYS_SIZE 0x10000u
static uint8_t phys[PHYS_SIZE];
static struct boot_info bi;

static const void *fake_map(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    if (pa < PHYS_BASE || pa + len > PHYS_BASE + PHYS_SIZE || pa + len < pa)
        return NULL;
    return phys + (pa - PHYS_BASE);
}
static const struct phys_view pv = { fake_map, NULL };

static void put32(uint32_t pa, uint32_t v) { memcpy(phys + pa - PHYS_BASE, &v, 4); }
static void put64(uint32_t pa, uint64_t v) { memcpy(phys + pa - PHYS_BASE, &v, 8); }
static void putstr(uint32_t pa, const char *s) { memcpy(phys + pa - PHYS_BASE, s, strlen(s) + 1); }

/* mb1 info at 0x10000, mmap at 0x11000, modules at 0x12000, strings at 0x13000. */
static void mb1_entry(uint32_t at, uint64_t base, uint64_t len, uint32_t type)
{
    put32(at, 20);
    put64(at + 4, base);
    put64(at + 12, len);
    put32(at + 20, type);
}

static void build_mb1(uint32_t mmap_len)
{
    memset(phys, 0, sizeof(phys));
    put32(0x10000, (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
    put32(0x10000 + 16, 0x13000);               /* cmdline */
    putstr(0x13000, "build/shoal.elf loglevel=3");
    put32(0x10000 + 20, 1);                     /* mods_count */
    put32(0x10000 + 24, 0x12000);
    put32(0x12000, 0x200000);
    put32(0x12004, 0x280000);
    put32(0x12008, 0x13100);
    putstr(0x13100, "guest.bin arg");
    put32(0x10000 + 44, mmap_len);
    put32(0x10000 + 48, 0x11000);
    putstr(0x13200, "qemu");
    put32(0x10000 + 64, 0x13200);
    mb1_entry(0x11000, 0, 0x9fc00, MEM_AVAILABLE);
    mb1_entry(0x11018, 0x100000, 0x1ff00000, MEM_AVAILABLE);
    mb1_entry(0x11030, 0x9fc00, 0x400, MEM_RESERVED);
}

TEST(mb1_complete)
{
    build_mb1(3 * 24);
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.protocol, 1);
    CHECK_STR(bi.cmdline, "build/shoal.elf loglevel=3");
    CHECK_STR(bi.loader, "qemu");
    CHECK_EQ(bi.nmod, 1);
    CHECK_U64(bi.mod[0].start, 0x200000);
    CHECK_U64(bi.mod[0].end, 0x280000);
    CHECK_STR(bi.mod[0].name, "guest.bin arg");
    CHECK_EQ(bi.nmem, 3);
    CHECK_U64(bi.mem[1].base, 0x9fc00);
    CHECK_EQ(bi.mem[1].type, MEM_RESERVED);
    CHECK_U64(memmap_total_available(&bi), 0x9fc00 + 0x1ff00000);
}

TEST(mb1_truncated_and_zero_size_entries)
{
    build_mb1(3 * 24 - 4);                     /* last entry cut short */
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.nmem, 2);
    build_mb1(3 * 24);
    put32(0x11018, 0);                         /* zero-size entry: must stop, not loop */
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.nmem, 1);
    build_mb1(3 * 24);
    put32(0x10000 + 48, 0xfff00000);           /* mmap pointer outside readable memory */
    put32(0x10000, 1 << 6);
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), -ENOENT);
}

TEST(mb1_bad_module_and_magic)
{
    build_mb1(3 * 24);
    put32(0x12004, 0x100000);                  /* end before start */
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.nmod, 0);
    CHECK_EQ(bootinfo_parse(0x12345678, 0x10000, &pv, &bi), -EINVAL);
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0xffff0000, &pv, &bi), -EINVAL);
}

TEST(mb1_meminfo_fallback)
{
    memset(phys, 0, sizeof(phys));
    put32(0x10000, 1 << 0);
    put32(0x10004, 639);
    put32(0x10008, 511 * 1024);
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_U64(memmap_total_available(&bi), 639ull * 1024 + 511ull * 1024 * 1024);
}

/* mb2: tags from 0x10008 on. */
static uint32_t tag_at;
static void mb2_begin(void) { memset(phys, 0, sizeof(phys)); tag_at = 0x10008; }
static uint32_t mb2_tag(uint32_t type, uint32_t size)
{
    uint32_t at = tag_at;
    put32(at, type);
    put32(at + 4, size);
    tag_at += (size + 7) & ~7u;
    return at;
}
static void mb2_end(void)
{
    mb2_tag(0, 8);
    put32(0x10000, tag_at - 0x10000);
}

static void mb2_standard(void)
{
    uint32_t t;
    mb2_begin();
    t = mb2_tag(1, 8 + 20);
    putstr(t + 8, "console=ttyS0 x=1");
    t = mb2_tag(2, 8 + 13);
    putstr(t + 8, "GRUB 2.06-13");
    t = mb2_tag(3, 16 + 9);
    put32(t + 8, 0x300000);
    put32(t + 12, 0x301000);
    putstr(t + 16, "disk.img");
    t = mb2_tag(6, 16 + 3 * 24);
    put32(t + 8, 24);
    put32(t + 12, 0);
    /* unsorted and overlapping: the reserved hole must win over the available range */
    put64(t + 16, 0x100000); put64(t + 24, 0x7ff00000); put32(t + 32, 1);
    put64(t + 40, 0); put64(t + 48, 0x9f000); put32(t + 56, 1);
    put64(t + 64, 0x7ffe0000); put64(t + 72, 0x40000); put32(t + 80, 2);
    mb2_end();
}

TEST(mb2_complete_sorted_overlap_resolved)
{
    mb2_standard();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.protocol, 2);
    CHECK_STR(bi.cmdline, "console=ttyS0 x=1");
    CHECK_STR(bi.loader, "GRUB 2.06-13");
    CHECK_EQ(bi.nmod, 1);
    CHECK_STR(bi.mod[0].name, "disk.img");
    CHECK_EQ(bi.nmem, 3);
    CHECK_U64(bi.mem[0].base, 0);
    CHECK_U64(bi.mem[1].base, 0x100000);
    CHECK_U64(bi.mem[1].len, 0x7fee0000);       /* cut where the reserved range begins */
    CHECK_U64(bi.mem[2].base, 0x7ffe0000);
    CHECK_U64(bi.mem[2].len, 0x40000);          /* reserved pieces inside and past RAM merged */
    CHECK_EQ(bi.mem[2].type, MEM_RESERVED);
    CHECK_U64(bi.info_end - bi.info_start, tag_at - 0x10000);
}

TEST(mb2_truncated_tag)
{
    uint32_t t;
    mb2_begin();
    t = mb2_tag(6, 16 + 24);
    put32(t + 8, 24);
    put64(t + 16, 0x100000); put64(t + 24, 0x100000); put32(t + 32, 1);
    t = mb2_tag(1, 8 + 4);
    put32(t + 4, 4000);                         /* tag claims more than the block holds */
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.nmem, 1);
    CHECK_STR(bi.cmdline, "");
}

TEST(mb2_zero_length_tag_and_bad_entry_size)
{
    uint32_t t;
    mb2_begin();
    t = mb2_tag(6, 16 + 24);
    put32(t + 8, 0);                            /* entry size 0: map ignored, no endless loop */
    t = mb2_tag(5, 0);                          /* zero-length tag: parsing stops */
    tag_at = t + 8;
    mb2_end();
    put32(t + 4, 0);
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), -ENOENT);
}

TEST(mb2_implausible_total)
{
    mb2_standard();
    put32(0x10000, 4);
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), -EINVAL);
    put32(0x10000, 0x7fffffff);
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), -EINVAL);
}

TEST(normalise_merges_and_splits)
{
    memset(&bi, 0, sizeof(bi));
    memmap_add(&bi, 0x3000, 0x1000, MEM_AVAILABLE);
    memmap_add(&bi, 0x1000, 0x2000, MEM_AVAILABLE);    /* adjacent: merged */
    memmap_add(&bi, 0x8000, 0x8000, MEM_AVAILABLE);
    memmap_add(&bi, 0x9000, 0x1000, MEM_ACPI_NVS);     /* inside: splits */
    memmap_add(&bi, 0x20000, 0, MEM_AVAILABLE);        /* zero length: dropped */
    memmap_add(&bi, 0xfffffffffffff000ull, 0x2000, MEM_RESERVED);  /* wraps: clamped */
    memmap_normalise(&bi);
    CHECK_EQ(bi.nmem, 5);
    CHECK_U64(bi.mem[0].base, 0x1000);
    CHECK_U64(bi.mem[0].len, 0x3000);
    CHECK_U64(bi.mem[1].len, 0x1000);
    CHECK_EQ(bi.mem[2].type, MEM_ACPI_NVS);
    CHECK_U64(bi.mem[3].base, 0xa000);
    CHECK_U64(bi.mem[3].len, 0x6000);
    CHECK_U64(bi.mem[4].base + bi.mem[4].len, UINT64_MAX);
}

/* ---- UEFI: EFI tags, the EFI memory map, ACPI tags and EFI's configuration table ---- */

#define EFI_DSIZE 48                            /* OVMF's descriptor size (the struct is 40) */
static uint32_t efi_at;
static uint32_t efi_mmap_begin(uint32_t ndesc)
{
    uint32_t t = mb2_tag(17, 16 + ndesc * EFI_DSIZE);
    put32(t + 8, EFI_DSIZE);
    put32(t + 12, 1);
    efi_at = t + 16;
    return t;
}
static void efi_desc(uint32_t type, uint64_t base, uint64_t pages, uint64_t attr)
{
    put32(efi_at, type);
    put64(efi_at + 8, base);
    put64(efi_at + 16, 0);
    put64(efi_at + 24, pages);
    put64(efi_at + 32, attr);
    efi_at += EFI_DSIZE;
}
#define WB (1ull << 3)

/* A map as OVMF hands it over: RAM split by use, firmware ranges in between, MMIO on top. */
static void mb2_uefi(int with_bs_tag, int with_old_mmap)
{
    uint32_t t;
    mb2_begin();
    t = mb2_tag(2, 8 + 13);
    putstr(t + 8, "GRUB 2.06-13");
    if (with_old_mmap) {                        /* GRUB's translation: must lose to tag 17 */
        t = mb2_tag(6, 16 + 24);
        put32(t + 8, 24);
        put64(t + 16, 0); put64(t + 24, 0x1000000); put32(t + 32, 1);
    }
    t = mb2_tag(12, 16);
    put64(t + 8, 0x14000);
    efi_mmap_begin(9);
    efi_desc(7, 0, 0xa0, WB);                   /* conventional, 640 KiB */
    efi_desc(2, 0x100000, 0x100, WB);           /* loader data (shoal, GRUB's leftovers) */
    efi_desc(4, 0x200000, 0x100, WB);           /* boot services data */
    efi_desc(3, 0x300000, 0x100, WB);           /* boot services code */
    efi_desc(6, 0x400000, 0x10, WB | (1ull << 63));   /* runtime services data */
    efi_desc(9, 0x410000, 0x10, WB);            /* ACPI reclaim */
    efi_desc(10, 0x420000, 0x10, WB);           /* ACPI NVS */
    efi_desc(7, 0x430000, 0x10, 0);             /* conventional but not write-back: not RAM */
    efi_desc(11, 0xffc00000, 0x400, 0);         /* MMIO (flash) */
    if (with_bs_tag)
        mb2_tag(18, 8);
    mb2_end();
}

TEST(efi_mmap_preferred_and_converted)
{
    mb2_uefi(0, 1);
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.firmware, BOOT_FW_UEFI);
    CHECK_EQ(bi.firmware_assumed, 0);
    CHECK_EQ(bi.mmap_source, MMAP_EFI);
    CHECK_EQ(bi.mmap_entries, 9);
    CHECK_U64(bi.efi_systab, 0x14000);
    CHECK_EQ(bi.efi_64bit, 1);
    CHECK_STR(bootinfo_mmap_source_name(bi.mmap_source), "EFI memory map (multiboot2 tag 17)");
    /* available: 640 KiB + loader data + both boot services ranges (merged: 3 MiB from 1 MiB) */
    CHECK_U64(memmap_total_available(&bi), 0xa0000 + 0x300000);
    CHECK_EQ(bi.nmem, 7);
    CHECK_U64(bi.mem[1].base, 0x100000);
    CHECK_U64(bi.mem[1].len, 0x300000);
    CHECK_EQ(bi.mem[2].type, MEM_RESERVED);     /* runtime data */
    CHECK_EQ(bi.mem[3].type, MEM_ACPI_RECLAIM);
    CHECK_EQ(bi.mem[4].type, MEM_ACPI_NVS);
    CHECK_EQ(bi.mem[5].type, MEM_RESERVED);     /* uncached "conventional" */
    CHECK_U64(bi.mem[6].base, 0xffc00000);
}

TEST(efi_boot_services_left_running_are_reserved)
{
    mb2_uefi(1, 0);                             /* tag 18 comes after tag 17: still honoured */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.efi_boot_services, 1);
    CHECK_U64(memmap_total_available(&bi), 0xa0000 + 0x100000);
}

TEST(efi_mmap_bad_descriptor_size_falls_back)
{
    mb2_uefi(0, 1);
    for (uint32_t t = 0x10008; t < tag_at; t += 8)
        if (phys[t - PHYS_BASE] == 17) {
            put32(t + 8, 36);                   /* smaller than a descriptor */
            break;
        }
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.firmware, BOOT_FW_UEFI);
    CHECK_EQ(bi.mmap_source, MMAP_MB2);
    CHECK_EQ(bi.mmap_entries, 1);
    CHECK_U64(memmap_total_available(&bi), 0x1000000);
}

TEST(efi_mmap_truncated_and_huge)
{
    uint32_t t;
    mb2_begin();
    t = efi_mmap_begin(2);
    efi_desc(7, 0x100000, 0x100, WB);
    efi_desc(7, 0xfffffffffff00000ull, 0xffffffffffffffffull, WB);   /* pages overflow: clamped */
    put32(t + 4, 16 + EFI_DSIZE + 20);          /* the second descriptor cut short: dropped */
    tag_at = t + ((16 + EFI_DSIZE + 20 + 7) & ~7u);
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.mmap_entries, 1);
    CHECK_U64(memmap_total_available(&bi), 0x100000);

    mb2_begin();
    efi_mmap_begin(1);
    efi_desc(7, 0xfffffffffff00000ull, 0xffffffffffffffffull, WB);
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_U64(bi.mem[0].base + bi.mem[0].len, UINT64_MAX);
}

/* 200 one-page descriptors from 1 MiB on, of type odd_type and conventional by turns; tag 6 after them
 * (2 MiB of RAM) when with_mmap. */
static void efi_many(uint32_t odd_type, int with_mmap)
{
    mb2_begin();
    efi_mmap_begin(200);
    for (int i = 0; i < 200; i++)
        efi_desc(i % 2 ? odd_type : 7, 0x100000 + 0x1000ull * i, 1, WB);
    if (with_mmap) {
        uint32_t t = mb2_tag(6, 16 + 24);
        put32(t + 8, 24);
        put64(t + 16, 0x100000); put64(t + 24, 0x200000); put32(t + 32, 1);
    }
    mb2_end();
}

TEST(efi_mmap_many_descriptors)
{
    efi_many(4, 0);                             /* all RAM once boot services are gone: one range */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.mmap_source, MMAP_EFI);
    CHECK_EQ(bi.mmap_entries, 200);
    CHECK_EQ(bi.nmem, 1);

    efi_many(6, 1);                             /* RAM and runtime data by turns: too many, tag 6 instead */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.mmap_source, MMAP_MB2);
    CHECK_U64(memmap_total_available(&bi), 0x200000);

    efi_many(6, 0);                             /* the same without tag 6: the EFI map, cut short */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.mmap_source, MMAP_EFI);
    CHECK_EQ(bi.mmap_entries, BOOT_MAX_RANGES);
    CHECK_U64(memmap_total_available(&bi), 0x1000ull * BOOT_MAX_RANGES / 2);
}

TEST(acpi_new_tag_preferred_over_old)
{
    uint32_t t, t_new;
    mb2_standard();
    tag_at -= 8;                                /* reopen before the end tag */
    t_new = mb2_tag(15, 8 + 36);
    t = mb2_tag(14, 8 + 20);
    (void)t;
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.firmware, BOOT_FW_BIOS);
    CHECK_EQ(bi.mmap_source, MMAP_MB2);
    CHECK_EQ(bi.rsdp_source, RSDP_TAG_V2);
    CHECK_U64(bi.rsdp_phys, t_new + 8);

    mb2_standard();
    tag_at -= 8;
    t = mb2_tag(15, 8 + 20);                    /* too short for an ACPI 2.0 RSDP: ignored */
    t = mb2_tag(14, 8 + 20);
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.rsdp_source, RSDP_TAG_V1);
    CHECK_U64(bi.rsdp_phys, t + 8);
}

/* EFI system table at 0x14000, its configuration table at 0x14100. */
static const uint8_t guid_acpi20[16] = { 0x71, 0xe8, 0x68, 0x88, 0xf1, 0xe4, 0xd3, 0x11,
                                         0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 };
static const uint8_t guid_acpi10[16] = { 0x30, 0x2d, 0x9d, 0xeb, 0x88, 0x2d, 0xd3, 0x11,
                                         0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d };
static void efi_systab(uint64_t n, uint64_t tables)
{
    put64(0x14000, 0x5453595320494249ull);
    put64(0x14000 + 104, n);
    put64(0x14000 + 112, tables);
}
static void efi_config(int i, const uint8_t *guid, uint64_t table)
{
    memcpy(phys + 0x14100 + 24 * i - PHYS_BASE, guid, 16);
    put64(0x14100 + 24 * i + 16, table);
}

TEST(efi_config_table_gives_rsdp_without_acpi_tags)
{
    static const uint8_t other[16] = { 1, 2, 3 };
    mb2_uefi(0, 0);
    efi_systab(3, 0x14100);
    efi_config(0, other, 0x1f000);
    efi_config(1, guid_acpi10, 0x1e000);
    efi_config(2, guid_acpi20, 0x1d000);
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.rsdp_source, RSDP_EFI_TABLE);
    CHECK_U64(bi.rsdp_phys, 0x1d000);           /* ACPI 2.0 wins over 1.0 whatever the order */

    efi_systab(2, 0x14100);                     /* only the first two: 1.0 */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_U64(bi.rsdp_phys, 0x1e000);

    efi_systab(1u << 30, 0x14100);              /* implausible count */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.rsdp_source, RSDP_NONE);
    CHECK_U64(bi.rsdp_phys, 0);

    efi_systab(3, 0x1fff0);                     /* table runs past readable memory */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_U64(bi.rsdp_phys, 0);

    efi_systab(3, 0x14100);
    put64(0x14000, 0x1234);                     /* not a system table */
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_U64(bi.rsdp_phys, 0);
}

TEST(bios_protocols_and_meminfo_fallback)
{
    build_mb1(3 * 24);
    CHECK_EQ(bootinfo_parse(MB1_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.firmware, BOOT_FW_BIOS);
    CHECK_EQ(bi.firmware_assumed, 1);
    CHECK_EQ(bi.mmap_source, MMAP_MB1);
    CHECK_EQ(bi.mmap_entries, 3);

    mb2_begin();
    {
        uint32_t t = mb2_tag(4, 16);
        put32(t + 8, 639);
        put32(t + 12, 127 * 1024);
    }
    mb2_end();
    CHECK_EQ(bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &pv, &bi), 0);
    CHECK_EQ(bi.firmware, BOOT_FW_BIOS);
    CHECK_EQ(bi.firmware_assumed, 0);
    CHECK_EQ(bi.mmap_source, MMAP_MB2_BASIC);
    CHECK_U64(memmap_total_available(&bi), 639ull * 1024 + 127ull * 1024 * 1024);
    CHECK_EQ(bi.rsdp_source, RSDP_NONE);
}

/* A view that hands out an exact-size heap copy of each range asked for, so ASan reports any read
 * past what the parser asked to see (the plain view's backing array would hide it). */
static void *strict_copies[4096];
static int nstrict;
static const void *strict_map(void *ctx, uint64_t pa, size_t len)
{
    const uint8_t *src = fake_map(ctx, pa, len);
    uint8_t *copy;
    if (!src || nstrict == (int)(sizeof(strict_copies) / sizeof(strict_copies[0])))
        return NULL;
    copy = malloc(len ? len : 1);
    memcpy(copy, src, len);
    strict_copies[nstrict++] = copy;
    return copy;
}
static const struct phys_view strict_pv = { strict_map, NULL };

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* UEFI-shaped info blocks with a few random bytes changed (lengths, counts, sizes, pointers): the
 * parser stays inside what it mapped and its map stays sorted, disjoint and within bounds. */
TEST(uefi_info_mutated_stays_in_bounds)
{
    static uint8_t pristine[PHYS_SIZE];
    uint32_t end;
    mb2_uefi(0, 1);
    end = tag_at;
    efi_systab(3, 0x14100);
    efi_config(0, guid_acpi10, 0x1e000);
    efi_config(1, guid_acpi20, 0x1d000);
    put32(0x10000, end - 0x10000);
    memcpy(pristine, phys, sizeof(phys));
    for (int round = 0; round < 20000; round++) {
        int rc;
        memcpy(phys, pristine, sizeof(phys));
        for (int k = 1 + next_rand() % 4; k > 0; k--) {
            uint32_t r = next_rand(), at;
            if (r & 1)                          /* a header field of the tags or the system table */
                at = (r >> 8) % 2 ? 0x10000 + ((r >> 9) % (end - 0x10000)) : 0x14000 + ((r >> 9) % 0x160);
            else
                at = 0x10000 + ((r >> 8) % (end - 0x10000));
            phys[at - PHYS_BASE] = (uint8_t)(next_rand() >> (r % 3 * 8));
        }
        nstrict = 0;
        rc = bootinfo_parse(MB2_BOOT_MAGIC, 0x10000, &strict_pv, &bi);
        for (int i = 0; i < nstrict; i++)
            free(strict_copies[i]);
        CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT);
        CHECK(bi.nmem >= 0 && bi.nmem <= BOOT_MAX_RANGES);
        for (int i = 1; i < bi.nmem; i++)
            CHECK(bi.mem[i].base >= bi.mem[i - 1].base + bi.mem[i - 1].len);
        for (int i = 0; i < bi.nmem; i++)
            CHECK(bi.mem[i].len && bi.mem[i].base + bi.mem[i].len >= bi.mem[i].base);
        CHECK(bi.rsdp_source != RSDP_NONE || bi.rsdp_phys == 0);
    }
}

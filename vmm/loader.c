/* Linux kernel loaders: bzImage setup-header checks and zero page (boot protocol), PVH ELF notes and start info. */
#include "vmm/loader.h"
#include "kernel/byteorder.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define MIB            (1ull << 20)
#define PAGE           4096ull

static int fail(const char **why, const char *msg, int err)
{
    *why = msg;
    return err;
}

/* boot.rst "Details of Header Fields": a protocol 2.12+ kernel with a 64-bit entry, loaded high. */
int bz_parse(const uint8_t *img, size_t len, struct bz_info *bz, const char **why)
{
    memset(bz, 0, sizeof(*bz));
    if (len < BP_HDR + 0x80)
        return fail(why, "too short for a setup header (truncated?)", -ENOTSUP);
    if (get_le16(img + BP_BOOT_FLAG) != 0xAA55 || memcmp(img + BP_HEADER, "HdrS", 4))
        return fail(why, "not a bzImage (no 0xAA55 boot flag or HdrS magic)", -ENOTSUP);
    bz->version = get_le16(img + BP_VERSION);
    if (bz->version < 0x020C)
        return fail(why, "boot protocol older than 2.12", -ENOTSUP);
    if (!(get_le16(img + BP_XLOADFLAGS) & XLF_KERNEL_64))
        return fail(why, "kernel has no 64-bit entry point (XLF_KERNEL_64)", -ENOTSUP);
    if (!(img[BP_LOADFLAGS] & LOADED_HIGH))
        return fail(why, "kernel is not loaded high (zImage)", -ENOTSUP);
    bz->setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
    bz->relocatable = img[BP_RELOCATABLE];
    bz->kernel_alignment = get_le32(img + BP_KERNEL_ALIGN);
    bz->pref_address = get_le64(img + BP_PREF_ADDRESS);
    bz->init_size = get_le32(img + BP_INIT_SIZE);
    bz->cmdline_size = get_le32(img + BP_CMDLINE_SIZE);
    bz->initrd_addr_max = get_le32(img + BP_INITRD_MAX);
    bz->hdr_end = 0x202 + img[0x201];
    bz->pm_offset = ((size_t)bz->setup_sects + 1) * 512;
    if (bz->hdr_end > bz->pm_offset || bz->hdr_end > BP_SIZE)
        return fail(why, "setup header longer than the setup code", -EINVAL);
    if (bz->pm_offset >= len)
        return fail(why, "image ends inside the setup code (truncated)", -EINVAL);
    bz->pm_size = len - bz->pm_offset;
    /* syssize (0x1F4) counts 16-byte paragraphs of the protected-mode part: a shorter file is truncated. */
    if ((uint64_t)get_le32(img + 0x1F4) * 16 > bz->pm_size)
        return fail(why, "image shorter than its header's syssize (truncated)", -EINVAL);
    if (bz->kernel_alignment & (bz->kernel_alignment - 1))
        return fail(why, "kernel_alignment is not a power of two", -EINVAL);
    if (bz->init_size < bz->pm_size)
        bz->init_size = (uint32_t)bz->pm_size;
    return 0;
}

int bz_load_address(const struct bz_info *bz, uint64_t ram, uint64_t *addr)
{
    uint64_t a = bz->pref_address ? bz->pref_address : MIB, align = bz->kernel_alignment;
    if (a + bz->init_size <= ram && a + bz->init_size > a) {
        *addr = a;
        return 0;
    }
    if (!bz->relocatable || !align)
        return -ENOMEM;
    a = (MIB + align - 1) & ~(align - 1);
    if (a + bz->init_size > ram)
        return -ENOMEM;
    *addr = a;
    return 0;
}

int initrd_place(uint64_t size, uint64_t limit, uint64_t kernel_lo, uint64_t kernel_hi, uint64_t *addr)
{
    uint64_t a;
    if (!size || size > limit)
        return -ENOMEM;
    a = (limit - size) & ~(PAGE - 1);
    if (a < kernel_hi && a + size > kernel_lo)
        return -ENOMEM;                 /* would overlap the kernel's decompression area */
    *addr = a;
    return 0;
}

int bz_build_params(uint8_t *bp, const uint8_t *img, const struct bz_info *bz, uint64_t cmdline_gpa,
                    uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp_gpa,
                    const struct e820_entry *e820, int n)
{
    if (n < 0 || n > BP_E820_MAX)
        return -EINVAL;
    memset(bp, 0, BP_SIZE);
    memcpy(bp + BP_HDR, img + BP_HDR, bz->hdr_end - BP_HDR);
    bp[BP_TYPE_OF_LOADER] = 0xFF;                       /* undefined loader */
    bp[BP_LOADFLAGS] |= CAN_USE_HEAP;
    put_le16(bp + BP_HEAP_END, 0xFE00);                 /* setup's heap: unused by the 64-bit entry */
    put_le32(bp + BP_CMD_LINE_PTR, (uint32_t)cmdline_gpa);
    put_le32(bp + BP_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
    put_le32(bp + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
    if (bz->version >= 0x020E)
        put_le64(bp + BP_ACPI_RSDP, rsdp_gpa);          /* boot protocol 2.14 */
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * 20;
        put_le64(e, e820[i].addr);
        put_le64(e + 8, e820[i].size);
        put_le32(e + 16, e820[i].type);
    }
    return 0;
}

int pvh_is_elf(const uint8_t *img, size_t len)
{
    return len >= 4 && img[0] == 0x7F && img[1] == 'E' && img[2] == 'L' && img[3] == 'F';
}

/* Walk one PT_NOTE segment for the Xen PHYS32_ENTRY note (ELF gABI "Note Section"). */
static int pvh_find_note(const uint8_t *p, uint64_t len, uint32_t *entry)
{
    uint64_t off = 0;
    while (off + 12 <= len) {
        uint32_t namesz = get_le32(p + off), descsz = get_le32(p + off + 4), type = get_le32(p + off + 8);
        uint64_t name = off + 12, desc = name + ((namesz + 3ull) & ~3ull);
        if (desc + descsz > len)
            return -EINVAL;
        if (type == PVH_NOTE_PHYS32_ENTRY && namesz == 4 && !memcmp(p + name, "Xen", 4) && descsz >= 4) {
            *entry = get_le32(p + desc);
            return 0;
        }
        off = desc + ((descsz + 3ull) & ~3ull);
    }
    return -ENOENT;
}

/* One program header, either class (ELF gABI "Program Header"): ELF32 fields are 4 bytes, in another order. */
static struct pvh_seg ph_seg(const uint8_t *ph, int is64)
{
    if (is64)
        return (struct pvh_seg){ get_le64(ph + 8), get_le64(ph + 24), get_le64(ph + 32), get_le64(ph + 40) };
    return (struct pvh_seg){ get_le32(ph + 4), get_le32(ph + 12), get_le32(ph + 16), get_le32(ph + 20) };
}

static int pvh_add_seg(struct pvh_info *pi, struct pvh_seg s, size_t len, const char **why)
{
    if (s.offset > len || s.filesz > len - s.offset)
        return fail(why, "a PT_LOAD segment lies beyond the file's end (truncated)", -EINVAL);
    if (s.filesz > s.memsz || s.paddr + s.memsz < s.paddr || s.paddr + s.memsz > (1ull << 32))
        return fail(why, "a PT_LOAD segment has bad sizes or lies above 4 GiB", -EINVAL);
    if (pi->nseg == PVH_MAX_SEGS)
        return fail(why, "too many PT_LOAD segments", -EINVAL);
    pi->seg[pi->nseg++] = s;
    if (pi->nseg == 1 || s.paddr < pi->lowest)
        pi->lowest = s.paddr;
    if (s.paddr + s.memsz > pi->highest)
        pi->highest = s.paddr + s.memsz;
    return 0;
}

/*
 * The ELF header's class: 1 for ELF64 x86-64, 0 for ELF32 i386 (Xen's PVH ABI enters both the same way,
 * in 32-bit protected mode), -1 for anything else. Sets the program header table's place and shape.
 */
static int elf_class(const uint8_t *img, size_t len, uint64_t *phoff, uint16_t *phentsize, uint16_t *phnum)
{
    if (!pvh_is_elf(img, len) || img[5] != 1)
        return -1;
    if (len >= 64 && img[4] == 2 && get_le16(img + 18) == 62) {
        *phoff = get_le64(img + 32);
        *phentsize = get_le16(img + 54);
        *phnum = get_le16(img + 56);
        return *phentsize >= 56 ? 1 : -1;
    }
    if (len >= 52 && img[4] == 1 && get_le16(img + 18) == 3) {
        *phoff = get_le32(img + 28);
        *phentsize = get_le16(img + 42);
        *phnum = get_le16(img + 44);
        return *phentsize >= 32 ? 0 : -1;
    }
    return -1;
}

int pvh_parse(const uint8_t *img, size_t len, struct pvh_info *pi, const char **why)
{
    uint64_t phoff = 0;
    uint16_t phentsize = 0, phnum = 0;
    int found = 0, err, is64;

    memset(pi, 0, sizeof(*pi));
    if ((is64 = elf_class(img, len, &phoff, &phentsize, &phnum)) < 0)
        return fail(why, "not an ELF32 i386 or ELF64 x86-64 image", -ENOTSUP);
    if (phoff > len || (uint64_t)phnum * phentsize > len - phoff)
        return fail(why, "program headers beyond the file's end (truncated)", -EINVAL);
    for (uint16_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        uint32_t type = get_le32(ph);
        struct pvh_seg s = ph_seg(ph, is64);
        if (type == 1 && (err = pvh_add_seg(pi, s, len, why)))
            return err;
        if (type == 4 && s.offset <= len && s.filesz <= len - s.offset &&
            !pvh_find_note(img + s.offset, s.filesz, &pi->entry))
            found = 1;
    }
    if (!pi->nseg)
        return fail(why, "ELF has no PT_LOAD segment", -ENOTSUP);
    if (!found)
        return fail(why, "ELF has no XEN_ELFNOTE_PHYS32_ENTRY note (kernel without PVH)", -ENOTSUP);
    return 0;
}

/* struct hvm_start_info v1 at 0, one hvm_modlist_entry at 64, hvm_memmap_table_entry[] at 128. */
int pvh_build_start_info(uint8_t *buf, uint64_t gpa, uint64_t cmdline_gpa, uint64_t initrd_gpa,
                         uint64_t initrd_size, uint64_t rsdp_gpa, const struct e820_entry *e820, int n)
{
    if (n < 0 || 128 + n * 24 > PVH_INFO_SIZE)
        return -EINVAL;
    memset(buf, 0, PVH_INFO_SIZE);
    put_le32(buf, PVH_START_MAGIC);
    put_le32(buf + 4, 1);
    put_le32(buf + 12, initrd_size ? 1 : 0);
    put_le64(buf + 16, initrd_size ? gpa + 64 : 0);
    put_le64(buf + 24, cmdline_gpa);
    put_le64(buf + 32, rsdp_gpa);
    put_le64(buf + 40, gpa + 128);
    put_le32(buf + 48, (uint32_t)n);
    put_le64(buf + 64, initrd_gpa);
    put_le64(buf + 72, initrd_size);
    for (int i = 0; i < n; i++) {
        put_le64(buf + 128 + i * 24, e820[i].addr);
        put_le64(buf + 136 + i * 24, e820[i].size);
        put_le32(buf + 144 + i * 24, e820[i].type);
    }
    return 0;
}

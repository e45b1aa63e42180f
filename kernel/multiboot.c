/* Multiboot1 and multiboot2 information parsers (EFI tags included): copy what shoal needs into struct boot_info. */
#include "kernel/bootinfo.h"
#include "kernel/byteorder.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define MB1_INFO_SIZE   116
#define MB2_INFO_MAX    (1u << 20)

enum { MB1_MEM = 1 << 0, MB1_CMDLINE = 1 << 2, MB1_MODS = 1 << 3, MB1_MMAP = 1 << 6, MB1_LOADER = 1 << 9 };
enum { MB2_END = 0, MB2_CMDLINE = 1, MB2_LOADER = 2, MB2_MODULE = 3, MB2_MEMINFO = 4, MB2_MMAP = 6,
       MB2_EFI32 = 11, MB2_EFI64 = 12, MB2_ACPI_OLD = 14, MB2_ACPI_NEW = 15, MB2_EFI_MMAP = 17,
       MB2_EFI_BS = 18, MB2_EFI32_IH = 19, MB2_EFI64_IH = 20 };

/* Tags whose use waits for the whole walk (which one wins depends on what else is there). */
struct mb2_found {
    const void *mmap, *efi_mmap, *meminfo;
    uint32_t mmap_size, efi_mmap_size;
    uint64_t acpi_old, acpi_new;          /* physical address of the RSDP copy in the tag, 0: none */
};

static const void *view(const struct phys_view *pv, uint64_t pa, size_t len)
{
    if (pa + len < pa)
        return NULL;
    return pv->map(pv->ctx, pa, len);
}

/* The little-endian field at byte off of a loader structure. */
static uint32_t rd32(const void *p, size_t off) { return get_le32((const uint8_t *)p + off); }
static uint64_t rd64(const void *p, size_t off) { return get_le64((const uint8_t *)p + off); }

/* Copy a NUL-terminated string at physical pa; unreadable bytes end it. */
static void read_string(const struct phys_view *pv, uint64_t pa, char *buf, size_t size)
{
    size_t i = 0;
    for (; i + 1 < size; i++) {
        const char *c = view(pv, pa + i, 1);
        if (!c || !*c)
            break;
        buf[i] = *c;
    }
    buf[i] = 0;
}

static void add_module(struct boot_info *bi, uint64_t start, uint64_t end, const char *name)
{
    if (end <= start) {
        log_warn("multiboot: module '%s' with empty or inverted range ignored", name);
        return;
    }
    if (bi->nmod == BOOT_MAX_MODULES) {
        log_warn("multiboot: more than %d modules, '%s' ignored", BOOT_MAX_MODULES, name);
        return;
    }
    bi->mod[bi->nmod].start = start;
    bi->mod[bi->nmod].end = end;
    kstrlcpy(bi->mod[bi->nmod].name, name, sizeof(bi->mod[0].name));
    bi->nmod++;
}

static void mb1_mmap(struct boot_info *bi, const struct phys_view *pv, uint64_t addr, uint32_t length)
{
    for (uint64_t off = 0; off + 4 <= length;) {
        const void *e = view(pv, addr + off, 4);
        uint32_t size = e ? rd32(e, 0) : 0;
        if (size < 20 || off + 4 + size > length || !(e = view(pv, addr + off, 4 + size))) {
            log_warn("multiboot1: malformed memory map entry at +%u: map cut short", (unsigned)off);
            return;
        }
        if (memmap_add(bi, rd64(e, 4), rd64(e, 12), rd32(e, 20)) < 0)
            return;
        bi->mmap_entries++;
        off += 4 + (uint64_t)size;
    }
}

static void mb1_modules(struct boot_info *bi, const struct phys_view *pv, uint64_t addr, uint32_t count)
{
    char name[64];
    for (uint32_t i = 0; i < count && i < 64; i++) {
        const void *m = view(pv, addr + 16ull * i, 16);
        if (!m) {
            log_warn("multiboot1: module list unreadable");
            return;
        }
        read_string(pv, rd32(m, 8), name, sizeof(name));
        add_module(bi, rd32(m, 0), rd32(m, 4), name);
    }
}

static int mb1_parse(uint64_t pa, const struct phys_view *pv, struct boot_info *bi)
{
    const void *mbi = view(pv, pa, MB1_INFO_SIZE);
    uint32_t flags;

    if (!mbi)
        return -EINVAL;
    bi->protocol = 1;
    bi->info_start = pa;
    bi->info_end = pa + MB1_INFO_SIZE;
    flags = rd32(mbi, 0);
    if (flags & MB1_CMDLINE)
        read_string(pv, rd32(mbi, 16), bi->cmdline, sizeof(bi->cmdline));
    if (flags & MB1_LOADER)
        read_string(pv, rd32(mbi, 64), bi->loader, sizeof(bi->loader));
    if (flags & MB1_MODS)
        mb1_modules(bi, pv, rd32(mbi, 24), rd32(mbi, 20));
    bi->firmware_assumed = 1;                  /* multiboot1 does not say: BIOS */
    if (flags & MB1_MMAP) {
        mb1_mmap(bi, pv, rd32(mbi, 48), rd32(mbi, 44));
        if (bi->nmem)
            bi->mmap_source = MMAP_MB1;
    }
    if (!bi->nmem && (flags & MB1_MEM)) {
        memmap_add(bi, 0, (uint64_t)rd32(mbi, 4) << 10, MEM_AVAILABLE);
        memmap_add(bi, 1 << 20, (uint64_t)rd32(mbi, 8) << 10, MEM_AVAILABLE);
        bi->mmap_source = MMAP_MB1_BASIC;
    }
    return 0;
}

static void mb2_copy_string(const void *tag, uint32_t size, size_t off, char *buf, size_t bufsize)
{
    size_t n = size > off ? size - off : 0;
    if (n >= bufsize)
        n = bufsize - 1;
    memcpy(buf, (const char *)tag + off, n);
    buf[n] = 0;
    buf[strnlen(buf, n)] = 0;
}

/* Multiboot2 memory map tag (6): entries of entry_size bytes (base, length, type). */
static int mb2_mmap(struct boot_info *bi, const void *tag, uint32_t size)
{
    uint32_t esize = size >= 16 ? rd32(tag, 8) : 0;
    if (esize < 24 || esize % 8) {
        log_warn("multiboot2: memory map entry size %u invalid: map ignored", esize);
        return -EINVAL;
    }
    for (uint64_t off = 16; off + esize <= size; off += esize) {
        if (memmap_add(bi, rd64(tag, off), rd64(tag, off + 8), rd32(tag, off + 16)) < 0)
            return -ENOSPC;
        bi->mmap_entries++;
    }
    return 0;
}

/* UEFI 2.10 7.2: memory types and the attribute bits that matter to an OS after ExitBootServices. */
enum { EFI_LOADER_CODE = 1, EFI_LOADER_DATA = 2, EFI_BS_CODE = 3, EFI_BS_DATA = 4, EFI_CONVENTIONAL = 7,
       EFI_UNUSABLE = 8, EFI_ACPI_RECLAIM = 9, EFI_ACPI_NVS = 10 };
#define EFI_MEMORY_WB       (1ull << 3)
#define EFI_MEMORY_SP       (1ull << 18)   /* specific purpose: kept for a driver, never general RAM */
#define EFI_MEMORY_RUNTIME  (1ull << 63)
#define EFI_DESC_MIN        40             /* type, pad, physical, virtual, pages, attribute */
#define EFI_DESC_MAX        4096

/* An EFI descriptor's type as a memory map type. Boot services memory is free once the loader exited
 * them (it is reserved when tag 18 says it did not); RAM must be write-back cacheable to be used. */
static uint32_t efi_mem_type(uint32_t type, uint64_t attr, int boot_services)
{
    int ram = (attr & EFI_MEMORY_WB) && !(attr & (EFI_MEMORY_SP | EFI_MEMORY_RUNTIME));
    switch (type) {
    case EFI_LOADER_CODE: case EFI_LOADER_DATA: case EFI_CONVENTIONAL:
        return ram ? MEM_AVAILABLE : MEM_RESERVED;
    case EFI_BS_CODE: case EFI_BS_DATA:
        return ram && !boot_services ? MEM_AVAILABLE : MEM_RESERVED;
    case EFI_UNUSABLE: return MEM_BAD;
    case EFI_ACPI_RECLAIM: return MEM_ACPI_RECLAIM;
    case EFI_ACPI_NVS: return MEM_ACPI_NVS;
    default: return MEM_RESERVED;   /* reserved, runtime services, MMIO, PAL, persistent, unaccepted, ... */
    }
}

/* Multiboot2 EFI memory map tag (17): descriptor size and version, then the firmware's descriptors. */
static int mb2_efi_mmap(struct boot_info *bi, const void *tag, uint32_t size)
{
    uint32_t dsize = size >= 16 ? rd32(tag, 8) : 0;
    if (dsize < EFI_DESC_MIN || dsize > EFI_DESC_MAX || dsize % 8) {
        log_warn("multiboot2: EFI memory descriptor size %u invalid: EFI map ignored", dsize);
        return -EINVAL;
    }
    for (uint64_t off = 16; off + dsize <= size; off += dsize) {
        uint64_t base = rd64(tag, off + 8), pages = rd64(tag, off + 24);
        uint64_t len = pages > (UINT64_MAX >> 12) ? UINT64_MAX : pages << 12;  /* memmap_add clamps */
        if (memmap_add(bi, base, len, efi_mem_type(rd32(tag, off), rd64(tag, off + 32), bi->efi_boot_services)) < 0)
            return -ENOSPC;
        bi->mmap_entries++;
    }
    return bi->nmem ? 0 : -ENOENT;
}

static void mb2_tag(struct boot_info *bi, struct mb2_found *f, const void *tag, uint32_t type, uint32_t size,
                    uint64_t tag_pa)
{
    char name[64];
    switch (type) {
    case MB2_CMDLINE: mb2_copy_string(tag, size, 8, bi->cmdline, sizeof(bi->cmdline)); break;
    case MB2_LOADER: mb2_copy_string(tag, size, 8, bi->loader, sizeof(bi->loader)); break;
    case MB2_MODULE:
        if (size < 16) {
            log_warn("multiboot2: truncated module tag ignored");
            break;
        }
        mb2_copy_string(tag, size, 16, name, sizeof(name));
        add_module(bi, rd32(tag, 8), rd32(tag, 12), name);
        break;
    case MB2_MEMINFO:
        if (size >= 16 && !f->meminfo)
            f->meminfo = tag;
        break;
    case MB2_MMAP:
        if (!f->mmap) {
            f->mmap = tag;
            f->mmap_size = size;
        }
        break;
    case MB2_EFI_MMAP:
        bi->firmware = BOOT_FW_UEFI;
        if (!f->efi_mmap) {
            f->efi_mmap = tag;
            f->efi_mmap_size = size;
        }
        break;
    case MB2_EFI32: case MB2_EFI64:
        bi->firmware = BOOT_FW_UEFI;
        if (size >= 16 && !bi->efi_systab) {
            bi->efi_systab = type == MB2_EFI64 ? rd64(tag, 8) : rd32(tag, 8);
            bi->efi_64bit = type == MB2_EFI64;
        }
        break;
    case MB2_EFI_BS:
        bi->firmware = BOOT_FW_UEFI;
        bi->efi_boot_services = 1;
        break;
    case MB2_EFI32_IH: case MB2_EFI64_IH: bi->firmware = BOOT_FW_UEFI; break;
    case MB2_ACPI_OLD:
        if (size >= 8 + 20 && !f->acpi_old)
            f->acpi_old = tag_pa + 8;
        break;
    case MB2_ACPI_NEW:
        if (size >= 8 + 36 && !f->acpi_new)
            f->acpi_new = tag_pa + 8;
        break;
    default: break;  /* framebuffer and the rest: not used */
    }
}

/* The memory map: EFI's own descriptors first, then the loader's map, then basic meminfo. A map cut
 * short (more distinct ranges than BOOT_MAX_RANGES) gives way to the next source, or is kept when
 * there is none. */
static void mb2_pick_mmap(struct boot_info *bi, const struct mb2_found *f)
{
    if (f->efi_mmap) {
        int rc = mb2_efi_mmap(bi, f->efi_mmap, f->efi_mmap_size);
        if (rc == 0 || (rc == -ENOSPC && !f->mmap)) {
            if (rc)
                log_warn("multiboot2: EFI memory map cut short after %d descriptors", bi->mmap_entries);
            bi->mmap_source = MMAP_EFI;
            return;
        }
        log_warn("multiboot2: EFI memory map unusable (%d): using the memory map tag", rc);
        bi->nmem = bi->mmap_entries = 0;
    }
    if (f->mmap) {
        int rc = mb2_mmap(bi, f->mmap, f->mmap_size);
        if (bi->nmem) {
            if (rc)
                log_warn("multiboot2: memory map cut short after %d entries", bi->mmap_entries);
            bi->mmap_source = MMAP_MB2;
            return;
        }
        bi->mmap_entries = 0;
    }
    if (f->meminfo) {
        memmap_add(bi, 0, (uint64_t)rd32(f->meminfo, 8) << 10, MEM_AVAILABLE);
        memmap_add(bi, 1 << 20, (uint64_t)rd32(f->meminfo, 12) << 10, MEM_AVAILABLE);
        bi->mmap_source = MMAP_MB2_BASIC;
    }
}

/* UEFI 2.10 4.3 and 4.6: the 64-bit system table's configuration table, searched for the ACPI GUIDs. */
#define EFI_SYSTAB_SIG      0x5453595320494249ull    /* "IBI SYST" */
#define EFI_SYSTAB_NTABLES  104
#define EFI_SYSTAB_TABLES   112
#define EFI_CONFIG_MAX      1024
static const uint8_t efi_acpi20_guid[16] = { 0x71, 0xe8, 0x68, 0x88, 0xf1, 0xe4, 0xd3, 0x11,
                                             0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 };
static const uint8_t efi_acpi10_guid[16] = { 0x30, 0x2d, 0x9d, 0xeb, 0x88, 0x2d, 0xd3, 0x11,
                                             0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d };

static void efi_find_rsdp(struct boot_info *bi, const struct phys_view *pv)
{
    const void *st = view(pv, bi->efi_systab, EFI_SYSTAB_TABLES + 8);
    uint64_t n, tables, v1 = 0;
    const uint8_t *ct;

    if (!st || rd64(st, 0) != EFI_SYSTAB_SIG) {
        log_warn("efi: no system table at %#llx: no RSDP from EFI", (unsigned long long)bi->efi_systab);
        return;
    }
    n = rd64(st, EFI_SYSTAB_NTABLES);
    tables = rd64(st, EFI_SYSTAB_TABLES);
    if (n > EFI_CONFIG_MAX || !(ct = view(pv, tables, n * 24))) {
        log_warn("efi: configuration table (%llu entries at %#llx) unreadable", (unsigned long long)n,
                 (unsigned long long)tables);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (!memcmp(ct + 24 * i, efi_acpi20_guid, 16)) {
            bi->rsdp_phys = rd64(ct, 24 * i + 16);
            bi->rsdp_source = RSDP_EFI_TABLE;
            return;
        }
        if (!memcmp(ct + 24 * i, efi_acpi10_guid, 16) && !v1)
            v1 = rd64(ct, 24 * i + 16);
    }
    if (v1) {
        bi->rsdp_phys = v1;
        bi->rsdp_source = RSDP_EFI_TABLE;
    }
}

static int mb2_parse(uint64_t pa, const struct phys_view *pv, struct boot_info *bi)
{
    const void *hdr = view(pv, pa, 8);
    struct mb2_found f = { 0 };
    const char *all;
    uint32_t total;

    if (!hdr)
        return -EINVAL;
    total = rd32(hdr, 0);
    if (total < 16 || total > MB2_INFO_MAX || !(all = view(pv, pa, total))) {
        log_warn("multiboot2: info size %u implausible", total);
        return -EINVAL;
    }
    bi->protocol = 2;
    bi->info_start = pa;
    bi->info_end = pa + total;
    for (uint32_t off = 8; off + 8 <= total;) {
        uint32_t type = rd32(all, off), size = rd32(all, off + 4);
        if (type == MB2_END)
            break;
        if (size < 8 || size > total - off) {
            log_warn("multiboot2: tag %u at +%u has bad size %u: rest ignored", type, off, size);
            break;
        }
        mb2_tag(bi, &f, all + off, type, size, pa + off);
        off += (size + 7) & ~7u;
    }
    mb2_pick_mmap(bi, &f);
    if (f.acpi_new || f.acpi_old) {
        bi->rsdp_phys = f.acpi_new ? f.acpi_new : f.acpi_old;
        bi->rsdp_source = f.acpi_new ? RSDP_TAG_V2 : RSDP_TAG_V1;
    } else if (bi->firmware == BOOT_FW_UEFI && bi->efi_systab && bi->efi_64bit) {
        efi_find_rsdp(bi, pv);
    }
    return 0;
}

const char *bootinfo_mmap_source_name(int source)
{
    switch (source) {
    case MMAP_MB1: return "multiboot1 memory map";
    case MMAP_MB1_BASIC: return "multiboot1 mem_lower/mem_upper";
    case MMAP_MB2: return "multiboot2 memory map (tag 6)";
    case MMAP_MB2_BASIC: return "multiboot2 basic meminfo (tag 4)";
    case MMAP_EFI: return "EFI memory map (multiboot2 tag 17)";
    default: return "none";
    }
}

const char *bootinfo_rsdp_source_name(int source)
{
    switch (source) {
    case RSDP_TAG_V1: return "multiboot2 ACPI 1.0 tag";
    case RSDP_TAG_V2: return "multiboot2 ACPI 2.0 tag";
    case RSDP_EFI_TABLE: return "EFI configuration table";
    default: return "none";
    }
}

int bootinfo_parse(uint32_t magic, uint64_t info_pa, const struct phys_view *pv, struct boot_info *bi)
{
    int rc;
    memset(bi, 0, sizeof(*bi));
    if (magic == MB1_BOOT_MAGIC)
        rc = mb1_parse(info_pa, pv, bi);
    else if (magic == MB2_BOOT_MAGIC)
        rc = mb2_parse(info_pa, pv, bi);
    else
        return -EINVAL;
    if (rc)
        return rc;
    memmap_normalise(bi);
    return bi->nmem ? 0 : -ENOENT;
}

/* Multiboot1 and multiboot2 information parsers: copy what shoal needs into struct boot_info. */
#include "kernel/bootinfo.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define MB1_INFO_SIZE   116
#define MB2_INFO_MAX    (1u << 20)

enum { MB1_MEM = 1 << 0, MB1_CMDLINE = 1 << 2, MB1_MODS = 1 << 3, MB1_MMAP = 1 << 6, MB1_LOADER = 1 << 9 };
enum { MB2_END = 0, MB2_CMDLINE = 1, MB2_LOADER = 2, MB2_MODULE = 3, MB2_MEMINFO = 4, MB2_MMAP = 6,
       MB2_ACPI_OLD = 14, MB2_ACPI_NEW = 15 };

static const void *view(const struct phys_view *pv, uint64_t pa, size_t len)
{
    if (pa + len < pa)
        return NULL;
    return pv->map(pv->ctx, pa, len);
}

static uint32_t rd32(const void *p, size_t off)
{
    uint32_t v;
    memcpy(&v, (const char *)p + off, 4);
    return v;
}

static uint64_t rd64(const void *p, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)p + off, 8);
    return v;
}

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
    if (flags & MB1_MMAP)
        mb1_mmap(bi, pv, rd32(mbi, 48), rd32(mbi, 44));
    if (!bi->nmem && (flags & MB1_MEM)) {
        memmap_add(bi, 0, (uint64_t)rd32(mbi, 4) << 10, MEM_AVAILABLE);
        memmap_add(bi, 1 << 20, (uint64_t)rd32(mbi, 8) << 10, MEM_AVAILABLE);
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

static void mb2_mmap(struct boot_info *bi, const void *tag, uint32_t size)
{
    uint32_t esize = size >= 16 ? rd32(tag, 8) : 0;
    if (esize < 24 || esize % 8) {
        log_warn("multiboot2: memory map entry size %u invalid: map ignored", esize);
        return;
    }
    for (uint64_t off = 16; off + esize <= size; off += esize)
        if (memmap_add(bi, rd64(tag, off), rd64(tag, off + 8), rd32(tag, off + 16)) < 0)
            return;
}

static void mb2_tag(struct boot_info *bi, const void *tag, uint32_t type, uint32_t size, uint64_t tag_pa)
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
    case MB2_MMAP: mb2_mmap(bi, tag, size); break;
    case MB2_ACPI_OLD: case MB2_ACPI_NEW:
        if (size >= 8 + 20 && !bi->rsdp_copy_phys)
            bi->rsdp_copy_phys = tag_pa + 8;
        break;
    default: break;  /* framebuffer and the rest: not used */
    }
}

static int mb2_parse(uint64_t pa, const struct phys_view *pv, struct boot_info *bi)
{
    const void *hdr = view(pv, pa, 8);
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
        mb2_tag(bi, all + off, type, size, pa + off);
        off += (size + 7) & ~7u;
    }
    return 0;
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

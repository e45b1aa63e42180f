/* Host unit tests of the Linux loaders (bzImage setup header, zero page, PVH) and the guest ACPI tables/AML. */
#define TEST_SUITE "vmm_loader"
#include <stdlib.h>
#include <stdio.h>
#include "tests/unit/test.h"
#include "vmm/loader.h"
#include "vmm/acpi.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"

#define IMG_LEN (64 * 1024)

/* A synthetic bzImage: 4 setup sectors + boot sector, protocol 2.15, 64-bit, relocatable. */
static uint8_t *make_bz(void)
{
    uint8_t *k = calloc(1, IMG_LEN);
    k[BP_SETUP_SECTS] = 4;
    put_le32(k + 0x1F4, (IMG_LEN - 5 * 512) / 16);
    put_le16(k + BP_BOOT_FLAG, 0xAA55);
    k[0x200] = 0xEB;
    k[0x201] = 0x6A;                       /* setup header ends at 0x26C */
    memcpy(k + BP_HEADER, "HdrS", 4);
    put_le16(k + BP_VERSION, 0x020F);
    k[BP_LOADFLAGS] = LOADED_HIGH;
    put_le32(k + BP_INITRD_MAX, 0x7fffffff);
    put_le32(k + BP_KERNEL_ALIGN, 0x200000);
    k[BP_RELOCATABLE] = 1;
    put_le16(k + BP_XLOADFLAGS, XLF_KERNEL_64 | 2);
    put_le32(k + BP_CMDLINE_SIZE, 2047);
    put_le64(k + BP_PREF_ADDRESS, 0x1000000);
    put_le32(k + BP_INIT_SIZE, 0x2000000);
    return k;
}

TEST(bz_parse_good)
{
    uint8_t *k = make_bz();
    struct bz_info bz;
    const char *why = NULL;
    CHECK_EQ(bz_parse(k, IMG_LEN, &bz, &why), 0);
    CHECK_EQ(bz.version, 0x020F);
    CHECK_EQ(bz.pm_offset, 5 * 512);
    CHECK_EQ(bz.pm_size, IMG_LEN - 5 * 512);
    CHECK_EQ(bz.hdr_end, 0x26C);
    CHECK_U64(bz.pref_address, 0x1000000);
    CHECK_EQ(bz.init_size, 0x2000000);
    CHECK_EQ(bz.cmdline_size, 2047);
    free(k);
}

static void expect_bad(uint8_t *k, size_t len, int err, const char *word)
{
    struct bz_info bz;
    const char *why = NULL;
    CHECK_EQ(bz_parse(k, len, &bz, &why), err);
    CHECK(why && strstr(why, word));
}

TEST(bz_parse_refuses)
{
    uint8_t *k = make_bz();
    expect_bad(k, IMG_LEN / 2, -EINVAL, "truncated");          /* shorter than syssize */
    expect_bad(k, 5 * 512, -EINVAL, "truncated");              /* nothing after the setup code */
    expect_bad(k, 0x100, -ENOTSUP, "truncated");
    put_le16(k + BP_XLOADFLAGS, 0);
    expect_bad(k, IMG_LEN, -ENOTSUP, "64-bit");
    put_le16(k + BP_XLOADFLAGS, 1);
    put_le16(k + BP_VERSION, 0x020B);
    expect_bad(k, IMG_LEN, -ENOTSUP, "2.12");
    put_le16(k + BP_VERSION, 0x020F);
    k[BP_LOADFLAGS] = 0;
    expect_bad(k, IMG_LEN, -ENOTSUP, "loaded high");
    k[BP_LOADFLAGS] = LOADED_HIGH;
    memcpy(k + BP_HEADER, "HdrX", 4);
    expect_bad(k, IMG_LEN, -ENOTSUP, "not a bzImage");
    memcpy(k + BP_HEADER, "HdrS", 4);
    put_le16(k + BP_BOOT_FLAG, 0);
    expect_bad(k, IMG_LEN, -ENOTSUP, "not a bzImage");
    free(k);
}

TEST(bz_load_address_and_initrd)
{
    uint8_t *k = make_bz();
    struct bz_info bz;
    const char *why;
    uint64_t a = 0;
    CHECK_EQ(bz_parse(k, IMG_LEN, &bz, &why), 0);
    CHECK_EQ(bz_load_address(&bz, 256u << 20, &a), 0);
    CHECK_U64(a, 0x1000000);
    CHECK_EQ(bz_load_address(&bz, 40u << 20, &a), 0);         /* pref does not fit: aligned above 1 MiB */
    CHECK_U64(a, 0x200000);
    CHECK_EQ(bz_load_address(&bz, 32u << 20, &a), -ENOMEM);
    k[BP_RELOCATABLE] = 0;
    CHECK_EQ(bz_parse(k, IMG_LEN, &bz, &why), 0);
    CHECK_EQ(bz_load_address(&bz, 40u << 20, &a), -ENOMEM);
    CHECK_EQ(initrd_place((1u << 20) + 5, 256u << 20, 0x1000000, 0x3000000, &a), 0);
    CHECK_EQ(a & 0xFFF, 0);
    CHECK(a + (1u << 20) + 5 <= (256u << 20));
    CHECK(a >= (256u << 20) - (2u << 20));
    CHECK_EQ(initrd_place(8u << 20, 0x3000000, 0x1000000, 0x3000000, &a), -ENOMEM);   /* would overlap */
    CHECK_EQ(initrd_place(0, 256u << 20, 0, 0, &a), -ENOMEM);
    free(k);
}

TEST(bz_zero_page)
{
    uint8_t *k = make_bz(), bp[BP_SIZE];
    struct bz_info bz;
    const char *why;
    struct e820_entry e[3] = { { 0, 0xA0000, 1 }, { 0xE0000, 0x20000, 2 }, { 0x100000, 0xFF00000, 1 } };
    CHECK_EQ(bz_parse(k, IMG_LEN, &bz, &why), 0);
    CHECK_EQ(bz_build_params(bp, k, &bz, 0x20000, 0xFEE9000, 0x116000, 0xE0000, e, 3), 0);
    CHECK_MEM(bp + BP_HEADER, "HdrS", 4);
    CHECK_EQ(bp[BP_TYPE_OF_LOADER], 0xFF);
    CHECK_EQ(bp[BP_LOADFLAGS] & (LOADED_HIGH | CAN_USE_HEAP), LOADED_HIGH | CAN_USE_HEAP);
    CHECK_U64(get_le32(bp + BP_CMD_LINE_PTR), 0x20000);
    CHECK_U64(get_le32(bp + BP_RAMDISK_IMAGE), 0xFEE9000);
    CHECK_U64(get_le32(bp + BP_RAMDISK_SIZE), 0x116000);
    CHECK_U64(get_le64(bp + BP_ACPI_RSDP), 0xE0000);
    CHECK_EQ(bp[BP_E820_ENTRIES], 3);
    CHECK_U64(get_le64(bp + BP_E820_TABLE + 40), 0x100000);
    CHECK_U64(get_le64(bp + BP_E820_TABLE + 48), 0xFF00000);
    CHECK_EQ(get_le32(bp + BP_E820_TABLE + 56), 1);
    CHECK_EQ(get_le32(bp + BP_E820_TABLE + 36), 2);
    CHECK_EQ(bp[0x26C], 0);                                     /* nothing past the header copied */
    CHECK_EQ(bz_build_params(bp, k, &bz, 0, 0, 0, 0, e, 129), -EINVAL);
    free(k);
}

/* A Debian kernel, when `make guest-images` has fetched one, passes the same checks. */
TEST(bz_parse_debian_kernel)
{
    FILE *f = fopen("build/guest/cloud/vmlinuz", "rb");
    struct bz_info bz;
    const char *why = "";
    uint8_t *k;
    long n;
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    k = malloc((size_t)n);
    CHECK_EQ(fread(k, 1, (size_t)n, f), n);
    fclose(f);
    CHECK_EQ(bz_parse(k, (size_t)n, &bz, &why), 0);
    CHECK(bz.version >= 0x020F && bz.relocatable && bz.init_size > (size_t)n);
    CHECK_EQ(bz_parse(k, (size_t)n / 2, &bz, &why), -EINVAL);
    free(k);
}

/* A synthetic vmlinux: ELF64 header, PT_LOAD at 16 MiB, PT_NOTE with Xen's PHYS32_ENTRY. */
static size_t make_elf(uint8_t *e, int with_note)
{
    memset(e, 0, 4096);
    memcpy(e, "\x7F" "ELF", 4);
    e[4] = 2;
    e[5] = 1;
    put_le16(e + 18, 62);
    put_le64(e + 32, 64);
    put_le16(e + 54, 56);
    put_le16(e + 56, 2);
    put_le32(e + 64, 1);                                       /* PT_LOAD: file 0x800..0xC00 -> 0x1000000 */
    put_le64(e + 64 + 8, 0x800);
    put_le64(e + 64 + 24, 0x1000000);
    put_le64(e + 64 + 32, 0x400);
    put_le64(e + 64 + 40, 0x10000);
    put_le32(e + 120, 4);                                      /* PT_NOTE at 0x200 */
    put_le64(e + 120 + 8, 0x200);
    put_le64(e + 120 + 32, 24);
    put_le32(e + 0x200, 4);
    put_le32(e + 0x204, 8);
    put_le32(e + 0x208, with_note ? PVH_NOTE_PHYS32_ENTRY : 17);
    memcpy(e + 0x20C, "Xen", 4);
    put_le64(e + 0x210, 0x1000123);
    return 4096;
}

TEST(pvh_parse_and_start_info)
{
    uint8_t e[4096], si[PVH_INFO_SIZE];
    struct pvh_info pi;
    const char *why = "";
    struct e820_entry m[2] = { { 0, 0xA0000, 1 }, { 0x100000, 0x7F00000, 1 } };
    size_t n = make_elf(e, 1);
    CHECK(pvh_is_elf(e, n));
    CHECK_EQ(pvh_parse(e, n, &pi, &why), 0);
    CHECK_U64(pi.entry, 0x1000123);
    CHECK_EQ(pi.nseg, 1);
    CHECK_U64(pi.lowest, 0x1000000);
    CHECK_U64(pi.highest, 0x1010000);
    CHECK_EQ(pvh_parse(e, 0xA00, &pi, &why), -EINVAL);          /* segment beyond the end */
    CHECK(strstr(why, "truncated"));
    make_elf(e, 0);
    CHECK_EQ(pvh_parse(e, n, &pi, &why), -ENOTSUP);
    CHECK(strstr(why, "PHYS32_ENTRY"));
    CHECK_EQ(pvh_build_start_info(si, 0x6000, 0x20000, 0xF000000, 0x1000, 0xE0000, m, 2), 0);
    CHECK_U64(get_le32(si), PVH_START_MAGIC);
    CHECK_EQ(get_le32(si + 4), 1);
    CHECK_EQ(get_le32(si + 12), 1);
    CHECK_U64(get_le64(si + 16), 0x6040);
    CHECK_U64(get_le64(si + 24), 0x20000);
    CHECK_U64(get_le64(si + 32), 0xE0000);
    CHECK_U64(get_le64(si + 40), 0x6080);
    CHECK_EQ(get_le32(si + 48), 2);
    CHECK_U64(get_le64(si + 64), 0xF000000);
    CHECK_U64(get_le64(si + 72), 0x1000);
    CHECK_U64(get_le64(si + 128 + 24), 0x100000);
}

/* An ELF32 i386 PVH kernel (as Xen and QEMU accept): the same note, 32-bit headers. */
static size_t make_elf32(uint8_t *e)
{
    memset(e, 0, 4096);
    memcpy(e, "\x7F" "ELF", 4);
    e[4] = 1;                                                  /* ELFCLASS32 */
    e[5] = 1;
    put_le16(e + 18, 3);                                       /* EM_386 */
    put_le32(e + 28, 52);                                      /* e_phoff */
    put_le16(e + 42, 32);                                      /* e_phentsize */
    put_le16(e + 44, 2);
    put_le32(e + 52, 1);                                       /* PT_LOAD: file 0x800..0xC00 -> 0x200000 */
    put_le32(e + 52 + 4, 0x800);
    put_le32(e + 52 + 12, 0x200000);
    put_le32(e + 52 + 16, 0x400);
    put_le32(e + 52 + 20, 0x3000);
    put_le32(e + 84, 4);                                       /* PT_NOTE at 0x200 */
    put_le32(e + 84 + 4, 0x200);
    put_le32(e + 84 + 16, 20);
    put_le32(e + 0x200, 4);
    put_le32(e + 0x204, 4);
    put_le32(e + 0x208, PVH_NOTE_PHYS32_ENTRY);
    memcpy(e + 0x20C, "Xen", 4);
    put_le32(e + 0x210, 0x200040);
    return 4096;
}

TEST(pvh_parse_elf32)
{
    uint8_t e[4096];
    struct pvh_info pi;
    const char *why = "";
    size_t n = make_elf32(e);
    CHECK(pvh_is_elf(e, n));
    CHECK_EQ(pvh_parse(e, n, &pi, &why), 0);
    CHECK_EQ(pi.entry, 0x200040);
    CHECK_EQ(pi.nseg, 1);
    CHECK_U64(pi.seg[0].offset, 0x800);
    CHECK_U64(pi.seg[0].filesz, 0x400);
    CHECK_U64(pi.lowest, 0x200000);
    CHECK_U64(pi.highest, 0x203000);
    CHECK_EQ(pvh_parse(e, 0xA00, &pi, &why), -EINVAL);          /* segment beyond the end */
    put_le16(e + 44, 200);
    CHECK_EQ(pvh_parse(e, n, &pi, &why), -EINVAL);              /* program headers beyond the end */
    put_le16(e + 44, 2);
    put_le16(e + 18, 40);                                       /* EM_ARM */
    CHECK_EQ(pvh_parse(e, n, &pi, &why), -ENOTSUP);
    CHECK(strstr(why, "ELF32 i386") != NULL);
}

TEST(aml_pkglen_roundtrip)
{
    static const uint32_t v[] = { 0, 1, 0x3F, 0x40, 0x41, 0xFFF, 0x1000, 0x12345, 0xFFFFF, 0x100000, 0xFFFFFFF };
    static const int len[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4 };
    uint8_t b[4];
    uint32_t n;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CHECK_EQ(aml_pkglen_encode(v[i], b), len[i]);
        CHECK_EQ(aml_pkglen_decode(b, 4, &n), len[i]);
        CHECK_U64(n, v[i]);
    }
    CHECK_EQ(aml_pkglen_encode(1u << 28, b), 0);
    b[0] = 0x50;                                               /* reserved bits 5:4 set */
    CHECK_EQ(aml_pkglen_decode(b, 4, &n), 0);
    b[0] = 0xC1;
    CHECK_EQ(aml_pkglen_decode(b, 2, &n), 0);                  /* needs 4 bytes */
}

static struct acpi_config cfg(int ncpus, int nvirtio)
{
    struct acpi_config c = { ncpus, 0xFEC00000, 0xFEE00000, nvirtio, (1u << nvirtio) - 1, 0xD0000000, 0x1000, { 0 }, 1, 1, 0 };
    for (int i = 0; i < nvirtio; i++)
        c.virtio_gsi[i] = 5 + i;
    return c;
}

/* The table at guest address gpa inside buf (based at base), checked: in bounds, checksum 0. */
static const uint8_t *table_at(const uint8_t *buf, int used, uint64_t base, uint64_t gpa, const char *sig)
{
    const uint8_t *t;
    CHECK(gpa >= base && gpa + 36 <= base + (uint64_t)used);
    if (gpa < base || gpa + 36 > base + (uint64_t)used)
        return NULL;
    t = buf + (gpa - base);
    CHECK_MEM(t, sig, 4);
    CHECK(gpa + get_le32(t + 4) <= base + (uint64_t)used);
    CHECK_EQ(acpi_sum(t, get_le32(t + 4)), 0);
    return t;
}

/* Walk the DSDT's AML: \_S5_ package, then \_SB scope holding Devices; count LNRO0005 and check bases. */
static int walk_dsdt(const uint8_t *t, int nvirtio)
{
    uint32_t end = get_le32(t + 4), pos = 36, n, scope_end, found = 0;
    int k;
    CHECK(t[pos] == 0x08 && !memcmp(t + pos + 1, "_S5_", 4) && t[pos + 5] == 0x12);
    pos += 6;
    k = aml_pkglen_decode(t + pos, end - pos, &n);
    CHECK(k > 0);
    CHECK_EQ(t[pos + k], 4);
    CHECK_EQ(t[pos + k + 2], ACPI_S5_TYP);
    pos += n;
    CHECK_EQ(t[pos], 0x10);                                    /* ScopeOp */
    k = aml_pkglen_decode(t + pos + 1, end - pos - 1, &n);
    CHECK(k > 0);
    scope_end = pos + 1 + n;
    CHECK_EQ(scope_end, end);                                  /* the scope is the rest of the table */
    CHECK_MEM(t + pos + 1 + k, "\\_SB_", 5);
    pos += 1 + (uint32_t)k + 5;
    while (pos < scope_end) {
        uint32_t dev_end;
        const uint8_t *lnro;
        CHECK(t[pos] == 0x5B && t[pos + 1] == 0x82);
        if (t[pos] != 0x5B || t[pos + 1] != 0x82)
            return -1;
        k = aml_pkglen_decode(t + pos + 2, scope_end - pos - 2, &n);
        CHECK(k > 0 && pos + 2 + n <= scope_end);
        dev_end = pos + 2 + n;
        lnro = memmem(t + pos, dev_end - pos, "LNRO0005", 9);
        if (lnro) {
            const uint8_t *m = memmem(lnro, (size_t)(t + dev_end - lnro), "\x86\x09\x00\x01", 4);
            CHECK(m != NULL);
            if (m) {
                CHECK_U64(get_le32(m + 4), 0xD0000000u + found * 0x1000);
                CHECK_EQ(get_le32(m + 8), 0x1000);
                CHECK_EQ(m[12], 0x89);                         /* Extended Interrupt */
                CHECK_EQ(m[15], 0x03);                         /* consumer, edge, active high */
                CHECK_EQ(get_le32(m + 17), 5 + found);
            }
            found++;
        }
        pos = dev_end;
    }
    CHECK_EQ(pos, scope_end);
    CHECK_EQ(found, nvirtio);
    return (int)found;
}

TEST(acpi_tables)
{
    static uint8_t buf[0x20000];
    const uint64_t base = 0xE0000;
    struct acpi_config c = cfg(2, 2);
    int used = acpi_build(buf, sizeof(buf), base, &c);
    const uint8_t *x, *fadt, *madt, *dsdt;

    CHECK(used > 0);
    CHECK_MEM(buf, "RSD PTR ", 8);
    CHECK_EQ(acpi_sum(buf, 20), 0);
    CHECK_EQ(acpi_sum(buf, 36), 0);
    CHECK_EQ(buf[15], 2);
    x = table_at(buf, used, base, get_le64(buf + 24), "XSDT");
    if (!x)
        return;
    CHECK_EQ(get_le32(x + 4), 36 + 16);
    fadt = table_at(buf, used, base, get_le64(x + 36), "FACP");
    madt = table_at(buf, used, base, get_le64(x + 44), "APIC");
    if (!fadt || !madt)
        return;
    /* No table overlaps another (each is inside the buffer and they follow each other in order). */
    CHECK(get_le64(buf + 24) + 52 <= get_le64(x + 36));
    CHECK(get_le64(x + 36) + get_le32(fadt + 4) <= get_le64(x + 44));
    CHECK_EQ(fadt[8], 6);
    CHECK(get_le32(fadt + 112) & (1u << 20));                  /* HW_REDUCED_ACPI */
    CHECK(get_le32(fadt + 112) & (1u << 8));                   /* TMR_VAL_EXT: a 32-bit PM timer */
    CHECK_EQ(get_le32(fadt + 76), ACPI_PM_TMR_PORT);            /* PM_TMR_BLK, 4 bytes */
    CHECK_EQ(fadt[91], 4);
    CHECK_EQ(fadt[208], 1);                                     /* X_PM_TMR_BLK: SystemIO, 32 bits, dword */
    CHECK_EQ(fadt[209], 32);
    CHECK_EQ(fadt[211], 3);
    CHECK_U64(get_le64(fadt + 212), ACPI_PM_TMR_PORT);
    CHECK_U64(get_le64(fadt + 140), get_le32(fadt + 40));
    CHECK(get_le64(x + 44) + get_le32(madt + 4) <= get_le64(fadt + 140));
    CHECK_EQ(get_le32(madt + 4), 44 + 2 * 8 + 12 + 10);
    CHECK_U64(get_le32(madt + 36), 0xFEE00000u);
    CHECK_EQ(get_le32(madt + 40) & 1, 0);                      /* no PCAT_COMPAT */
    CHECK(madt[44] == 0 && madt[47] == 0 && madt[52] == 0 && madt[55] == 1);   /* LAPIC ids 0, 1 */
    CHECK(madt[60] == 1 && get_le32(madt + 64) == 0xFEC00000u && get_le32(madt + 68) == 0);
    CHECK(madt[72] == 2 && madt[75] == 0 && get_le32(madt + 76) == 2);
    dsdt = table_at(buf, used, base, get_le64(fadt + 140), "DSDT");
    if (dsdt) {
        CHECK_EQ(get_le64(fadt + 140) - base + get_le32(dsdt + 4), (uint64_t)used);
        walk_dsdt(dsdt, 2);
    }
    CHECK_EQ(acpi_build(buf, 200, base, &c), -ENOSPC);
    c.ncpus = 0;
    CHECK_EQ(acpi_build(buf, sizeof(buf), base, &c), -EINVAL);
}

/* Only the slots in the mask are declared, at their own addresses. */
TEST(acpi_virtio_mask)
{
    static uint8_t buf[0x20000];
    struct acpi_config c = cfg(1, 2);
    const uint8_t *x, *fadt, *dsdt, *m;
    c.virtio_mask = 2;
    CHECK(acpi_build(buf, sizeof(buf), 0xE0000, &c) > 0);
    x = buf + (get_le64(buf + 24) - 0xE0000);
    fadt = buf + (get_le64(x + 36) - 0xE0000);
    dsdt = buf + (get_le64(fadt + 140) - 0xE0000);
    CHECK(memmem(dsdt, get_le32(dsdt + 4), "VR00", 4) == NULL);
    m = memmem(dsdt, get_le32(dsdt + 4), "\x86\x09\x00\x01", 4);
    CHECK(m && get_le32(m + 4) == 0xD0001000u && get_le32(m + 17) == 6);
}

/* Enough devices that the \_SB scope needs a 2-byte PkgLength. */
TEST(acpi_dsdt_long_scope)
{
    static uint8_t buf[0x20000];
    struct acpi_config c = cfg(4, ACPI_MAX_VIRTIO);
    int used = acpi_build(buf, sizeof(buf), 0xE0000, &c);
    const uint8_t *x = buf + (get_le64(buf + 24) - 0xE0000), *fadt = buf + (get_le64(x + 36) - 0xE0000);
    const uint8_t *dsdt = buf + (get_le64(fadt + 140) - 0xE0000);
    CHECK(used > 0 && get_le32(dsdt + 4) > 0x100);
    CHECK_EQ(acpi_sum(dsdt, get_le32(dsdt + 4)), 0);
    CHECK_EQ(walk_dsdt(dsdt, ACPI_MAX_VIRTIO), ACPI_MAX_VIRTIO);
}

/* With an ECAM window: an MCFG for segment 0, bus 0, and a PCI host bridge (PNP0A08) owning bus 0 alone,
   so Linux finds config space (and no devices) instead of logging that it has none. Without: neither. */
TEST(acpi_pci_host_bridge)
{
    static uint8_t buf[0x20000];
    const uint64_t base = 0xE0000;
    struct acpi_config c = cfg(1, 2);
    const uint8_t *x, *mcfg, *fadt, *dsdt, *pci, *bus;
    int used;
    c.ecam_base = 0xE0000000ull;
    used = acpi_build(buf, sizeof(buf), base, &c);
    CHECK(used > 0);
    x = table_at(buf, used, base, get_le64(buf + 24), "XSDT");
    if (!x)
        return;
    CHECK_EQ(get_le32(x + 4), 36 + 24);
    mcfg = table_at(buf, used, base, get_le64(x + 52), "MCFG");
    fadt = table_at(buf, used, base, get_le64(x + 36), "FACP");
    if (!mcfg || !fadt)
        return;
    CHECK_EQ(get_le32(mcfg + 4), 36 + 8 + 16);
    CHECK_U64(get_le64(mcfg + 44), 0xE0000000ull);
    CHECK(get_le16(mcfg + 52) == 0 && mcfg[54] == 0 && mcfg[55] == 0);   /* segment 0, buses 0..0 */
    dsdt = table_at(buf, used, base, get_le64(fadt + 140), "DSDT");
    if (!dsdt)
        return;
    CHECK_EQ(walk_dsdt(dsdt, 2), 2);
    pci = memmem(dsdt, get_le32(dsdt + 4), "PCI0", 4);
    CHECK(pci != NULL);
    if (!pci)
        return;
    CHECK(memmem(pci, get_le32(dsdt + 4) - (uint32_t)(pci - dsdt), "\x41\xD0\x0A\x08", 4) != NULL);   /* PNP0A08 */
    CHECK(memmem(pci, get_le32(dsdt + 4) - (uint32_t)(pci - dsdt), "\x41\xD0\x0A\x03", 4) != NULL);   /* PNP0A03 */
    bus = memmem(pci, get_le32(dsdt + 4) - (uint32_t)(pci - dsdt), "\x88\x0D\x00\x02", 4);
    CHECK(bus != NULL);
    if (bus)
        CHECK(get_le16(bus + 8) == 0 && get_le16(bus + 10) == 0 && get_le16(bus + 14) == 1);   /* bus numbers 0..0 */
    c.ecam_base = 0;
    used = acpi_build(buf, sizeof(buf), base, &c);
    x = buf + (get_le64(buf + 24) - base);
    fadt = buf + (get_le64(x + 36) - base);
    dsdt = buf + (get_le64(fadt + 140) - base);
    CHECK_EQ(get_le32(x + 4), 36 + 16);
    CHECK(memmem(dsdt, get_le32(dsdt + 4), "PCI0", 4) == NULL);
}

/* Guest ACPI tables: RSDP, XSDT, FADT (hardware-reduced), MADT and a DSDT built with a tiny AML encoder. */
#include "vmm/acpi.h"
#include "kernel/byteorder.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define HDR_LEN       36
#define FADT_LEN      276          /* revision 6 (ACPI 6.4 5.2.9) */
#define FADT_HW_REDUCED  (1u << 20)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_WBINVD   (1u << 0)
#define FADT_TMR_VAL_EXT (1u << 8)
#define BOOT_LEGACY_DEVICES 0x1
#define BOOT_8042     0x2
#define BOOT_NO_VGA   0x4
#define AML_MAX_DEPTH 8

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* ACPI 6.4 5.2.6 System Description Table Header; the checksum is set by table_finish. */
static void table_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put_le32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "SHOAL ", 6);
    memcpy(t + 16, "SHOALVM ", 8);
    put_le32(t + 24, 1);
    memcpy(t + 28, "SHOL", 4);
    put_le32(t + 32, 1);
}

static void table_finish(uint8_t *t, uint32_t len)
{
    put_le32(t + 4, len);
    t[9] = 0;
    t[9] = (uint8_t)-acpi_sum(t, len);
}

/* ---- AML encoder (ACPI 6.4 chapter 20) ---- */
struct aml {
    uint8_t *p;
    size_t len, cap;
    int err;
    size_t open[AML_MAX_DEPTH];
    int depth;
};

int aml_pkglen_encode(uint32_t n, uint8_t out[4])
{
    int extra;
    if (n < 0x40) {
        out[0] = (uint8_t)n;
        return 1;
    }
    if (n >= (1u << 28))
        return 0;
    extra = n < (1u << 12) ? 1 : n < (1u << 20) ? 2 : 3;
    out[0] = (uint8_t)((extra << 6) | (n & 0xF));
    for (int i = 0; i < extra; i++)
        out[1 + i] = (uint8_t)(n >> (4 + 8 * i));
    return extra + 1;
}

int aml_pkglen_decode(const uint8_t *p, size_t avail, uint32_t *n)
{
    int extra;
    if (!avail)
        return 0;
    extra = p[0] >> 6;
    if (!extra) {
        *n = p[0] & 0x3F;
        return 1;
    }
    if ((p[0] & 0x30) || avail < (size_t)extra + 1)
        return 0;                         /* bits 5:4 are reserved in a multi-byte PkgLength */
    *n = p[0] & 0xF;
    for (int i = 0; i < extra; i++)
        *n |= (uint32_t)p[1 + i] << (4 + 8 * i);
    return extra + 1;
}

static void aml_bytes(struct aml *a, const void *b, size_t n)
{
    if (a->err || n > a->cap - a->len) {
        a->err = -ENOSPC;
        return;
    }
    memcpy(a->p + a->len, b, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

/* Start a PkgLength-prefixed body (Scope, Device, Buffer, Package). */
static void aml_open(struct aml *a)
{
    if (a->depth == AML_MAX_DEPTH) {
        a->err = -EINVAL;
        return;
    }
    a->open[a->depth++] = a->len;
}

/* End the innermost body: insert its PkgLength (which counts itself) before it. */
static void aml_close(struct aml *a)
{
    uint8_t enc[4];
    size_t start, body;
    int n;
    if (a->err || !a->depth)
        return;
    start = a->open[--a->depth];
    body = a->len - start;
    n = aml_pkglen_encode((uint32_t)body + 1, enc);
    if (n > 1)
        n = aml_pkglen_encode((uint32_t)body + (uint32_t)n, enc);
    if (!n || (size_t)n > a->cap - a->len) {
        a->err = -ENOSPC;
        return;
    }
    memmove(a->p + start + n, a->p + start, body);
    memcpy(a->p + start, enc, (size_t)n);
    a->len += (size_t)n;
}

static void aml_integer(struct aml *a, uint32_t v)
{
    if (v <= 1) {
        aml_byte(a, (uint8_t)v);          /* ZeroOp, OneOp */
    } else if (v <= 0xFF) {
        aml_byte(a, 0x0A);
        aml_byte(a, (uint8_t)v);
    } else if (v <= 0xFFFF) {
        aml_byte(a, 0x0B);
        aml_byte(a, (uint8_t)v);
        aml_byte(a, (uint8_t)(v >> 8));
    } else {
        uint8_t d[4];
        put_le32(d, v);
        aml_byte(a, 0x0C);
        aml_bytes(a, d, 4);
    }
}

/* Name(seg, ...) : NameOp NameSeg, the caller emits the object. */
static void aml_name(struct aml *a, const char seg[4])
{
    aml_byte(a, 0x08);
    aml_bytes(a, seg, 4);
}

static void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, 0x0D);
    aml_bytes(a, s, strlen(s) + 1);
}

/* EISAID("PNP0501"): three 5-bit letters and four hex digits, stored big-endian (ACPI 6.4 19.6.35). */
static uint32_t eisa_id(const char *s)
{
    uint32_t v = (uint32_t)((s[0] - 0x40) << 26 | (s[1] - 0x40) << 21 | (s[2] - 0x40) << 16);
    for (int i = 3; i < 7; i++)
        v |= (uint32_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10) << (4 * (6 - i));
    return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

static void aml_device_open(struct aml *a, const char seg[4])
{
    aml_byte(a, 0x5B);                   /* DeviceOp = ExtOpPrefix 0x82 */
    aml_byte(a, 0x82);
    aml_open(a);
    aml_bytes(a, seg, 4);
}

/* Name(_CRS, ResourceTemplate(){ res }): a Buffer holding the descriptors and an End Tag. */
static void aml_crs(struct aml *a, const uint8_t *res, size_t n)
{
    aml_name(a, "_CRS");
    aml_byte(a, 0x11);                   /* BufferOp */
    aml_open(a);
    aml_integer(a, (uint32_t)n + 2);
    aml_bytes(a, res, n);
    aml_byte(a, 0x79);                   /* End Tag, checksum 0 = "treat as correct" (6.4.2.9) */
    aml_byte(a, 0x00);
    aml_close(a);
}

/* virtio-mmio device i: Memory32Fixed (6.4.3.4) + Extended Interrupt (6.4.3.6), edge, active high. */
static void dsdt_virtio(struct aml *a, const struct acpi_config *c, int i)
{
    char seg[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), 0 };
    uint8_t r[21] = { 0x86, 9, 0, 1 };
    put_le32(r + 4, (uint32_t)(c->virtio_base + (uint64_t)i * c->virtio_size));
    put_le32(r + 8, (uint32_t)c->virtio_size);
    r[12] = 0x89;
    put_le16(r + 13, 6);
    r[15] = 0x01 | 0x02;                 /* consumer, edge-triggered, active high, exclusive */
    r[16] = 1;
    put_le32(r + 17, (uint32_t)c->virtio_gsi[i]);
    aml_device_open(a, seg);
    aml_name(a, "_HID");
    aml_string(a, "LNRO0005");
    aml_name(a, "_UID");
    aml_integer(a, (uint32_t)i);
    aml_crs(a, r, sizeof(r));
    aml_close(a);
}

/* Name(name, EISAID(id)): a DWord holding the compressed ID. */
static void aml_eisa(struct aml *a, const char name[4], const char *id)
{
    uint8_t v[4];
    put_le32(v, eisa_id(id));
    aml_name(a, name);
    aml_byte(a, 0x0C);
    aml_bytes(a, v, 4);
}

/*
 * The PCI host bridge (PCI Firmware Spec 3.2 4.1.5): PNP0A08 on segment 0 owning bus 0 alone, through a
 * Word Address Space descriptor for bus numbers (ACPI 6.4 6.4.3.5.3: fixed 0..0, producer). Bus 0 holds
 * no devices: Linux finds config space through the MCFG, scans it, and stops looking.
 */
static void dsdt_pci_root(struct aml *a)
{
    uint8_t r[16] = { 0x88, 13, 0, 2, 0x0C };
    put_le16(r + 14, 1);                 /* granularity, min, max, translation 0; length 1 */
    aml_device_open(a, "PCI0");
    aml_eisa(a, "_HID", "PNP0A08");
    aml_eisa(a, "_CID", "PNP0A03");
    aml_name(a, "_SEG");
    aml_integer(a, 0);
    aml_name(a, "_BBN");
    aml_integer(a, 0);
    aml_name(a, "_UID");
    aml_integer(a, 0);
    aml_crs(a, r, sizeof(r));
    aml_close(a);
}

/* A legacy ISA device: I/O range (6.4.2.5) and an IRQ (6.4.2.1) unless irq < 0. */
static void dsdt_isa(struct aml *a, const char seg[4], const char *hid, uint16_t port, uint8_t n, int irq)
{
    uint8_t r[11] = { 0x47, 1 };
    size_t len = 8;
    put_le16(r + 2, port);
    put_le16(r + 4, port);
    r[6] = 1;
    r[7] = n;
    if (irq >= 0) {
        r[8] = 0x22;
        put_le16(r + 9, (uint16_t)(1u << irq));
        len = 11;
    }
    aml_device_open(a, seg);
    aml_eisa(a, "_HID", hid);
    aml_name(a, "_UID");
    aml_integer(a, 1);
    aml_crs(a, r, len);
    aml_close(a);
}

/* The DSDT's AML: \_S5 for poweroff through the sleep registers, then \_SB with the devices. */
static int dsdt_build(uint8_t *t, size_t cap, const struct acpi_config *c)
{
    struct aml a = { t, HDR_LEN, cap, 0, { 0 }, 0 };
    if (cap < HDR_LEN)
        return -ENOSPC;
    aml_name(&a, "_S5_");
    aml_byte(&a, 0x12);                  /* PackageOp { SLP_TYPa, SLP_TYPb, 0, 0 } */
    aml_open(&a);
    aml_byte(&a, 4);
    aml_integer(&a, ACPI_S5_TYP);
    aml_integer(&a, 0);
    aml_integer(&a, 0);
    aml_integer(&a, 0);
    aml_close(&a);
    aml_byte(&a, 0x10);                  /* ScopeOp (\_SB) */
    aml_open(&a);
    aml_bytes(&a, "\\_SB_", 5);
    if (c->uart)
        dsdt_isa(&a, "COM1", "PNP0501", 0x3F8, 8, 4);
    if (c->rtc)
        dsdt_isa(&a, "RTC_", "PNP0B00", 0x70, 2, 8);
    if (c->ecam_base)
        dsdt_pci_root(&a);
    for (int i = 0; i < c->nvirtio; i++)
        if (c->virtio_mask & (1u << i))
            dsdt_virtio(&a, c, i);
    aml_close(&a);
    if (a.err || a.depth)
        return a.err ? a.err : -EINVAL;
    table_header(t, "DSDT", (uint32_t)a.len, 2);
    table_finish(t, (uint32_t)a.len);
    return (int)a.len;
}

/* Generic Address Structure (ACPI 6.4 5.2.3.2) for an I/O port of bytes bytes (1, 2 or 4), accessed whole. */
static void gas_io(uint8_t *g, uint16_t port, int bytes)
{
    g[0] = 1;                            /* SystemIO */
    g[1] = (uint8_t)(8 * bytes);
    g[2] = 0;
    g[3] = (uint8_t)(bytes == 4 ? 3 : bytes);   /* access size: 1 byte, 2 word, 3 dword */
    put_le64(g + 4, port);
}

/*
 * FADT revision 6, HW_REDUCED_ACPI: Linux then skips the 8259 and the PIT timer checks
 * (arch/x86/kernel/acpi/boot.c acpi_reduced_hw_init) and calibrates the LAPIC timer against the TSC,
 * whose rate shoal passes. It still reads X_PM_TMR_BLK (acpi_parse_fadt): the PM timer is its clocksource
 * when it finds the TSCs unsynchronized, instead of counting ticks. Reset: 0xFE to the i8042's port 0x64.
 * Poweroff: the sleep registers.
 */
static int fadt_build(uint8_t *t, size_t cap, uint64_t dsdt)
{
    if (cap < FADT_LEN)
        return -ENOSPC;
    memset(t, 0, FADT_LEN);
    table_header(t, "FACP", FADT_LEN, 6);
    put_le32(t + 40, (uint32_t)dsdt);
    put_le16(t + 46, 9);                                 /* SCI_INT: unused when hardware-reduced */
    put_le16(t + 109, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_NO_VGA);
    put_le32(t + 76, ACPI_PM_TMR_PORT);                  /* PM_TMR_BLK */
    t[91] = 4;                                           /* PM_TMR_LEN */
    put_le32(t + 112, FADT_WBINVD | FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP | FADT_HW_REDUCED);
    gas_io(t + 116, 0x64, 1);                            /* RESET_REG */
    t[128] = 0xFE;                                       /* RESET_VALUE */
    t[131] = 4;                                          /* FADT minor version (ACPI 6.4) */
    put_le64(t + 140, dsdt);                             /* X_DSDT */
    gas_io(t + 208, ACPI_PM_TMR_PORT, 4);                /* X_PM_TMR_BLK */
    gas_io(t + 244, ACPI_SLEEP_CTL_PORT, 1);
    gas_io(t + 256, ACPI_SLEEP_STS_PORT, 1);
    memcpy(t + 268, "ShoalHV\0", 8);                     /* hypervisor vendor identity */
    table_finish(t, FADT_LEN);
    return FADT_LEN;
}

/* MADT (ACPI 6.4 5.2.12): Local APICs, the IOAPIC with GSI base 0, ISA IRQ0 -> GSI 2. No PCAT_COMPAT. */
static int madt_build(uint8_t *t, size_t cap, const struct acpi_config *c)
{
    size_t len = 44 + (size_t)c->ncpus * 8 + 12 + 10;
    uint8_t *e;
    if (cap < len)
        return -ENOSPC;
    memset(t, 0, len);
    table_header(t, "APIC", (uint32_t)len, 5);
    put_le32(t + 36, (uint32_t)c->lapic_base);
    e = t + 44;
    for (int i = 0; i < c->ncpus; i++, e += 8) {
        e[0] = 0;                                        /* Processor Local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i;                               /* ACPI processor UID */
        e[3] = (uint8_t)i;                               /* APIC ID */
        put_le32(e + 4, 1);                              /* enabled */
    }
    e[0] = 1;                                            /* I/O APIC, id 0 */
    e[1] = 12;
    put_le32(e + 4, (uint32_t)c->ioapic_base);
    put_le32(e + 8, 0);
    e += 12;
    e[0] = 2;                                            /* Interrupt Source Override */
    e[1] = 10;
    e[3] = 0;                                            /* ISA IRQ 0 */
    put_le32(e + 4, 2);                                  /* -> GSI 2, flags 0: bus default (edge, high) */
    table_finish(t, (uint32_t)len);
    return (int)len;
}

/* MCFG (PCI Firmware Spec 3.2 4.1.2): one ECAM allocation, segment 0, buses 0..0. */
static int mcfg_build(uint8_t *t, size_t cap, uint64_t ecam)
{
    const uint32_t len = HDR_LEN + 8 + 16;
    if (cap < len)
        return -ENOSPC;
    memset(t, 0, len);
    table_header(t, "MCFG", len, 1);
    put_le64(t + 44, ecam);                              /* segment 0, start and end bus 0 */
    table_finish(t, len);
    return (int)len;
}

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_config *c)
{
    size_t rsdp = 0, xsdt = 48, fadt = 112, madt, mcfg = 0, dsdt;  /* XSDT: 36 + 3 * 8 bytes at most */
    uint32_t nx = c->ecam_base ? 3 : 2;
    int n, dsdt_len;

    if (c->ncpus < 1 || c->ncpus > 255 || c->nvirtio < 0 || c->nvirtio > ACPI_MAX_VIRTIO)
        return -EINVAL;
    if (len < fadt + FADT_LEN)
        return -ENOSPC;
    memset(buf, 0, len);
    madt = align16(fadt + FADT_LEN);
    if ((n = madt_build(buf + madt, len - madt, c)) < 0)
        return n;
    dsdt = align16(madt + (size_t)n);
    if (c->ecam_base) {
        mcfg = dsdt;
        if ((n = mcfg_build(buf + mcfg, len - mcfg, c->ecam_base)) < 0)
            return n;
        dsdt = align16(mcfg + (size_t)n);
    }
    if (dsdt > len || (dsdt_len = dsdt_build(buf + dsdt, len - dsdt, c)) < 0)
        return dsdt > len ? -ENOSPC : dsdt_len;
    if ((n = fadt_build(buf + fadt, len - fadt, gpa + dsdt)) < 0)
        return n;
    table_header(buf + xsdt, "XSDT", HDR_LEN + nx * 8, 1);   /* XSDT (5.2.8): FADT, MADT[, MCFG] */
    put_le64(buf + xsdt + HDR_LEN, gpa + fadt);
    put_le64(buf + xsdt + HDR_LEN + 8, gpa + madt);
    if (c->ecam_base)
        put_le64(buf + xsdt + HDR_LEN + 16, gpa + mcfg);
    table_finish(buf + xsdt, HDR_LEN + nx * 8);
    memcpy(buf + rsdp, "RSD PTR ", 8);                  /* RSDP v2 (5.2.5.3) */
    memcpy(buf + rsdp + 9, "SHOAL ", 6);
    buf[rsdp + 15] = 2;
    put_le32(buf + rsdp + 20, 36);
    put_le64(buf + rsdp + 24, gpa + xsdt);
    buf[rsdp + 8] = (uint8_t)-acpi_sum(buf + rsdp, 20);
    buf[rsdp + 32] = (uint8_t)-acpi_sum(buf + rsdp, 36);
    return (int)(dsdt + (size_t)dsdt_len);
}

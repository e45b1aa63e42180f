/* ACPI table parsing over a phys_view: RSDP, RSDT/XSDT, MADT, MCFG, FADT (ACPI 6.4 chapter 5.2). */
#include "drivers/acpi_tables.h"
#include "kernel/byteorder.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define SDT_HDR_LEN   36
#define SDT_MAX_LEN   (16u << 20)      /* no sane table is larger; rejects garbage lengths */
#define RSDP_V1_LEN   20
#define RSDP_V2_LEN   36

uint8_t acpi_checksum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (n--)
        s += *b++;
    return s;
}

static const uint8_t *view(const struct phys_view *pv, uint64_t pa, size_t len)
{
    if (!pa || pa + len < pa)
        return NULL;
    return pv->map(pv->ctx, pa, len);
}

/* A valid RSDP at pa (ACPI 6.4 5.2.5.3): signature, v1 checksum, and for rev >= 2 the extended one. */
static const uint8_t *rsdp_check(const struct phys_view *pv, uint64_t pa)
{
    const uint8_t *r = view(pv, pa, RSDP_V1_LEN);
    if (!r || memcmp(r, "RSD PTR ", 8) || acpi_checksum(r, RSDP_V1_LEN))
        return NULL;
    if (r[15] >= 2) {
        const uint8_t *x = view(pv, pa, RSDP_V2_LEN);
        uint32_t len = x ? get_le32(x + 20) : 0;
        if (!x || len < RSDP_V2_LEN || len > 4096 || !(x = view(pv, pa, len)) || acpi_checksum(x, len))
            return NULL;
        return x;
    }
    return r;
}

uint64_t acpi_find_rsdp(const struct phys_view *pv, uint64_t start, uint64_t len)
{
    uint64_t pa = (start + 15) & ~15ull;
    for (; pa + RSDP_V1_LEN <= start + len; pa += 16)
        if (rsdp_check(pv, pa))
            return pa;
    return 0;
}

/* Firmware pads ids with NULs (Bochs: "BXPC\\0\\0"): show those as spaces, other junk as '?'. */
static void printable(char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!s[i])
            s[i] = ' ';
        else if (s[i] < 0x20 || s[i] > 0x7e)
            s[i] = '?';
}

static void note_table(struct acpi_info *ai, const uint8_t *h, uint64_t pa)
{
    struct acpi_table_ref *t;
    if (ai->ntables == ACPI_MAX_TABLES)
        return;
    t = &ai->tables[ai->ntables++];
    memcpy(t->sig, h, 4);
    t->sig[4] = 0;
    memcpy(t->oem_id, h + 10, 6);
    t->oem_id[6] = 0;
    printable(t->oem_id, 6);
    printable(t->sig, 4);
    t->pa = pa;
    t->len = get_le32(h + 4);
}

/*
 * Map a whole system description table at pa: header readable, length within [36, 16 MiB] and
 * readable, checksum zero, and the signature sig when given. NULL (with a warning) otherwise.
 */
static const uint8_t *table_map(const struct phys_view *pv, uint64_t pa, const char *sig, struct acpi_info *ai)
{
    const uint8_t *h = view(pv, pa, SDT_HDR_LEN), *t;
    uint32_t len;
    if (!h) {
        log_warn("acpi: table at %#llx unreadable, skipped", (unsigned long long)pa);
        goto bad;
    }
    len = get_le32(h + 4);
    if ((sig && memcmp(h, sig, 4)) || len < SDT_HDR_LEN || len > SDT_MAX_LEN) {
        log_warn("acpi: table at %#llx: bad signature or length %u, skipped", (unsigned long long)pa, len);
        goto bad;
    }
    if (!(t = view(pv, pa, len))) {
        log_warn("acpi: table %.4s at %#llx: length %u overruns memory, skipped", (const char *)h,
                 (unsigned long long)pa, len);
        goto bad;
    }
    if (acpi_checksum(t, len)) {
        log_warn("acpi: table %.4s at %#llx: bad checksum, skipped", (const char *)h, (unsigned long long)pa);
        goto bad;
    }
    return t;
bad:
    ai->skipped++;
    return NULL;
}

static void madt_entry(const uint8_t *e, uint8_t type, uint8_t len, struct acpi_info *ai)
{
    static const uint8_t min_len[] = { 8, 12, 10, 8, 6, 12, 16, 0, 0, 16, 12 };
    if (type < sizeof(min_len) && len < min_len[type]) {
        ai->bad_entries++;
        return;
    }
    if ((type == 0 || type == 9) && ai->ncpus < ACPI_MAX_CPUS) {
        struct acpi_cpu *c = &ai->cpus[ai->ncpus++];
        c->x2apic = type == 9;
        c->uid = type == 0 ? e[2] : get_le32(e + 12);
        c->apic_id = type == 0 ? e[3] : get_le32(e + 4);
        c->enabled = get_le32(e + (type == 0 ? 4 : 8)) & 1;
    } else if (type == 1 && ai->nioapics < ACPI_MAX_IOAPICS) {
        struct acpi_ioapic *io = &ai->ioapics[ai->nioapics++];
        io->id = e[2];
        io->addr = get_le32(e + 4);
        io->gsi_base = get_le32(e + 8);
    } else if (type == 2 && ai->noverrides < ACPI_MAX_OVERRIDES) {
        struct acpi_override *o = &ai->overrides[ai->noverrides++];
        o->bus = e[2];
        o->irq = e[3];
        o->gsi = get_le32(e + 4);
        o->flags = get_le16(e + 8);
    } else if ((type == 4 || type == 0xA) && ai->nnmis < ACPI_MAX_NMIS) {
        struct acpi_nmi *n = &ai->nmis[ai->nnmis++];
        n->uid = type == 4 ? (e[2] == 0xff ? 0xffffffffu : e[2]) : get_le32(e + 4);
        n->flags = type == 4 ? get_le16(e + 3) : get_le16(e + 2);
        n->lint = type == 4 ? e[5] : e[8];
    } else if (type == 5) {
        ai->lapic_addr = get_le64(e + 4);
    }
}

int acpi_parse_madt(const uint8_t *t, uint32_t len, struct acpi_info *ai)
{
    uint32_t off = 44;
    if (len < 44)
        return -EINVAL;
    ai->have_madt = 1;
    if (!ai->lapic_addr)
        ai->lapic_addr = get_le32(t + 36);
    ai->madt_flags = get_le32(t + 40);
    /* Entries are (type, length, body); a length < 2 would never advance (ACPI 6.4 5.2.12). */
    while (off + 2 <= len) {
        uint8_t type = t[off], elen = t[off + 1];
        if (elen < 2 || off + elen > len) {
            log_warn("acpi: MADT entry at +%u (type %u) has bad length %u: rest ignored", off, type, elen);
            ai->bad_entries++;
            break;
        }
        madt_entry(t + off, type, elen, ai);
        off += elen;
    }
    return 0;
}

int acpi_parse_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *ai)
{
    if (len < 44)
        return -EINVAL;
    /* 8 reserved bytes after the header, then 16-byte allocation entries (PCI Firmware spec 4.1.2). */
    for (uint32_t off = 44; off + 16 <= len; off += 16) {
        struct acpi_mcfg *m;
        if (t[off + 11] < t[off + 10] || !get_le64(t + off)) {
            ai->bad_entries++;
            continue;
        }
        if (ai->nmcfg == ACPI_MAX_MCFG)
            break;
        m = &ai->mcfg[ai->nmcfg++];
        m->base = get_le64(t + off);
        m->segment = get_le16(t + off + 8);
        m->start_bus = t[off + 10];
        m->end_bus = t[off + 11];
    }
    if ((len - 44) % 16)
        ai->bad_entries++;
    return 0;
}

int acpi_parse_fadt(const uint8_t *t, uint32_t len, struct acpi_info *ai)
{
    /* RESET_REG (GAS) at 116, RESET_VALUE at 128, flag bit 10 RESET_REG_SUP (ACPI 6.4 5.2.9). */
    if (len < 129)
        return -EINVAL;
    if (!(get_le32(t + 112) & (1u << 10)) || !get_le64(t + 120))
        return 0;
    ai->reset.present = 1;
    ai->reset.space = t[116];
    ai->reset.width = t[117];
    ai->reset.addr = get_le64(t + 120);
    ai->reset.value = t[128];
    return 0;
}

/* Note and parse one table named by the root table; the FADT also leads to the DSDT. */
static void parse_table(const struct phys_view *pv, uint64_t pa, struct acpi_info *ai, int depth)
{
    const uint8_t *t = table_map(pv, pa, NULL, ai);
    uint32_t len;
    if (!t)
        return;
    len = get_le32(t + 4);
    note_table(ai, t, pa);
    if (!memcmp(t, "APIC", 4) && acpi_parse_madt(t, len, ai))
        log_warn("acpi: MADT too short (%u bytes)", len);
    else if (!memcmp(t, "MCFG", 4) && acpi_parse_mcfg(t, len, ai))
        log_warn("acpi: MCFG too short (%u bytes)", len);
    else if (!memcmp(t, "FACP", 4) && depth == 0) {
        uint64_t dsdt = len >= 148 ? get_le64(t + 140) : 0;
        if (!dsdt && len >= 44)
            dsdt = get_le32(t + 40);
        acpi_parse_fadt(t, len, ai);
        if (dsdt)
            parse_table(pv, dsdt, ai, 1);
    }
}

int acpi_parse(const struct phys_view *pv, uint64_t rsdp_pa, struct acpi_info *ai)
{
    const uint8_t *r = rsdp_check(pv, rsdp_pa), *root = NULL;
    uint32_t len, esz;
    memset(ai, 0, sizeof(*ai));
    if (!r)
        return -EINVAL;
    ai->rsdp_pa = rsdp_pa;
    ai->revision = r[15];
    memcpy(ai->oem_id, r + 9, 6);
    printable(ai->oem_id, 6);
    if (ai->revision >= 2 && get_le64(r + 24) && (root = table_map(pv, get_le64(r + 24), "XSDT", ai))) {
        ai->root_pa = get_le64(r + 24);
        ai->root_is_xsdt = 1;
    } else if (get_le32(r + 16) && (root = table_map(pv, get_le32(r + 16), "RSDT", ai))) {
        ai->root_pa = get_le32(r + 16);
    } else {
        return -ENOENT;
    }
    note_table(ai, root, ai->root_pa);
    len = get_le32(root + 4);
    esz = ai->root_is_xsdt ? 8 : 4;
    for (uint32_t off = SDT_HDR_LEN; off + esz <= len; off += esz)
        parse_table(pv, esz == 8 ? get_le64(root + off) : get_le32(root + off), ai, 0);
    return 0;
}

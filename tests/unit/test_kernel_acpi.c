/* Host tests of the ACPI table parser on crafted tables: good, bad checksum, truncated, malformed entries. */
#define TEST_SUITE "acpi"
#include "tests/unit/test.h"
#include "drivers/acpi_tables.h"

/* A fake physical address space: [0, MEM_SIZE) readable, except the top `hole` bytes. */
#define MEM_SIZE 0x10000
static uint8_t mem[MEM_SIZE];
static size_t mem_limit = MEM_SIZE;

static const void *fake_map(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    if (pa > mem_limit || len > mem_limit - pa)
        return NULL;
    return mem + pa;
}

static const struct phys_view pv = { fake_map, 0 };

#define RSDP_PA 0x100
#define XSDT_PA 0x200
#define RSDT_PA 0x300
#define MADT_PA 0x400
#define MCFG_PA 0x600
#define FADT_PA 0x700
#define DSDT_PA 0x900

static void put16(uint64_t pa, uint16_t v) { memcpy(mem + pa, &v, 2); }
static void put32(uint64_t pa, uint32_t v) { memcpy(mem + pa, &v, 4); }
static void put64(uint64_t pa, uint64_t v) { memcpy(mem + pa, &v, 8); }

static void fix_sum(uint64_t pa, uint32_t len, uint32_t sum_off)
{
    mem[pa + sum_off] = 0;
    mem[pa + sum_off] = (uint8_t)(0x100 - acpi_checksum(mem + pa, len));
}

static void sdt_header(uint64_t pa, const char *sig, uint32_t len)
{
    memcpy(mem + pa, sig, 4);
    put32(pa + 4, len);
    mem[pa + 8] = 1;
    memcpy(mem + pa + 10, "SHOALT", 6);
}

static void make_rsdp(int rev)
{
    memcpy(mem + RSDP_PA, "RSD PTR ", 8);
    memcpy(mem + RSDP_PA + 9, "SHOALR", 6);
    mem[RSDP_PA + 15] = (uint8_t)rev;
    put32(RSDP_PA + 16, RSDT_PA);
    fix_sum(RSDP_PA, 20, 8);
    if (rev >= 2) {
        put32(RSDP_PA + 20, 36);
        put64(RSDP_PA + 24, XSDT_PA);
        fix_sum(RSDP_PA, 36, 32);
    }
}

/* MADT: 2 local APICs (one disabled), 1 x2APIC, an IOAPIC, 2 overrides, an NMI; returns its length. */
static uint32_t make_madt(void)
{
    uint64_t e = MADT_PA + 44;
    uint32_t len;
    put32(MADT_PA + 36, 0xfee00000);
    put32(MADT_PA + 40, 1);
    mem[e] = 0; mem[e + 1] = 8; mem[e + 2] = 0; mem[e + 3] = 0; put32(e + 4, 1); e += 8;
    mem[e] = 0; mem[e + 1] = 8; mem[e + 2] = 1; mem[e + 3] = 2; put32(e + 4, 0); e += 8;
    mem[e] = 9; mem[e + 1] = 16; put32(e + 4, 300); put32(e + 8, 1); put32(e + 12, 7); e += 16;
    mem[e] = 1; mem[e + 1] = 12; mem[e + 2] = 4; put32(e + 4, 0xfec00000); put32(e + 8, 24); e += 12;
    mem[e] = 2; mem[e + 1] = 10; mem[e + 3] = 0; put32(e + 4, 2); put16(e + 8, 0); e += 10;
    mem[e] = 2; mem[e + 1] = 10; mem[e + 3] = 9; put32(e + 4, 9); put16(e + 8, 0xd); e += 10;
    mem[e] = 4; mem[e + 1] = 6; mem[e + 2] = 0xff; put16(e + 3, 5); mem[e + 5] = 1; e += 6;
    len = (uint32_t)(e - MADT_PA);
    sdt_header(MADT_PA, "APIC", len);
    fix_sum(MADT_PA, len, 9);
    return len;
}

static void make_mcfg(void)
{
    sdt_header(MCFG_PA, "MCFG", 60);
    put64(MCFG_PA + 44, 0xb0000000);
    put16(MCFG_PA + 52, 0);
    mem[MCFG_PA + 54] = 0;
    mem[MCFG_PA + 55] = 255;
    fix_sum(MCFG_PA, 60, 9);
}

static void make_fadt(void)
{
    sdt_header(DSDT_PA, "DSDT", 40);
    fix_sum(DSDT_PA, 40, 9);
    sdt_header(FADT_PA, "FACP", 244);
    put32(FADT_PA + 40, DSDT_PA);
    put32(FADT_PA + 112, 1u << 10);
    mem[FADT_PA + 116] = 1;                 /* system I/O */
    mem[FADT_PA + 117] = 8;
    put64(FADT_PA + 120, 0xcf9);
    mem[FADT_PA + 128] = 0x6;
    fix_sum(FADT_PA, 244, 9);
}

static void make_root(const char *sig, uint64_t pa, int esz)
{
    const uint64_t t[] = { MADT_PA, MCFG_PA, FADT_PA };
    uint32_t len = 36 + 3 * esz;
    sdt_header(pa, sig, len);
    for (int i = 0; i < 3; i++) {
        if (esz == 8)
            put64(pa + 36 + 8 * i, t[i]);
        else
            put32(pa + 36 + 4 * i, (uint32_t)t[i]);
    }
    fix_sum(pa, len, 9);
}

/* The whole good set: RSDP rev 2, XSDT and RSDT, MADT, MCFG, FADT with DSDT. */
static void build_all(int rev)
{
    memset(mem, 0, sizeof(mem));
    mem_limit = MEM_SIZE;
    make_madt();
    make_mcfg();
    make_fadt();
    make_root("XSDT", XSDT_PA, 8);
    make_root("RSDT", RSDT_PA, 4);
    make_rsdp(rev);
}

static struct acpi_info ai;

TEST(acpi_good_tables_v2)
{
    build_all(2);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.revision, 2);
    CHECK_EQ(ai.root_is_xsdt, 1);
    CHECK_U64(ai.root_pa, XSDT_PA);
    CHECK_STR(ai.oem_id, "SHOALR");
    CHECK_EQ(ai.ntables, 5);                      /* XSDT, APIC, MCFG, FACP, DSDT */
    CHECK_STR(ai.tables[0].sig, "XSDT");
    CHECK_STR(ai.tables[1].sig, "APIC");
    CHECK_STR(ai.tables[4].sig, "DSDT");
    CHECK_STR(ai.tables[1].oem_id, "SHOALT");
    CHECK_EQ(ai.skipped, 0);
    CHECK_EQ(ai.ncpus, 3);
    CHECK_EQ(ai.cpus[0].enabled, 1);
    CHECK_EQ(ai.cpus[1].enabled, 0);
    CHECK_EQ(ai.cpus[1].apic_id, 2);
    CHECK_EQ(ai.cpus[2].x2apic, 1);
    CHECK_EQ(ai.cpus[2].apic_id, 300);
    CHECK_EQ(ai.cpus[2].uid, 7);
    CHECK_EQ(ai.nioapics, 1);
    CHECK_EQ(ai.ioapics[0].id, 4);
    CHECK_U64(ai.ioapics[0].addr, 0xfec00000);
    CHECK_EQ(ai.ioapics[0].gsi_base, 24);
    CHECK_EQ(ai.noverrides, 2);
    CHECK_EQ(ai.overrides[0].irq, 0);
    CHECK_EQ(ai.overrides[0].gsi, 2);
    CHECK_EQ(ai.overrides[1].flags, 0xd);
    CHECK_EQ(ai.nnmis, 1);
    CHECK_U64(ai.nmis[0].uid, 0xffffffffu);
    CHECK_EQ(ai.nmis[0].lint, 1);
    CHECK_EQ(ai.nmcfg, 1);
    CHECK_U64(ai.mcfg[0].base, 0xb0000000);
    CHECK_EQ(ai.mcfg[0].end_bus, 255);
    CHECK_EQ(ai.reset.present, 1);
    CHECK_U64(ai.reset.addr, 0xcf9);
    CHECK_EQ(ai.reset.value, 6);
    CHECK_U64(ai.lapic_addr, 0xfee00000);
    CHECK_EQ(ai.bad_entries, 0);
}

TEST(acpi_v1_uses_rsdt)
{
    build_all(0);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.root_is_xsdt, 0);
    CHECK_U64(ai.root_pa, RSDT_PA);
    CHECK_EQ(ai.ncpus, 3);
    CHECK_EQ(ai.nmcfg, 1);
}

TEST(acpi_bad_xsdt_falls_back_to_rsdt)
{
    build_all(2);
    mem[XSDT_PA + 9] ^= 0x55;
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.root_is_xsdt, 0);
    CHECK_EQ(ai.skipped, 1);
    CHECK_EQ(ai.nioapics, 1);
}

TEST(acpi_bad_rsdp_checksums)
{
    build_all(2);
    mem[RSDP_PA + 30] ^= 1;                       /* breaks only the extended checksum */
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), -22);
    CHECK_U64(acpi_find_rsdp(&pv, 0, 0x1000), 0);
    build_all(0);
    mem[RSDP_PA + 16] ^= 1;
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), -22);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA + 1, &ai), -22);
}

TEST(acpi_find_rsdp_scans_aligned)
{
    build_all(2);
    memcpy(mem + 0x40, "RSD PTR ", 8);            /* a decoy with a bad checksum */
    CHECK_U64(acpi_find_rsdp(&pv, 0, 0x1000), RSDP_PA);
    CHECK_U64(acpi_find_rsdp(&pv, RSDP_PA + 16, 0x1000), 0);
    CHECK_U64(acpi_find_rsdp(&pv, 0, RSDP_PA + 8), 0);   /* range ends inside it */
}

TEST(acpi_bad_table_checksum_skipped)
{
    build_all(2);
    mem[MADT_PA + 50] ^= 0xff;
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.have_madt, 0);
    CHECK_EQ(ai.ncpus, 0);
    CHECK_EQ(ai.skipped, 1);
    CHECK_EQ(ai.nmcfg, 1);                        /* the other tables still parse */
    CHECK_EQ(ai.reset.present, 1);
}

TEST(acpi_table_length_overruns_memory)
{
    build_all(2);
    put32(MCFG_PA + 4, 0x20000);                  /* past the end of the fake memory */
    fix_sum(MCFG_PA, 60, 9);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.nmcfg, 0);
    CHECK_EQ(ai.skipped, 1);
    build_all(2);
    put32(MADT_PA + 4, 20);                       /* shorter than a header */
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.have_madt, 0);
    CHECK_EQ(ai.skipped, 1);
}

TEST(acpi_truncated_view)
{
    build_all(2);
    mem_limit = MADT_PA + 40;                     /* MADT header readable, body not */
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.have_madt, 0);
    CHECK_EQ(ai.nmcfg, 0);
    CHECK_EQ(ai.skipped, 3);                      /* MADT, MCFG, FACP */
    mem_limit = RSDP_PA + 10;
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), -22);
}

TEST(acpi_madt_zero_length_entry_ends)
{
    uint32_t len;
    build_all(2);
    len = make_madt();
    mem[MADT_PA + 44 + 8 + 1] = 0;                /* second entry: length 0 */
    sdt_header(MADT_PA, "APIC", len);
    fix_sum(MADT_PA, len, 9);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.have_madt, 1);
    CHECK_EQ(ai.ncpus, 1);
    CHECK_EQ(ai.nioapics, 0);
    CHECK_EQ(ai.bad_entries, 1);
}

TEST(acpi_madt_entry_overruns_table)
{
    uint8_t t[64] = { 0 };
    memset(&ai, 0, sizeof(ai));
    memcpy(t, "APIC", 4);
    t[44] = 1;                                    /* IOAPIC claiming 12 bytes at 56: ends at 68 > 60 */
    t[45] = 12;
    t[56] = 1;
    t[57] = 12;
    CHECK_EQ(acpi_parse_madt(t, 60, &ai), 0);
    CHECK_EQ(ai.nioapics, 1);
    CHECK_EQ(ai.bad_entries, 1);
    memset(&ai, 0, sizeof(ai));
    t[45] = 4;                                    /* a too-short IOAPIC entry is ignored, walk goes on */
    t[48] = 0;
    t[49] = 8;
    t[56] = 0;
    t[57] = 1;
    CHECK_EQ(acpi_parse_madt(t, 58, &ai), 0);
    CHECK_EQ(ai.nioapics, 0);
    CHECK_EQ(ai.ncpus, 1);
    CHECK_EQ(ai.bad_entries, 2);
    CHECK_EQ(acpi_parse_madt(t, 40, &ai), -22);
}

TEST(acpi_mcfg_bad_entries)
{
    uint8_t t[44 + 16 * 2 + 5] = { 0 };
    memset(&ai, 0, sizeof(ai));
    t[44 + 10] = 5;                               /* start bus 5 > end bus 0: rejected */
    memcpy(t + 60, "\0\0\0\xe0\0\0\0\0", 8);      /* base 0xe0000000 */
    t[60 + 8] = 1;                                /* segment 1 */
    t[60 + 11] = 63;
    CHECK_EQ(acpi_parse_mcfg(t, sizeof(t), &ai), 0);
    CHECK_EQ(ai.nmcfg, 1);
    CHECK_U64(ai.mcfg[0].base, 0xe0000000);
    CHECK_EQ(ai.mcfg[0].segment, 1);
    CHECK_EQ(ai.mcfg[0].end_bus, 63);
    CHECK_EQ(ai.bad_entries, 2);                  /* the inverted range and the 5-byte tail */
}

TEST(acpi_fadt_without_reset_reg)
{
    build_all(2);
    put32(FADT_PA + 112, 0);
    fix_sum(FADT_PA, 244, 9);
    CHECK_EQ(acpi_parse(&pv, RSDP_PA, &ai), 0);
    CHECK_EQ(ai.reset.present, 0);
    CHECK_EQ(ai.ntables, 5);
    memset(&ai, 0, sizeof(ai));
    CHECK_EQ(acpi_parse_fadt(mem + FADT_PA, 100, &ai), -22);
}

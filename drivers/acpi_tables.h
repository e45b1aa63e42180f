/* ACPI table parsing (RSDP, RSDT/XSDT, MADT, MCFG, FADT) over a phys_view: portable, host-tested. */
#ifndef SHOAL_DRIVERS_ACPI_TABLES_H
#define SHOAL_DRIVERS_ACPI_TABLES_H
#include <stdint.h>
#include <stddef.h>
#include "kernel/bootinfo.h"

#define ACPI_MAX_TABLES    48
#define ACPI_MAX_CPUS      256
#define ACPI_MAX_IOAPICS   16
#define ACPI_MAX_OVERRIDES 24
#define ACPI_MAX_NMIS      16
#define ACPI_MAX_MCFG      8

struct acpi_table_ref {
    char sig[5];
    char oem_id[7];
    uint64_t pa;
    uint32_t len;
};

struct acpi_cpu { uint32_t uid, apic_id; int enabled, x2apic; };
struct acpi_ioapic { uint32_t id, addr, gsi_base; };
struct acpi_override { uint8_t bus, irq; uint32_t gsi; uint16_t flags; };
struct acpi_nmi { uint32_t uid; uint8_t lint; uint16_t flags; };     /* uid 0xff / ~0: all CPUs */
struct acpi_mcfg { uint64_t base; uint16_t segment; uint8_t start_bus, end_bus; };

/* Generic address structure (ACPI 6.4 5.2.3.2) of the FADT reset register. */
struct acpi_reset { int present; uint8_t space, width; uint64_t addr; uint8_t value; };

struct acpi_info {
    uint64_t rsdp_pa;
    uint8_t revision;                  /* RSDP revision: 0 = ACPI 1.0 (RSDT only), 2 = XSDT */
    char oem_id[7];
    uint64_t root_pa;                  /* the XSDT when usable, else the RSDT */
    int root_is_xsdt;
    struct acpi_table_ref tables[ACPI_MAX_TABLES];
    int ntables;
    int skipped;                       /* tables rejected (checksum, length, unreadable) */
    int have_madt;
    uint64_t lapic_addr;                /* MADT field, or the type-5 override */
    uint32_t madt_flags;
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    int ncpus;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    int nioapics;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    int noverrides;
    struct acpi_nmi nmis[ACPI_MAX_NMIS];
    int nnmis;
    struct acpi_mcfg mcfg[ACPI_MAX_MCFG];
    int nmcfg;
    struct acpi_reset reset;
    int bad_entries;                   /* MADT/MCFG entries rejected as malformed */
};

/* Sum of n bytes modulo 256: zero for a valid ACPI checksum. */
uint8_t acpi_checksum(const void *p, size_t n);

/*
 * Search [start, start+len) at 16-byte steps for a valid RSDP ("RSD PTR ", v1 checksum, and the
 * extended checksum when revision >= 2). Returns its physical address, or 0 when none is found.
 */
uint64_t acpi_find_rsdp(const struct phys_view *pv, uint64_t start, uint64_t len);

/*
 * Validate the RSDP at rsdp_pa, walk the XSDT (or the RSDT when there is no valid XSDT) and parse the
 * MADT, MCFG and FADT into *ai (zeroed first). Tables with bad checksums, impossible lengths or
 * unreadable memory are skipped with a warning. Returns 0, -EINVAL for a bad RSDP, -ENOENT when
 * neither root table is usable.
 */
int acpi_parse(const struct phys_view *pv, uint64_t rsdp_pa, struct acpi_info *ai);

/*
 * Parse a MADT of len bytes (header included, checksum already checked) into *ai. Entries of length
 * < 2 or running past the table end stop the walk (counted in bad_entries). Returns 0 or -EINVAL.
 */
int acpi_parse_madt(const uint8_t *t, uint32_t len, struct acpi_info *ai);
/* Parse an MCFG of len bytes into *ai (partial trailing entries ignored). Returns 0 or -EINVAL. */
int acpi_parse_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *ai);
/* Parse the FADT's reset register (ACPI 2.0+, flag RESET_REG_SUP) into ai->reset. Returns 0 or -EINVAL. */
int acpi_parse_fadt(const uint8_t *t, uint32_t len, struct acpi_info *ai);
#endif

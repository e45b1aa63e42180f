/* ACPI tables: RSDP, RSDT/XSDT, MADT (CPUs, IOAPICs, overrides), MCFG. */
#ifndef SHOAL_DRIVERS_ACPI_H
#define SHOAL_DRIVERS_ACPI_H
#include <stdint.h>
#include "drivers/acpi_tables.h"

/*
 * Find the RSDP (at hint_phys when nonzero, e.g. the multiboot2 copy or EFI's table; else, and when
 * the hint is unusable, the EBDA and BIOS area if legacy_scan: never under UEFI, where those areas
 * are ordinary memory), validate checksums and parse the MADT and MCFG. Returns 0, or -ENOENT when
 * there is no ACPI.
 */
int acpi_init(uint64_t hint_phys, int legacy_scan);
/* ECAM base for PCI segment 0 covering bus, or 0 when MCFG does not describe it. */
uint64_t acpi_ecam_base(uint8_t *start_bus, uint8_t *end_bus);
/* What acpi_init found (CPUs, IOAPICs, overrides, MCFG, tables), or NULL before/without ACPI. */
const struct acpi_info *acpi_get(void);
#endif

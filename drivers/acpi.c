/* ACPI in the kernel: locate the RSDP, run the table parser over the identity map, `acpi` command. */
#include "drivers/acpi.h"
#include "arch/x86/paging.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/printf.h"
#include "kernel/shell.h"

static struct acpi_info acpi;
static int acpi_ok;

/* Physical memory below paging_mapped_top() is identity-mapped (arch/x86/paging.h). */
static const void *acpi_map(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    if (pa + len < pa || pa + len > paging_mapped_top())
        return NULL;
    return (const void *)(uintptr_t)pa;
}

static const struct phys_view acpi_view = { acpi_map, 0 };

/* ACPI 6.4 5.2.5.1: the first KiB of the EBDA (segment at 0x40E), then 0xE0000-0xFFFFF. */
static uint64_t rsdp_search(void)
{
    uintptr_t bda = 0x40E;
    uint64_t ebda, pa = 0;
    __asm__("" : "+r"(bda));     /* a low constant address: keep GCC's array-bounds check out of it */
    ebda = (uint64_t)*(volatile uint16_t *)bda << 4;
    if (ebda >= 0x80000 && ebda < 0xA0000)
        pa = acpi_find_rsdp(&acpi_view, ebda, 1024);
    if (!pa)
        pa = acpi_find_rsdp(&acpi_view, 0xE0000, 0x20000);
    return pa;
}

int acpi_init(uint64_t hint_phys, int legacy_scan)
{
    uint64_t rsdp = hint_phys ? hint_phys : legacy_scan ? rsdp_search() : 0;
    int rc;
    if (!rsdp || (rc = acpi_parse(&acpi_view, rsdp, &acpi)) < 0) {
        if (hint_phys && legacy_scan && (rsdp = rsdp_search()) && rsdp != hint_phys)
            rc = acpi_parse(&acpi_view, rsdp, &acpi);
        else
            rc = -ENOENT;
    }
    if (rc < 0) {
        log_warn("acpi: no usable RSDP (%d)%s: no MADT, no MCFG", rc,
                 legacy_scan ? "" : " from the loader or EFI (UEFI: BIOS areas not searched)");
        return -ENOENT;
    }
    acpi_ok = 1;
    log_info("acpi: rsdp at %#llx rev %u, %d tables (%d skipped), %d cpus, %d ioapics, %d overrides, %d mcfg",
             (unsigned long long)acpi.rsdp_pa, acpi.revision, acpi.ntables, acpi.skipped, acpi.ncpus,
             acpi.nioapics, acpi.noverrides, acpi.nmcfg);
    if (acpi.bad_entries)
        log_warn("acpi: %d malformed MADT/MCFG entries ignored", acpi.bad_entries);
    return 0;
}

const struct acpi_info *acpi_get(void)
{
    return acpi_ok ? &acpi : 0;
}

uint64_t acpi_ecam_base(uint8_t *start_bus, uint8_t *end_bus)
{
    for (int i = 0; acpi_ok && i < acpi.nmcfg; i++)
        if (acpi.mcfg[i].segment == 0) {
            if (start_bus)
                *start_bus = acpi.mcfg[i].start_bus;
            if (end_bus)
                *end_bus = acpi.mcfg[i].end_bus;
            return acpi.mcfg[i].base;
        }
    return 0;
}

static void print_madt(void)
{
    kprintf("madt: local apic at %#llx, flags %#x%s\n", (unsigned long long)acpi.lapic_addr, acpi.madt_flags,
            acpi.madt_flags & 1 ? " (pc-at 8259s)" : "");
    for (int i = 0; i < acpi.ncpus; i++)
        kprintf("cpu %d apic-id %u %s\n", i, acpi.cpus[i].apic_id, acpi.cpus[i].enabled ? "enabled" : "disabled");
    for (int i = 0; i < acpi.nioapics; i++)
        kprintf("ioapic id %u at %#x gsi-base %u\n", acpi.ioapics[i].id, acpi.ioapics[i].addr,
                acpi.ioapics[i].gsi_base);
    for (int i = 0; i < acpi.noverrides; i++)
        kprintf("override irq %u -> gsi %u flags %#x\n", acpi.overrides[i].irq, acpi.overrides[i].gsi,
                acpi.overrides[i].flags);
    for (int i = 0; i < acpi.nnmis; i++) {
        if (acpi.nmis[i].uid == 0xffffffffu)
            kprintf("nmi cpu all lint%u flags %#x\n", acpi.nmis[i].lint, acpi.nmis[i].flags);
        else
            kprintf("nmi cpu uid %u lint%u flags %#x\n", acpi.nmis[i].uid, acpi.nmis[i].lint, acpi.nmis[i].flags);
    }
}

static int cmd_acpi(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return shell_usage("acpi");
    if (!acpi_ok) {
        kprintf("acpi: not found\n");
        return -ENOENT;
    }
    kprintf("rsdp at %#llx revision %u oem '%s', root %s at %#llx\n", (unsigned long long)acpi.rsdp_pa,
            acpi.revision, acpi.oem_id, acpi.root_is_xsdt ? "XSDT" : "RSDT", (unsigned long long)acpi.root_pa);
    for (int i = 0; i < acpi.ntables; i++)
        kprintf("table %s at %#llx length %u oem '%s'\n", acpi.tables[i].sig,
                (unsigned long long)acpi.tables[i].pa, acpi.tables[i].len, acpi.tables[i].oem_id);
    if (acpi.skipped)
        kprintf("%d tables skipped (bad checksum or length)\n", acpi.skipped);
    print_madt();
    for (int i = 0; i < acpi.nmcfg; i++)
        kprintf("mcfg segment %u buses %u-%u at %#llx\n", acpi.mcfg[i].segment, acpi.mcfg[i].start_bus,
                acpi.mcfg[i].end_bus, (unsigned long long)acpi.mcfg[i].base);
    if (acpi.reset.present)
        kprintf("reset register: space %u address %#llx value %#x\n", acpi.reset.space,
                (unsigned long long)acpi.reset.addr, acpi.reset.value);
    return 0;
}
SHELL_COMMAND("acpi", "", "ACPI tables, MADT (CPUs, IOAPICs, overrides) and MCFG", cmd_acpi);

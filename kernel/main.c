/* kmain: the boot order, from the loader's hand-off to the shell prompt. */
#include <stdint.h>
#include "kernel/bootinfo.h"
#include "kernel/console.h"
#include "kernel/printf.h"
#include "kernel/log.h"
#include "kernel/param.h"
#include "kernel/pmm.h"
#include "kernel/shell.h"
#include "kernel/init.h"
#include "kernel/kernel.h"
#include "kernel/kstring.h"
#include "arch/x86/smp.h"
#include "kernel/biglock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"
#include "arch/x86/paging.h"
#include "arch/x86/tsc.h"
#include "arch/x86/lapic.h"
#include "arch/x86/cpuinfo.h"
#include "drivers/acpi.h"
#include "drivers/pci.h"
#include "arch/x86/hvm.h"

#define SHOAL_VERSION "0.1"

struct boot_info boot_info;
static const char *boot_params_line = "";

extern const struct init_hook *const __init_hooks_start[], *const __init_hooks_end[];
extern char __image_start[], __image_end[];

static const void *identity_map(void *ctx, uint64_t pa, size_t len)
{
    (void)ctx;
    if (pa + len > (4ull << 30) || pa + len < pa)   /* the boot map covers the first 4 GiB */
        return NULL;
    return (const void *)(uintptr_t)pa;
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Where the allocator's bitmap can live: available, mapped, clear of the image, info and modules. */
static uint64_t place_bitmap(size_t bytes)
{
    uint64_t img_end = (uint64_t)(uintptr_t)__image_end;
    for (int i = 0; i < boot_info.nmem; i++) {
        const struct mem_range *r = &boot_info.mem[i];
        if (r->type != MEM_AVAILABLE)
            continue;
        for (uint64_t pa = (r->base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
             pa + bytes <= r->base + r->len && pa + bytes <= (4ull << 30); pa += PAGE_SIZE) {
            int clash = pa < (1 << 20) || ranges_overlap(pa, bytes, 0x100000, img_end - 0x100000) ||
                        ranges_overlap(pa, bytes, boot_info.info_start, boot_info.info_end - boot_info.info_start);
            for (int m = 0; m < boot_info.nmod && !clash; m++)
                clash = ranges_overlap(pa, bytes, boot_info.mod[m].start,
                                       boot_info.mod[m].end - boot_info.mod[m].start);
            if (!clash)
                return pa;
        }
    }
    return 0;
}

static void memory_init(void)
{
    size_t bytes = pmm_bitmap_bytes(boot_info.mem, boot_info.nmem);
    uint64_t bm = place_bitmap(bytes), top = 0;

    if (!bm)
        panic("no room for the page allocator's bitmap (%zu bytes)", bytes);
    pmm_init(boot_info.mem, boot_info.nmem, (uint64_t *)(uintptr_t)bm, bytes);
    pmm_reserve(0, 1 << 20);                     /* real-mode area, BIOS data, option ROMs */
    pmm_reserve((uint64_t)(uintptr_t)__image_start, (uint64_t)(uintptr_t)(__image_end - __image_start));
    pmm_reserve(boot_info.info_start, boot_info.info_end - boot_info.info_start);
    pmm_reserve(bm, bytes);
    for (int m = 0; m < boot_info.nmod; m++)
        pmm_reserve(boot_info.mod[m].start, boot_info.mod[m].end - boot_info.mod[m].start);
    for (int i = 0; i < boot_info.nmem; i++)
        if (boot_info.mem[i].type == MEM_AVAILABLE && boot_info.mem[i].base + boot_info.mem[i].len > top)
            top = boot_info.mem[i].base + boot_info.mem[i].len;
    paging_map_identity(top);
}

void init_run_hooks(void)
{
    for (int level = 0; level <= INIT_LATE; level++)
        for (const struct init_hook *const *h = __init_hooks_start; h < __init_hooks_end; h++)
            if ((*h)->level == level) {
                int rc = (*h)->fn();
                if (rc < 0)
                    log_warn("init: %s failed (%d)", (*h)->name, rc);
            }
}

const char *kernel_boot_params(void)
{
    return boot_params_line;
}

void kmain(uint32_t magic, uint32_t info);
void kmain(uint32_t magic, uint32_t info)
{
    struct phys_view pv = { identity_map, 0 };
    int rc;

    console_early_init();
    kprintf("\nshoal " SHOAL_VERSION ": thin hypervisor for cloning and moving VMs\n");
    rc = bootinfo_parse(magic, info, &pv, &boot_info);
    if (rc)
        panic("boot information unusable (magic %#x, error %d): need a multiboot loader", magic, rc);
    boot_params_line = cmdline_strip_loader_path(boot_info.cmdline);
    gdt_init();
    idt_init();
    memory_init();
    params_apply_boot(boot_params_line);
    log_info("multiboot%d from '%s', command line '%s'", boot_info.protocol,
             boot_info.loader[0] ? boot_info.loader : "?", boot_params_line);
    log_info("firmware %s%s, memory map from the %s (%d entries)",
             boot_info.firmware == BOOT_FW_UEFI ? "UEFI" : "BIOS", boot_info.firmware_assumed ? " (assumed)" : "",
             bootinfo_mmap_source_name(boot_info.mmap_source), boot_info.mmap_entries);
    cpuinfo_detect();
    tsc_init();
    log_info("tsc: %llu kHz (%s)", (unsigned long long)(tsc_hz() / 1000), tsc_source());
    acpi_init(boot_info.rsdp_phys, boot_info.firmware != BOOT_FW_UEFI);
    lapic_init();
    irq_enable();
    pci_init();
    hvm_init();
    smp_init();
    big_lock();                                  /* from here on the other CPUs may run vCPUs: kernel/biglock.h */
    shell_init();
    init_run_hooks();
    kernel_run_boot_actions();
    kprintf("shoal ready. Type 'help' for commands.\n");
    shell_loop();
}

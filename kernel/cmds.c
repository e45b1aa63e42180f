/* Core shell commands: info, mem, log, reboot, halt, fault; and the fault= boot action. */
#include <stdint.h>
#include "kernel/shell.h"
#include "kernel/param.h"
#include "kernel/printf.h"
#include "kernel/console.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/time.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuinfo.h"
#include "arch/x86/smp.h"
#include "drivers/acpi.h"

static char boot_fault[8];

static void print_memory(void)
{
    struct pmm_stats ps;
    struct heap_stats hs;
    uint64_t usable = memmap_total_available(&boot_info);
    pmm_get_stats(&ps);
    heap_get_stats(&hs);
    kprintf("memory: %llu MiB usable (%llu KiB)\n", (unsigned long long)(usable >> 20),
            (unsigned long long)(usable >> 10));
    kprintf("pages: %llu managed, %llu free, %llu allocated, %llu reserved (kernel, modules, boot info)\n",
            (unsigned long long)ps.managed_pages, (unsigned long long)ps.free_pages,
            (unsigned long long)ps.alloc_pages, (unsigned long long)ps.reserved_pages);
    kprintf("heap: %llu bytes in use, %llu pages, %llu allocs, %llu frees\n",
            (unsigned long long)hs.bytes_in_use, (unsigned long long)hs.pages,
            (unsigned long long)hs.allocs, (unsigned long long)hs.frees);
    heap_check();
}

static const char *mem_type_name(uint32_t t)
{
    switch (t) {
    case MEM_AVAILABLE: return "available";
    case MEM_ACPI_RECLAIM: return "acpi";
    case MEM_ACPI_NVS: return "acpi-nvs";
    case MEM_BAD: return "bad";
    default: return "reserved";
    }
}

static int cmd_mem(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return shell_usage("mem");
    print_memory();
    kprintf("memory map:\n");
    for (int i = 0; i < boot_info.nmem; i++)
        kprintf("  %016llx-%016llx %s\n", (unsigned long long)boot_info.mem[i].base,
                (unsigned long long)(boot_info.mem[i].base + boot_info.mem[i].len - 1),
                mem_type_name(boot_info.mem[i].type));
    for (int m = 0; m < boot_info.nmod; m++)
        kprintf("module %d: %08llx-%08llx %s\n", m, (unsigned long long)boot_info.mod[m].start,
                (unsigned long long)boot_info.mod[m].end, boot_info.mod[m].name);
    return 0;
}
SHELL_COMMAND("mem", "", "memory map, page allocator and heap use", cmd_mem);

/* How shoal was started: the firmware, where the memory map and the ACPI RSDP came from. */
static void print_boot_sources(void)
{
    const struct acpi_info *ai = acpi_get();
    if (boot_info.firmware == BOOT_FW_UEFI) {
        kprintf("firmware: UEFI");
        if (boot_info.efi_systab)
            kprintf(", EFI%s system table at %#llx", boot_info.efi_64bit ? "64" : "32",
                    (unsigned long long)boot_info.efi_systab);
        kprintf("%s\n", boot_info.efi_boot_services ? ", boot services left running" : "");
    } else {
        kprintf("firmware: BIOS%s\n", boot_info.firmware_assumed ? " (assumed: multiboot1 does not say)" : "");
    }
    kprintf("memory map: %s, %d entries\n", bootinfo_mmap_source_name(boot_info.mmap_source),
            boot_info.mmap_entries);
    if (!ai)
        kprintf("acpi: no usable RSDP\n");
    else if (boot_info.rsdp_phys && ai->rsdp_pa == boot_info.rsdp_phys)
        kprintf("acpi: RSDP at %#llx from the %s\n", (unsigned long long)ai->rsdp_pa,
                bootinfo_rsdp_source_name(boot_info.rsdp_source));
    else
        kprintf("acpi: RSDP at %#llx from the BIOS area scan (EBDA, 0xE0000-0xFFFFF)\n",
                (unsigned long long)ai->rsdp_pa);
}

static int cmd_info(int argc, char **argv)
{
    uint64_t s = time_ns() / 1000000000ull;
    char con[128];
    (void)argv;
    if (argc > 1)
        return shell_usage("info");
    cpuinfo_print();
    smp_describe(con, sizeof(con));
    kprintf("cpus: %s\n", con);
    print_memory();
    console_describe(con, sizeof(con));
    kprintf("console: %s\n", con);
    kprintf("uptime: %llu s (%lluh %02llum %02llus)\n", (unsigned long long)s, (unsigned long long)(s / 3600),
            (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    kprintf("boot: multiboot%d, loader '%s', parameters '%s'\n", boot_info.protocol,
            boot_info.loader, kernel_boot_params());
    print_boot_sources();
    return 0;
}
SHELL_COMMAND("info", "", "CPU, virtualization, memory, uptime, and how shoal was booted", cmd_info);

static void emit(const char *s, size_t n)
{
    console_write(s, n);
}

static int cmd_log(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return shell_usage("log");
    log_dump(emit);
    return 0;
}
SHELL_COMMAND("log", "", "print the kernel log ring", cmd_log);

static int cmd_reboot(int argc, char **argv)
{
    (void)argc; (void)argv;
    kprintf("rebooting\n");
    for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
        ;
    outb(0x64, 0xFE);                   /* 8042 pulse reset line */
    outb(0xCF9, 0x06);                  /* PCI reset control: hard reset */
    struct { uint16_t l; uint64_t b; } __attribute__((packed)) none = { 0, 0 };
    __asm__ volatile("lidt %0; int3" : : "m"(none));   /* triple fault as the last resort */
    return 0;
}
SHELL_COMMAND("reboot", "", "reset the machine", cmd_reboot);

static int cmd_halt(int argc, char **argv)
{
    (void)argc; (void)argv;
    kprintf("halted\n");
    outb(0xf4, 0);                      /* QEMU isa-debug-exit, when present */
    outw(0x8900 + 0, 0);                /* harmless elsewhere */
    for (;;)
        __asm__ volatile("cli; hlt");
    return 0;
}
SHELL_COMMAND("halt", "", "stop the machine", cmd_halt);

/* Deliberate faults for the exception-dump tests; noinline so the backtrace names them. */
__attribute__((noinline)) void fault_provoke_pf(void)
{
    volatile uint64_t *p = (volatile uint64_t *)0xdead0000000ull;   /* non-canonical-safe, unmapped */
    *p = 1;
}

__attribute__((noinline)) void fault_provoke_ud(void)
{
    __asm__ volatile("ud2");
}

/* No IDT at all, then #UD: its delivery, the #GP for it and the double fault all fail, so the CPU shuts down
 * (SDM 3A 6.15, "Interrupt 8"): a host triple fault, for the test harness's diagnosis of one. */
__attribute__((noinline)) void fault_provoke_tf(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) none = { 0, 0 };
    __asm__ volatile("cli; lidt %0; ud2" : : "m"(none) : "memory");
}

static int provoke(const char *kind)
{
    if (!strcmp(kind, "pf"))
        fault_provoke_pf();
    else if (!strcmp(kind, "ud"))
        fault_provoke_ud();
    else if (!strcmp(kind, "tf"))
        fault_provoke_tf();
    else
        return -EINVAL;
    return 0;
}

static int cmd_fault(int argc, char **argv)
{
    if (argc != 2 || provoke(argv[1]) < 0)
        return shell_usage("fault");
    return 0;
}
SHELL_COMMAND("fault", "pf|ud|tf", "provoke a page fault, an invalid opcode (tests the exception dump) or a triple "
              "fault (resets the machine)", cmd_fault);

static int fault_param(const char *v)
{
    if (strcmp(v, "pf") && strcmp(v, "ud") && strcmp(v, "tf"))
        return -EINVAL;
    kstrlcpy(boot_fault, v, sizeof(boot_fault));
    return 0;
}
BOOT_PARAM("fault", "pf|ud|tf: provoke that exception (tf: a triple fault) once booted (tests the dump)", fault_param);

void kernel_run_boot_actions(void)
{
    if (boot_fault[0])
        provoke(boot_fault);
}

/* The Linux VM platform: memory layout, boot (bzImage or PVH), ACPI, e820, devices, command line. */
#ifndef SHOAL_VMM_LINUX_H
#define SHOAL_VMM_LINUX_H
#include <stdint.h>

/* Guest physical layout below 1 MiB (the rest of RAM holds the kernel at its load address and the initrd). */
#define LX_GDT          0x0500ull
#define LX_PVH_INFO     0x6000ull
#define LX_BOOT_PARAMS  0x7000ull
#define LX_PML4         0x9000ull         /* PML4, PDPT, 4 PDs: identity map of 4 GiB in 2 MiB pages */
#define LX_STACK_TOP    0x1F000ull
#define LX_CMDLINE      0x20000ull
#define LX_CMDLINE_MAX  2048
#define LX_LOW_RAM_END  0xA0000ull
#define LX_ACPI         0xE0000ull        /* reserved up to 1 MiB: RSDP first, then the other tables */
#define LX_ACPI_SIZE    0x20000ull
#define LX_RESET_STUB_SIZE 16             /* at 0xFFFF0, the end of the ACPI area: see lx_reset_stub */
#define LX_MEM_MIN      (72ull << 20)
#define LX_MEM_MAX      (3ull << 30)      /* below the virtio-mmio window at PLAT_VIRTIO_BASE */

/*
 * `vm create NAME kernel=MODULE initrd=MODULE [cmdline="..."] [mem=256M] [vcpus=N] [disk=MODULE]
 * [disk-rw=MODULE]` (argv as the shell passes it, argv[1] == "create"). Creates the VM (not started),
 * prints one line; on any error prints a one-line message naming the problem and returns a negative errno.
 */
int linux_vm_create_cmd(int argc, char **argv);
#endif

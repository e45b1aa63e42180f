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
#define LX_ECAM_BASE    0xE0000000ull     /* PCI config space of bus 0 (ECAM, 1 MiB): an empty host bridge */
#define LX_ECAM_SIZE    (1ull << 20)
#define LX_MEM_MIN      (72ull << 20)
#define LX_MEM_MAX      (3ull << 30)      /* below the virtio-mmio window at PLAT_VIRTIO_BASE */

struct vm;
struct blk_dev;

/* What a Linux VM boots: the buffers must stay valid (unchanged) until the VM is destroyed (resets reload them). */
struct linux_spec {
    const char *name;
    const char *cmdline;              /* the guest's words (console=ttyS0 and tsc_early_khz= are added); copied */
    const void *kernel, *initrd;      /* bzImage or PVH ELF; cpio or compressed initrd */
    uint64_t kernel_len, initrd_len;
    uint64_t mem;                     /* bytes, LX_MEM_MIN..LX_MEM_MAX */
    int vcpus;                        /* 0 means 1 */
    struct blk_dev *disk;             /* virtio-blk disk or NULL: owned by the VM from the call on */
    void (*disk_release)(struct blk_dev *disk, void *arg);   /* how to let it go (NULL: disk->ops->close) */
    void *disk_arg;
    int has_mac;                      /* else a MAC is derived from the VM's id */
    uint8_t mac[6];
};

/*
 * Create a Linux VM (not started) from spec: check and place the kernel and initrd (if any), build guest memory,
 * tables and devices, print one line. Returns 0 with *out set, or a negative errno after a one-line error
 * naming the problem. Either way the disk now belongs to shoal: released when the VM is destroyed, or at
 * once when creation fails.
 */
int linux_vm_create(const struct linux_spec *spec, struct vm **out);
/* The virtio-blk disk of a Linux VM, or NULL (no disk, not a Linux VM). */
struct blk_dev *linux_vm_disk(struct vm *vm);
/*
 * What vm's loader copied into its RAM, each piece from a page boundary there: a bzImage's protected-mode
 * part and the initrd (a PVH kernel's segments are not given). Up to max pieces into ptr[]/len[] (the boot
 * modules: valid while vm exists); returns how many (0: not a Linux VM).
 */
int linux_vm_boot_pieces(struct vm *vm, const uint8_t **ptr, uint64_t *len, int max);
/*
 * Arguments of every `vm create` form. Each returns 0, or prints one error line naming the value and why
 * it is refused and returns a negative errno. linux_parse_mem_range: a size min..max bytes that the host's
 * free memory can hold (who: "a Linux guest", "a VM", for the message; -ENOMEM when it cannot). linux_parse_mem: 72M..3G for Linux.
 * linux_parse_vcpus: 1..VCPU_MAX. linux_parse_name: a valid name no VM has (-EINVAL, -EEXIST).
 */
int linux_parse_mem_range(const char *name, const char *v, uint64_t min, uint64_t max, const char *who,
                          uint64_t *mem);
int linux_parse_mem(const char *name, const char *v, uint64_t *mem);
int linux_parse_vcpus(const char *name, const char *v, int *vcpus);
int linux_parse_name(const char *name);
/* Words for vm_create's negative errno (the argument checks above have already passed). */
const char *vm_create_error(int err);

/*
 * `vm create NAME kernel=MODULE [initrd=MODULE] [cmdline="..."] [mem=256M] [vcpus=N] [disk=MODULE]
 * [disk-rw=MODULE]` (argv as the shell passes it, argv[1] == "create"). Creates the VM (not started),
 * prints one line; on any error prints a one-line message naming the problem and returns a negative errno.
 */
int linux_vm_create_cmd(int argc, char **argv);
#endif

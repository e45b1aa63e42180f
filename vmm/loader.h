/* Linux kernel loaders: the x86 boot protocol (bzImage, 64-bit entry) and PVH (ELF vmlinux), pure functions. */
#ifndef SHOAL_VMM_LOADER_H
#define SHOAL_VMM_LOADER_H
#include <stdint.h>
#include <stddef.h>

/* Offsets into the bzImage / zero page (Documentation/arch/x86/boot.rst "The Real-Mode Kernel Header",
 * zero-page.rst). The setup header lives at 0x1F1 in both. */
#define BP_ACPI_RSDP     0x070
#define BP_E820_ENTRIES  0x1E8
#define BP_HDR           0x1F1
#define BP_SETUP_SECTS   0x1F1
#define BP_BOOT_FLAG     0x1FE
#define BP_JUMP          0x200
#define BP_HEADER        0x202
#define BP_VERSION       0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS     0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE  0x21C
#define BP_HEAP_END      0x224
#define BP_CMD_LINE_PTR  0x228
#define BP_INITRD_MAX    0x22C
#define BP_KERNEL_ALIGN  0x230
#define BP_RELOCATABLE   0x234
#define BP_XLOADFLAGS    0x236
#define BP_CMDLINE_SIZE  0x238
#define BP_PREF_ADDRESS  0x258
#define BP_INIT_SIZE     0x260
#define BP_E820_TABLE    0x2D0
#define BP_E820_MAX      128
#define BP_SIZE          4096

#define LOADED_HIGH      0x01
#define CAN_USE_HEAP     0x80
#define XLF_KERNEL_64    0x01

#define E820_RAM         1
#define E820_RESERVED    2

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

/* What the setup header of a bzImage says, after the checks. */
struct bz_info {
    uint16_t version;            /* boot protocol, e.g. 0x020F */
    uint8_t setup_sects;
    uint8_t relocatable;
    uint32_t kernel_alignment;
    uint64_t pref_address;
    uint32_t init_size;          /* memory the kernel needs from its load address while it decompresses */
    uint32_t cmdline_size;       /* max command line length, without the NUL */
    uint32_t initrd_addr_max;    /* highest address the initrd's last byte may have */
    size_t pm_offset, pm_size;   /* the protected-mode kernel within the image */
    size_t hdr_end;              /* end of the setup header within the image (0x202 + byte at 0x201) */
};

/*
 * Check a bzImage of len bytes: boot flag 0xAA55, "HdrS", protocol >= 2.12 with XLF_KERNEL_64,
 * LOADED_HIGH, a protected-mode part inside the image. Fills *bz and returns 0, or a negative errno
 * with *why set to a message naming the problem (-ENOTSUP wrong format or unsupported protocol, -EINVAL truncated or malformed).
 */
int bz_parse(const uint8_t *img, size_t len, struct bz_info *bz, const char **why);

/*
 * Where to load the protected-mode kernel in a VM of ram bytes: pref_address when [pref, pref+init_size)
 * fits, else (relocatable kernels) the lowest kernel_alignment multiple >= 1 MiB that fits.
 * Returns 0 with *addr set, or -ENOMEM when the kernel does not fit.
 */
int bz_load_address(const struct bz_info *bz, uint64_t ram, uint64_t *addr);

/*
 * Where to put an initrd of size bytes: the highest page-aligned address with its end at or below
 * min(initrd_addr_max + 1, ram_end), not overlapping [kernel_lo, kernel_hi). 0 with *addr, or -ENOMEM.
 */
int initrd_place(uint64_t size, uint64_t limit, uint64_t kernel_lo, uint64_t kernel_hi, uint64_t *addr);

/*
 * Build the zero page in bp (BP_SIZE bytes) from the image's setup header: type_of_loader 0xFF,
 * CAN_USE_HEAP, command line, initrd, ACPI RSDP address and the e820 table (n entries, <= 128).
 * Returns 0 or -EINVAL (too many e820 entries).
 */
int bz_build_params(uint8_t *bp, const uint8_t *img, const struct bz_info *bz, uint64_t cmdline_gpa,
                    uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp_gpa,
                    const struct e820_entry *e820, int n);

/* PVH (xen/include/public/arch-x86/hvm/start_info.h): ELF vmlinux with XEN_ELFNOTE_PHYS32_ENTRY. */
#define PVH_NOTE_PHYS32_ENTRY 18
#define PVH_START_MAGIC       0x336ec578u
#define PVH_MAX_SEGS          8

struct pvh_seg {
    uint64_t offset, paddr, filesz, memsz;
};

struct pvh_info {
    uint32_t entry;              /* 32-bit physical entry point from the note */
    struct pvh_seg seg[PVH_MAX_SEGS];
    int nseg;
    uint64_t lowest, highest;    /* physical range the segments cover */
};

/* 1 when img starts with the ELF magic (then pvh_parse applies, else bz_parse). */
int pvh_is_elf(const uint8_t *img, size_t len);

/*
 * Check an ELF64 x86-64 vmlinux or an ELF32 i386 PVH kernel (as Xen and QEMU accept): PT_LOAD segments
 * inside the file, a PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY. Fills *pi; 0 or a negative errno with *why
 * naming the problem.
 */
int pvh_parse(const uint8_t *img, size_t len, struct pvh_info *pi, const char **why);

/*
 * Build hvm_start_info (version 1) at buf (which will sit at guest address gpa; needs PVH_INFO_SIZE
 * bytes): one module (the initrd, when initrd_size), the memory map from e820 (n entries <= 16),
 * the command line address and the RSDP. Returns 0 or -EINVAL.
 */
#define PVH_INFO_SIZE 512
int pvh_build_start_info(uint8_t *buf, uint64_t gpa, uint64_t cmdline_gpa, uint64_t initrd_gpa,
                         uint64_t initrd_size, uint64_t rsdp_gpa, const struct e820_entry *e820, int n);
#endif

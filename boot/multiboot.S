/* Multiboot1 (with bit-16 address fields, for QEMU -kernel and iPXE) and multiboot2 headers. */
#define MB1_MAGIC   0x1BADB002
#define MB1_FLAGS   ((1 << 0) | (1 << 1) | (1 << 16))  /* page-align modules, memory info, address fields */
#define MB2_MAGIC   0xE85250D6
#define MB2_ARCH    0                                  /* i386 protected mode */

    .section .multiboot, "a"
    .align 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header        /* header_addr */
    .long __image_start     /* load_addr */
    .long __load_end        /* load_end_addr */
    .long __image_end       /* bss_end_addr */
    .long _start            /* entry_addr */

    .align 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH
    .long mb2_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH + (mb2_end - mb2_header))
    /* address tag: the same contiguous-image description as multiboot1 */
    .align 8
    .short 2, 0
    .long 24
    .long mb2_header, __image_start, __load_end, __image_end
    /* entry address tag */
    .align 8
    .short 3, 0
    .long 12
    .long _start
    /* framebuffer tag, optional, any mode: with it GRUB under UEFI (no EGA text there) no longer warns
       "no console will be available to OS"; grub.cfg's gfxpayload=keep stops it from setting a mode */
    .align 8
    .short 5, 1
    .long 20
    .long 0, 0, 0
    /* end tag */
    .align 8
    .short 0, 0
    .long 8
mb2_end:

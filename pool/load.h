/* Boot files of a pool image: kernel and initrd from the golden disk's filesystem or from multiboot modules. */
#ifndef SHOAL_POOL_LOAD_H
#define SHOAL_POOL_LOAD_H
struct pool_image;

/*
 * Fill img->kernel/initrd (and their lengths) from img->kernel_path/initrd_path: a path starting with '/' is
 * read from the ext2/3/4 filesystem on img->lun (partition img->part, or the first Linux one, or the whole
 * disk when it has no partition table), synchronously while polling the network; anything else names a
 * multiboot module (used in place). Returns 0, or a negative errno with *why saying what failed; nothing is
 * left allocated on failure.
 */
int pool_load_boot_files(struct pool_image *img, const char **why);
/* Free the boot files pool_load_boot_files read (modules stay); lengths back to 0. */
void pool_drop_boot_files(struct pool_image *img);
#endif

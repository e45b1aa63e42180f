/* A RAM disk: a struct blk_dev over memory, completing every request at once. */
#ifndef SHOAL_BLK_RAM_H
#define SHOAL_BLK_RAM_H
#include <stdint.h>

struct blk_dev;

/*
 * A disk of bytes (rounded down to whole 512-byte sectors; at least one) holding image.
 * Writable disks get their own copy (the image, e.g. a multiboot module, is never modified);
 * read-only disks use image in place. image may be NULL for a zero-filled writable disk.
 * Returns the device (close it with ramdisk_destroy or dev->ops->close), or NULL: bytes < 512,
 * read-only without image, or out of memory.
 */
struct blk_dev *ramdisk_create(const void *image, uint64_t bytes, int read_only);
/* The bytes of a read-only RAM disk (dev->sectors * 512 of them), or NULL for any other device: a
 * migration destination finds disk blocks a guest's page cache holds in them. */
const uint8_t *ramdisk_image(struct blk_dev *dev);
/* Free the disk (and its copy). NULL is ignored. */
void ramdisk_destroy(struct blk_dev *dev);
#endif

/* Read-only ext2/ext3/ext4 reader: open a filesystem on a disk_src, stat and read whole files by path. */
#ifndef SHOAL_BLK_FS_EXT4_H
#define SHOAL_BLK_FS_EXT4_H
#include <stdint.h>
#include "blk/fs/disk.h"
#include "kernel/errno.h"

#define EXT4_S_IFMT   0xF000
#define EXT4_S_IFREG  0x8000
#define EXT4_S_IFDIR  0x4000
#define EXT4_S_IFLNK  0xA000

struct ext4_fs;

/*
 * Open the filesystem occupying [part_off, part_off + part_size) of d read-only. Every superblock field
 * used is checked (magic, block size 1-64 KiB, counts, geometry inside the partition) and unknown
 * INCOMPAT features are refused. Allocates a handle and a fixed set of block buffers (a dozen blocks).
 * Returns 0 and *out, or -EINVAL (malformed), -ENOTSUP (feature not handled), -EIO, -ENOMEM with a
 * static reason in *why (may be NULL).
 */
int ext4_open(const struct disk_src *d, uint64_t part_off, uint64_t part_size, struct ext4_fs **out,
              const char **why);

/* Free a handle from ext4_open (NULL is fine). */
void ext4_close(struct ext4_fs *fs);

/*
 * Resolve the absolute path (symlinks followed, relative and absolute, at most 8 in all) and read the
 * whole regular file into a kmalloc'd *buf of *len bytes (holes and unwritten extents read as zeros).
 * Returns 0, or -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EISDIR/-EINVAL (not a regular file), -EFBIG
 * (larger than max), -EINVAL (corrupt metadata), -ENOTSUP, -EIO, -ENOMEM; nothing is allocated then.
 */
int ext4_read_file(struct ext4_fs *fs, const char *path, uint64_t max, void **buf, uint64_t *len,
                   const char **why);

/* Resolve path as ext4_read_file does and report the inode's size and mode (EXT4_S_IF* | permissions). */
int ext4_stat(struct ext4_fs *fs, const char *path, uint64_t *size, uint16_t *mode, const char **why);
#endif

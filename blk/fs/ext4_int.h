/* Internals shared by the ext4 reader's files: the handle, the parsed inode, block and mapping helpers. */
#ifndef SHOAL_BLK_FS_EXT4_INT_H
#define SHOAL_BLK_FS_EXT4_INT_H
#include <stdint.h>
#include "blk/fs/ext4.h"
#include "kernel/byteorder.h"

#define EXT4_PATH_MAX     4096
#define EXT4_MAX_SYMLINKS 8
#define EXT4_MAX_DEPTH    5          /* extent tree depth limit, as Linux's EXT4_MAX_EXTENT_DEPTH */
#define EXT4_DIR_MAX      (64u << 20) /* larger directories are refused (bounds lookup time) */
#define EXT4_ROOT_INO     2

/* Inode flags (ext4 docs, "Inode Table"). */
#define EXT4_INDEX_FL     0x1000
#define EXT4_EXTENTS_FL   0x80000
#define EXT4_INLINE_FL    0x10000000

/* One block buffer per role, so a walk never evicts a block it still uses. */
enum {
    SLOT_GDT, SLOT_ITAB,
    SLOT_EXT,                        /* EXT4_MAX_DEPTH slots: extent tree levels */
    SLOT_IND = SLOT_EXT + EXT4_MAX_DEPTH, /* 3 slots: indirect, double, triple */
    SLOT_DIR = SLOT_IND + 3,
    SLOT_DATA,
    SLOT_N
};

struct ext4_inode {
    uint32_t ino;
    uint16_t mode;
    uint32_t flags;
    uint64_t size;
    uint32_t blocks_lo;              /* i_blocks (512-byte units unless huge_file says otherwise) */
    uint64_t file_acl;
    uint8_t iblock[60];              /* i_block: extent root, block map, or inline data */
    uint64_t at_blk;                 /* where the raw inode lies (for its in-inode xattrs) */
    uint32_t at_off;
};

struct ext4_fs {
    struct disk_src disk;
    uint64_t off;                    /* partition start, bytes */
    uint64_t blocks;                 /* s_blocks_count */
    uint64_t groups;
    uint32_t bs, log_bs;             /* block size, log2 */
    uint32_t first_data, bpg, ipg, inodes, inode_size, desc_size, first_meta_bg;
    uint32_t compat, incompat, ro_compat;
    uint8_t *buf[SLOT_N];
    uint64_t tag[SLOT_N];            /* block held by buf[i], or UINT64_MAX */
    char path[2][EXT4_PATH_MAX + 8]; /* path walk work space */
};

/* Get block blk into slot's buffer (cached); -EINVAL when blk is 0 or past the end, -EIO. */
int ext4_block(struct ext4_fs *fs, int slot, uint64_t blk, const uint8_t **out, const char **why);
/* Read n whole blocks from blk into dst (no cache). */
int ext4_read_blocks(struct ext4_fs *fs, uint64_t blk, uint64_t n, uint8_t *dst, const char **why);
/* Read inode ino (1-based) into *in; -EINVAL for out-of-range numbers, free inodes, bad tables. */
int ext4_inode_read(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in, const char **why);
/* Read the first len bytes of in's data into dst (holes and unwritten extents as zeros). */
int ext4_read_data(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t len, uint8_t *dst, const char **why);

/*
 * Map logical block lblk of in: *pblk is the physical block (0 for a hole or unwritten extent) and *run
 * (>= 1) how many blocks from lblk continue the same way (physically contiguous, or all zero).
 */
int ext4_bmap(struct ext4_fs *fs, const struct ext4_inode *in, uint32_t lblk, uint64_t *pblk, uint64_t *run,
              const char **why);

/*
 * Inline data beyond i_block: the value of the in-inode xattr system.data (ext4 docs "Inline Data",
 * "Extended Attributes"). *val points into a cache slot, valid until the next inode read; *len may be 0.
 */
int ext4_inline_tail(struct ext4_fs *fs, const struct ext4_inode *in, const uint8_t **val, uint32_t *len,
                     const char **why);

/* Resolve an absolute path to an inode, following symlinks (the last one too). */
int ext4_lookup(struct ext4_fs *fs, const char *path, struct ext4_inode *out, const char **why);
#endif

/* ext4 inline data: the system.data extended attribute inside the inode, found with checked offsets. */
#include "blk/fs/ext4_int.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"

#define XATTR_MAGIC        0xEA020000u
#define XATTR_INDEX_SYSTEM 7
#define XATTR_ENTRY_SIZE   16       /* fixed part of struct ext4_xattr_entry, before the name */

static int bad(const char **why, const char *msg)
{
    *why = msg;
    return -EINVAL;
}

int ext4_inline_tail(struct ext4_fs *fs, const struct ext4_inode *in, const uint8_t **val, uint32_t *len,
                     const char **why)
{
    const uint8_t *blk;
    *len = 0;
    if (fs->inode_size <= 128)
        return bad(why, "inline data without room for in-inode xattrs");
    int rc = ext4_block(fs, SLOT_ITAB, in->at_blk, &blk, why);
    if (rc)
        return rc;
    const uint8_t *raw = blk + in->at_off;
    uint32_t extra = get_le16(raw + 0x80);
    if ((extra & 3) || 128 + extra + 4 > fs->inode_size)
        return bad(why, "bad i_extra_isize");
    const uint8_t *hdr = raw + 128 + extra;
    if (get_le32(hdr) != XATTR_MAGIC)
        return bad(why, "inline data xattr missing");
    const uint8_t *first = hdr + 4;
    uint32_t room = fs->inode_size - 128 - extra - 4;   /* bytes from the first entry to the inode end */
    for (uint32_t off = 0; off + 4 <= room && get_le32(first + off);) {
        const uint8_t *e = first + off;
        uint32_t nlen = e[0], voff = get_le16(e + 2), vsize = get_le32(e + 8);
        uint32_t esize = (XATTR_ENTRY_SIZE + nlen + 3) & ~3u;
        if (esize > room - off)
            return bad(why, "xattr entry overflows the inode");
        if (e[1] == XATTR_INDEX_SYSTEM && nlen == 4 && !memcmp(e + XATTR_ENTRY_SIZE, "data", 4)) {
            if (get_le32(e + 4))
                return bad(why, "inline data in an xattr inode");
            if (voff > room || vsize > room - voff)
                return bad(why, "xattr value overflows the inode");
            *val = first + voff;
            *len = vsize;
            return 0;
        }
        off += esize;
    }
    return bad(why, "inline data xattr missing");
}

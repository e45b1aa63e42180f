/* ext4 block mapping: extent trees (bounded depth, checked headers) and ext2/3 indirect block maps. */
#include "blk/fs/ext4_int.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"

#define EXT_MAGIC     0xF30A
#define EXT_INIT_MAX  32768          /* ee_len above this marks an unwritten extent (ext4 docs "Extent Tree") */
#define NDIRECT       12

static int bad(const char **why, const char *msg)
{
    *why = msg;
    return -EINVAL;
}

/* Extent header: magic, entries <= max, max fits the node, depth as expected (-1: root, any <= 5). */
static int ext_header(const uint8_t *h, size_t node_len, int depth, const char **why)
{
    uint16_t entries = get_le16(h + 2), max = get_le16(h + 4), d = get_le16(h + 6);
    if (get_le16(h) != EXT_MAGIC)
        return bad(why, "bad extent header magic");
    if (entries > max || 12 + (size_t)max * 12 > node_len)
        return bad(why, "extent header entry count exceeds its node");
    if (depth < 0 ? d > EXT4_MAX_DEPTH : d != depth)
        return bad(why, "bad extent tree depth");
    return 0;
}

/* Leaf: find the extent holding lblk, or the hole up to the next extent (or limit). */
static int ext_leaf(struct ext4_fs *fs, const uint8_t *e, int n, uint32_t lblk, uint64_t limit,
                    uint64_t *pblk, uint64_t *run, const char **why)
{
    uint64_t prev_end = 0;
    for (int i = 0; i < n; i++, e += 12) {
        uint32_t start = get_le32(e), len = get_le16(e + 4);
        int unwritten = len > EXT_INIT_MAX;
        uint64_t phys = (uint64_t)get_le16(e + 6) << 32 | get_le32(e + 8);
        if (unwritten)
            len -= EXT_INIT_MAX;
        if (len == 0 || start < prev_end)
            return bad(why, "extents overlap or are empty");
        prev_end = (uint64_t)start + len;
        if (lblk < start) {
            *pblk = 0;
            *run = (start < limit ? start : limit) - lblk;
            return 0;
        }
        if (lblk < prev_end) {
            if (phys == 0 || phys >= fs->blocks || len > fs->blocks - phys)
                return bad(why, "extent points beyond end of filesystem");
            *pblk = unwritten ? 0 : phys + (lblk - start);
            *run = prev_end - lblk;
            return 0;
        }
    }
    *pblk = 0;
    *run = limit - lblk;
    return 0;
}

/* Walk from the root in i_block down to the leaf covering lblk; each level one depth lower. */
static int ext_map(struct ext4_fs *fs, const struct ext4_inode *in, uint32_t lblk, uint64_t *pblk,
                   uint64_t *run, const char **why)
{
    const uint8_t *node = in->iblock;
    uint64_t limit = 1ull << 32;            /* logical blocks below this are covered by node */
    int rc = ext_header(node, sizeof(in->iblock), -1, why);
    for (int level = rc ? 0 : get_le16(node + 6); !rc; level--) {
        int n = get_le16(node + 2), pick = -1;
        const uint8_t *e = node + 12;
        if (level == 0)
            return ext_leaf(fs, e, n, lblk, limit, pblk, run, why);
        for (int i = 0; i < n; i++, e += 12) {
            uint32_t first = get_le32(e);
            if (i && first <= get_le32(e - 12))
                return bad(why, "extent index not sorted");
            if (first > lblk) {
                limit = first < limit ? first : limit;
                break;
            }
            pick = i;
        }
        if (pick < 0) {                      /* before the first index entry: a hole */
            *pblk = 0;
            *run = limit - lblk;
            return 0;
        }
        e = node + 12 + 12 * pick;
        uint64_t child = (uint64_t)get_le16(e + 8) << 32 | get_le32(e + 4);
        rc = ext4_block(fs, SLOT_EXT + level - 1, child, &node, why);
        if (!rc)
            rc = ext_header(node, fs->bs, level - 1, why);
    }
    return rc;
}

/* Contiguous run of pointers from p[i] (all zero, or consecutive block numbers) within n entries. */
static uint64_t ptr_run(const uint8_t *p, uint64_t i, uint64_t n)
{
    uint32_t first = get_le32(p + 4 * i);
    uint64_t k = 1;
    while (i + k < n && get_le32(p + 4 * (i + k)) == (first ? first + k : 0))
        k++;
    return k;
}

/* ext2/3 block map: 12 direct pointers, then single, double and triple indirect blocks. */
static int ind_map(struct ext4_fs *fs, const struct ext4_inode *in, uint32_t lblk, uint64_t *pblk,
                   uint64_t *run, const char **why)
{
    uint64_t per = fs->bs / 4, rel = lblk, cover = per;
    const uint8_t *p = in->iblock;
    uint64_t idx = rel;
    int level = 0, slot = SLOT_IND;
    if (rel >= NDIRECT) {
        rel -= NDIRECT;
        for (level = 1; rel >= cover; level++) {
            if (level == 3)
                return bad(why, "block beyond triple-indirect range");
            rel -= cover;
            cover *= per;
        }
        uint32_t ptr = get_le32(in->iblock + 4 * (NDIRECT - 1 + level));
        for (; cover > 1; ) {
            if (!ptr) {
                *pblk = 0;
                *run = cover - rel;
                return 0;
            }
            int rc = ext4_block(fs, slot++, ptr, &p, why);
            if (rc)
                return rc;
            cover /= per;
            idx = rel / cover;
            rel %= cover;
            ptr = get_le32(p + 4 * idx);
        }
    }
    *pblk = get_le32(p + 4 * idx);
    *run = ptr_run(p, idx, level ? per : NDIRECT);
    if (*pblk && (*pblk >= fs->blocks || *run > fs->blocks - *pblk))
        return bad(why, "block pointer beyond end of filesystem");
    return 0;
}

int ext4_bmap(struct ext4_fs *fs, const struct ext4_inode *in, uint32_t lblk, uint64_t *pblk, uint64_t *run,
              const char **why)
{
    int rc = in->flags & EXT4_EXTENTS_FL ? ext_map(fs, in, lblk, pblk, run, why)
                                         : ind_map(fs, in, lblk, pblk, run, why);
    if (!rc && *run == 0)
        return bad(why, "empty block mapping");
    return rc;
}

int ext4_read_data(struct ext4_fs *fs, const struct ext4_inode *in, uint64_t len, uint8_t *dst, const char **why)
{
    if (in->flags & EXT4_INLINE_FL) {          /* inline data: 60 bytes in i_block, the rest in an xattr */
        size_t head = len < sizeof(in->iblock) ? (size_t)len : sizeof(in->iblock);
        const uint8_t *tail;
        uint32_t tail_len;
        memcpy(dst, in->iblock, head);
        int rc = len > head ? ext4_inline_tail(fs, in, &tail, &tail_len, why) : 0;
        if (rc)
            return rc;
        if (len > head && len - head > tail_len)
            return bad(why, "inline data shorter than the file size");
        if (len > head)
            memcpy(dst + head, tail, (size_t)(len - head));
        return 0;
    }
    uint64_t nblk = (len + fs->bs - 1) >> fs->log_bs;
    for (uint64_t l = 0; l < nblk;) {
        uint64_t pblk, run, off = l << fs->log_bs;
        int rc = ext4_bmap(fs, in, (uint32_t)l, &pblk, &run, why);
        if (rc)
            return rc;
        if (run > nblk - l)
            run = nblk - l;
        uint64_t bytes = run << fs->log_bs;
        if (bytes > len - off)
            bytes = len - off;
        if (!pblk) {
            memset(dst + off, 0, (size_t)bytes);
        } else {
            uint64_t full = bytes >> fs->log_bs, tail = bytes & (fs->bs - 1);
            const uint8_t *blk;
            rc = full ? ext4_read_blocks(fs, pblk, full, dst + off, why) : 0;
            if (!rc && tail)
                rc = ext4_block(fs, SLOT_DATA, pblk + full, &blk, why);
            if (rc)
                return rc;
            if (tail)
                memcpy(dst + off + (full << fs->log_bs), blk, (size_t)tail);
        }
        l += run;
    }
    return 0;
}


/* ext2/3/4 read-only reader: superblock and group descriptor checks, inodes, whole-file reads. */
#include "blk/fs/ext4.h"
#include "blk/fs/ext4_int.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define EXT4_MAGIC          0xEF53
#define READ_CHUNK          (1u << 20)   /* largest single disk read issued */

/* Feature flags (ext4 docs, "Super Block"). */
#define COMPAT_SPARSE_SUPER2 0x200
#define INCOMPAT_FILETYPE    0x2
#define INCOMPAT_RECOVER     0x4
#define INCOMPAT_META_BG     0x10
#define INCOMPAT_EXTENTS     0x40
#define INCOMPAT_64BIT       0x80
#define INCOMPAT_MMP         0x100
#define INCOMPAT_FLEX_BG     0x200
#define INCOMPAT_EA_INODE    0x400
#define INCOMPAT_CSUM_SEED   0x2000
#define INCOMPAT_LARGEDIR    0x4000
#define INCOMPAT_INLINE_DATA 0x8000
#define RO_COMPAT_SPARSE     0x1
#define RO_COMPAT_GDT_CSUM   0x10
#define RO_COMPAT_META_CSUM  0x400
#define BG_INODE_UNINIT      0x1

/* Features that change nothing for a reader that ignores checksums, xattrs, journals and MMP. */
#define INCOMPAT_OK (INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG | INCOMPAT_EXTENTS | \
                     INCOMPAT_64BIT | INCOMPAT_MMP | INCOMPAT_FLEX_BG | INCOMPAT_EA_INODE | \
                     INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA)

static const struct { uint32_t bit; const char *why; } incompat_names[] = {
    { 0x1, "unsupported feature: compression" },
    { 0x8, "unsupported feature: journal_dev (external journal device)" },
    { 0x1000, "unsupported feature: dirdata" },
    { 0x10000, "unsupported feature: encrypt" },
    { 0x20000, "unsupported feature: casefold" },
};

static int disk_get(struct ext4_fs *fs, uint64_t off, void *dst, size_t len, const char **why)
{
    int rc = fs->disk.read(fs->disk.ctx, fs->off + off, dst, len);
    if (rc < 0) {
        *why = "disk read failed";
        return rc;
    }
    return 0;
}

int ext4_read_blocks(struct ext4_fs *fs, uint64_t blk, uint64_t n, uint8_t *dst, const char **why)
{
    if (blk == 0 || blk >= fs->blocks || n > fs->blocks - blk) {
        *why = "block number beyond end of filesystem";
        return -EINVAL;
    }
    uint64_t off = blk << fs->log_bs, len = n << fs->log_bs;
    while (len) {
        size_t part = len < READ_CHUNK ? (size_t)len : READ_CHUNK;
        int rc = disk_get(fs, off, dst, part, why);
        if (rc)
            return rc;
        off += part;
        dst += part;
        len -= part;
    }
    return 0;
}

int ext4_block(struct ext4_fs *fs, int slot, uint64_t blk, const uint8_t **out, const char **why)
{
    if (fs->tag[slot] != blk) {
        fs->tag[slot] = UINT64_MAX;
        int rc = ext4_read_blocks(fs, blk, 1, fs->buf[slot], why);
        if (rc)
            return rc;
        fs->tag[slot] = blk;
    }
    *out = fs->buf[slot];
    return 0;
}

/* Incompatible features: refuse what changes the on-disk meaning of data we read. */
static int sb_features(struct ext4_fs *fs, const char **why)
{
    uint32_t bad = fs->incompat & ~(uint32_t)INCOMPAT_OK;
    if (bad) {
        *why = "unsupported incompat feature (unknown)";
        for (size_t i = 0; i < sizeof(incompat_names) / sizeof(incompat_names[0]); i++)
            if (bad & incompat_names[i].bit) {
                *why = incompat_names[i].why;
                break;
            }
        log_warn("ext4: incompat features %#x not supported\n", bad);
        return -ENOTSUP;
    }
    if ((fs->incompat & INCOMPAT_META_BG) && (fs->compat & COMPAT_SPARSE_SUPER2)) {
        *why = "unsupported feature combination: meta_bg with sparse_super2";
        return -ENOTSUP;
    }
    if (fs->incompat & INCOMPAT_RECOVER)
        log_warn("ext4: journal needs recovery; reading without replaying it\n");
    return 0;
}

/* Sizes and counts (ext4 docs "Super Block"; limits as Linux's ext4_fill_super checks them). */
static int sb_geometry(struct ext4_fs *fs, const uint8_t *sb, uint64_t part_size, const char **why)
{
    uint32_t log = get_le32(sb + 0x18), rev = get_le32(sb + 0x4C);
    *why = "bad superblock";
    if (log > 6) {
        *why = "bad block size";
        return -EINVAL;
    }
    fs->log_bs = 10 + log;
    fs->bs = 1u << fs->log_bs;
    fs->inode_size = rev == 0 ? 128 : get_le16(sb + 0x58);
    if (rev > 1 || fs->inode_size < 128 || fs->inode_size > fs->bs || (fs->inode_size & (fs->inode_size - 1)))
        return -EINVAL;
    fs->blocks = get_le32(sb + 0x4) | (fs->incompat & INCOMPAT_64BIT ? (uint64_t)get_le32(sb + 0x150) << 32 : 0);
    fs->first_data = get_le32(sb + 0x14);
    if (fs->first_data > 1 || (fs->bs > 1024 && fs->first_data) || fs->blocks <= fs->first_data + 1)
        return -EINVAL;
    if (fs->blocks > part_size >> fs->log_bs) {
        *why = "filesystem larger than its partition (truncated disk?)";
        return -EINVAL;
    }
    fs->bpg = get_le32(sb + 0x20);
    fs->ipg = get_le32(sb + 0x28);
    fs->inodes = get_le32(sb + 0x0);
    if (fs->bpg < 8 || fs->ipg == 0 || fs->ipg > 8 * fs->bs)
        return -EINVAL;
    fs->groups = (fs->blocks - fs->first_data + fs->bpg - 1) / fs->bpg;
    if (fs->inodes < EXT4_ROOT_INO || (fs->inodes + (uint64_t)fs->ipg - 1) / fs->ipg > fs->groups)
        return -EINVAL;
    fs->desc_size = 32;
    if (fs->incompat & INCOMPAT_64BIT) {
        fs->desc_size = get_le16(sb + 0xFE);
        if (fs->desc_size < 64 || fs->desc_size > 1024 || (fs->desc_size & (fs->desc_size - 1))) {
            *why = "bad group descriptor size";
            return -EINVAL;
        }
    }
    fs->first_meta_bg = get_le32(sb + 0x104);
    uint64_t gdt_blocks = (fs->groups * fs->desc_size + fs->bs - 1) / fs->bs;
    if (!(fs->incompat & INCOMPAT_META_BG) && gdt_blocks > fs->blocks - fs->first_data - 1) {
        *why = "group descriptor table beyond end of filesystem";
        return -EINVAL;
    }
    return 0;
}

static int sb_parse(struct ext4_fs *fs, const uint8_t *sb, uint64_t part_size, const char **why)
{
    if (get_le16(sb + 0x38) != EXT4_MAGIC) {
        *why = "no ext2/3/4 superblock (bad magic)";
        return -EINVAL;
    }
    fs->compat = get_le32(sb + 0x5C);
    fs->incompat = get_le32(sb + 0x60);
    fs->ro_compat = get_le32(sb + 0x64);
    if (get_le32(sb + 0x4C) == 0)           /* revision 0 has no feature fields */
        fs->compat = fs->incompat = fs->ro_compat = 0;
    int rc = sb_features(fs, why);
    return rc ? rc : sb_geometry(fs, sb, part_size, why);
}

/* Groups holding superblock/descriptor backups: all without sparse_super, else 0, 1, powers of 3, 5, 7. */
static int group_has_super(const struct ext4_fs *fs, uint64_t g)
{
    if (g <= 1 || !(fs->ro_compat & RO_COMPAT_SPARSE))
        return 1;
    for (uint64_t b = 3; b <= 7; b += 2) {
        uint64_t p = b;
        while (p < g)
            p *= b;
        if (p == g)
            return 1;
    }
    return 0;
}

/* Block holding descriptor block number b (ext4 docs "Meta Block Groups" for meta_bg). */
static uint64_t desc_block(const struct ext4_fs *fs, uint64_t b)
{
    if (!(fs->incompat & INCOMPAT_META_BG) || b < fs->first_meta_bg)
        return fs->first_data + 1 + b;
    uint64_t g = b * (fs->bs / fs->desc_size);
    return fs->first_data + g * fs->bpg + (uint64_t)group_has_super(fs, g);
}

/* Inode table of group g, checked to lie inside the filesystem. */
static int group_itable(struct ext4_fs *fs, uint64_t g, uint64_t *itable, uint16_t *flags, const char **why)
{
    uint32_t per = fs->bs / fs->desc_size;
    const uint8_t *blk;
    int rc = ext4_block(fs, SLOT_GDT, desc_block(fs, g / per), &blk, why);
    if (rc)
        return rc;
    const uint8_t *d = blk + (g % per) * fs->desc_size;
    *itable = get_le32(d + 0x8) | (fs->desc_size >= 64 ? (uint64_t)get_le32(d + 0x28) << 32 : 0);
    *flags = get_le16(d + 0x12);
    uint64_t need = ((uint64_t)fs->ipg * fs->inode_size + fs->bs - 1) >> fs->log_bs;
    if (*itable == 0 || *itable >= fs->blocks || need > fs->blocks - *itable) {
        *why = "group descriptor: inode table outside the filesystem";
        return -EINVAL;
    }
    return 0;
}

int ext4_inode_read(struct ext4_fs *fs, uint32_t ino, struct ext4_inode *in, const char **why)
{
    if (ino == 0 || ino > fs->inodes) {
        *why = "inode number out of range";
        return -EINVAL;
    }
    uint64_t itable, byte = (uint64_t)((ino - 1) % fs->ipg) * fs->inode_size;
    uint16_t flags;
    const uint8_t *blk;
    int rc = group_itable(fs, (ino - 1) / fs->ipg, &itable, &flags, why);
    if (rc)
        return rc;
    if ((fs->ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_META_CSUM)) && (flags & BG_INODE_UNINIT)) {
        *why = "inode in an uninitialised group";
        return -EINVAL;
    }
    rc = ext4_block(fs, SLOT_ITAB, itable + (byte >> fs->log_bs), &blk, why);
    if (rc)
        return rc;
    const uint8_t *p = blk + (byte & (fs->bs - 1));
    in->ino = ino;
    in->mode = get_le16(p + 0x0);
    in->size = get_le32(p + 0x4) | (uint64_t)get_le32(p + 0x6C) << 32;
    in->blocks_lo = get_le32(p + 0x1C);
    in->flags = get_le32(p + 0x20);
    in->file_acl = get_le32(p + 0x68) | (uint64_t)get_le16(p + 0x76) << 32;
    memcpy(in->iblock, p + 0x28, sizeof(in->iblock));
    in->at_blk = itable + (byte >> fs->log_bs);
    in->at_off = (uint32_t)(byte & (fs->bs - 1));
    if (in->mode == 0) {
        *why = "directory entry points to a free inode";
        return -EINVAL;
    }
    return 0;
}

/* One buffer per slot, sized to the block size. */
static int fs_buffers(struct ext4_fs *fs, const char **why)
{
    for (int i = 0; i < SLOT_N; i++) {
        fs->tag[i] = UINT64_MAX;
        fs->buf[i] = kmalloc(fs->bs);
        if (!fs->buf[i]) {
            *why = "out of memory";
            return -ENOMEM;
        }
    }
    return 0;
}

int ext4_open(const struct disk_src *d, uint64_t part_off, uint64_t part_size, struct ext4_fs **out,
              const char **why)
{
    static const char *unused;
    uint8_t sb[1024];
    if (!why)
        why = &unused;
    *why = NULL;
    if (!d || !d->read || !out || part_off > d->size || part_size > d->size - part_off || (part_off & 511)) {
        *why = "bad arguments (partition outside the disk)";
        return -EINVAL;
    }
    if (part_size < 2048) {
        *why = "partition too small for a superblock";
        return -EINVAL;
    }
    struct ext4_fs *fs = kzalloc(sizeof(*fs));
    if (!fs) {
        *why = "out of memory";
        return -ENOMEM;
    }
    fs->disk = *d;
    fs->off = part_off;
    struct ext4_inode root;
    int rc = disk_get(fs, 1024, sb, sizeof(sb), why);
    if (!rc)
        rc = sb_parse(fs, sb, part_size, why);
    if (!rc)
        rc = fs_buffers(fs, why);
    if (!rc)
        rc = ext4_inode_read(fs, EXT4_ROOT_INO, &root, why);
    if (!rc && (root.mode & EXT4_S_IFMT) != EXT4_S_IFDIR) {
        *why = "root inode is not a directory";
        rc = -EINVAL;
    }
    if (rc) {
        ext4_close(fs);
        return rc;
    }
    *out = fs;
    return 0;
}

void ext4_close(struct ext4_fs *fs)
{
    if (!fs)
        return;
    for (int i = 0; i < SLOT_N; i++)
        if (fs->buf[i])
            kfree(fs->buf[i]);
    kfree(fs);
}

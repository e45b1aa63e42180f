/* ext4 directories and paths: linear directory scans (htree blocks included), symlinks, file reads by path. */
#include "blk/fs/ext4_int.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

#define INCOMPAT_FILETYPE 0x2
#define NAME_MAX          255

static int fail(const char **why, const char *msg, int err)
{
    *why = msg;
    return err;
}

static int is_dir(const struct ext4_inode *in) { return (in->mode & EXT4_S_IFMT) == EXT4_S_IFDIR; }

/*
 * Scan one directory block for name. Records are checked before use (ext4 docs "Linear (Classic)
 * Directories"); htree interior blocks look like one empty record spanning the block and are skipped
 * the same way. Returns 1 and *ino when found, 0 when not, -EINVAL on a malformed record.
 */
static int dir_block_find(const struct ext4_fs *fs, const uint8_t *b, uint32_t blen, const char *name,
                          size_t nlen, uint32_t *ino, const char **why)
{
    for (uint32_t off = 0; off < blen;) {
        if (blen - off < 8)
            return fail(why, "directory record overflows its block", -EINVAL);
        const uint8_t *r = b + off;
        uint32_t rec = get_le16(r + 4);
        size_t len = fs->incompat & INCOMPAT_FILETYPE ? r[6] : get_le16(r + 6);
        if (blen == 65536 && (rec == 0 || rec == 65535))  /* 64 KiB blocks: whole-block encoding */
            rec = 65536;
        else if (blen == 65536)
            rec = (rec & 65532) | (rec & 3) << 16;
        if (rec < 8 || (rec & 3) || rec > blen - off || 8 + len > rec)
            return fail(why, "bad directory record length", -EINVAL);
        uint32_t child = get_le32(r);
        if (child && len == nlen && !memcmp(r + 8, name, nlen)) {
            *ino = child;
            return 1;
        }
        off += rec;
    }
    return 0;
}

/* Inline directory: the parent's number, records in the rest of i_block, more in system.data. */
static int dir_inline_find(struct ext4_fs *fs, const struct ext4_inode *dir, const char *name, size_t nlen,
                           uint32_t *ino, const char **why)
{
    const uint8_t *tail;
    uint32_t tail_len;
    if ((nlen == 1 || nlen == 2) && !memcmp(name, "..", nlen)) {
        *ino = nlen == 1 ? dir->ino : get_le32(dir->iblock);
        return 0;
    }
    int rc = dir_block_find(fs, dir->iblock + 4, sizeof(dir->iblock) - 4, name, nlen, ino, why);
    if (!rc && dir->size > sizeof(dir->iblock))
        rc = ext4_inline_tail(fs, dir, &tail, &tail_len, why);
    if (!rc && dir->size > sizeof(dir->iblock))
        rc = dir_block_find(fs, tail, tail_len, name, nlen, ino, why);
    if (rc)
        return rc < 0 ? rc : 0;
    return fail(why, "no such file or directory", -ENOENT);
}

/* Look name up in directory dir by reading every block; -ENOENT when absent. */
static int dir_find(struct ext4_fs *fs, const struct ext4_inode *dir, const char *name, size_t nlen,
                    uint32_t *ino, const char **why)
{
    if (!is_dir(dir))
        return fail(why, "path component is not a directory", -ENOTDIR);
    if (dir->flags & EXT4_INLINE_FL)
        return dir_inline_find(fs, dir, name, nlen, ino, why);
    if (dir->size > EXT4_DIR_MAX || (dir->size & (fs->bs - 1)))
        return fail(why, "directory size invalid or too large", -EINVAL);
    uint64_t nblk = dir->size >> fs->log_bs;
    for (uint64_t l = 0; l < nblk;) {
        uint64_t pblk, run;
        int rc = ext4_bmap(fs, dir, (uint32_t)l, &pblk, &run, why);
        if (rc)
            return rc;
        if (run > nblk - l)
            run = nblk - l;
        for (uint64_t k = 0; pblk && k < run; k++) {
            const uint8_t *b;
            rc = ext4_block(fs, SLOT_DIR, pblk + k, &b, why);
            if (!rc)
                rc = dir_block_find(fs, b, fs->bs, name, nlen, ino, why);
            if (rc)
                return rc < 0 ? rc : 0;
        }
        l += run;
    }
    return fail(why, "no such file or directory", -ENOENT);
}

/* Symlink target into dst (NUL-terminated): fast links live in i_block, slow ones in a data block. */
static int link_target(struct ext4_fs *fs, const struct ext4_inode *in, char *dst, const char **why)
{
    if (in->size == 0 || in->size >= EXT4_PATH_MAX)
        return fail(why, "bad symlink length", -EINVAL);
    uint32_t ea = in->file_acl ? fs->bs >> 9 : 0;
    int fast = in->size < sizeof(in->iblock) && !(in->flags & (EXT4_EXTENTS_FL | EXT4_INLINE_FL)) &&
               in->blocks_lo <= ea;
    if (fast)
        memcpy(dst, in->iblock, (size_t)in->size);
    else {
        int rc = ext4_read_data(fs, in, in->size, (uint8_t *)dst, why);
        if (rc)
            return rc;
    }
    dst[in->size] = 0;
    if (strlen(dst) != in->size)
        return fail(why, "symlink target holds a NUL", -EINVAL);
    return 0;
}

/* Replace the walk's remaining path by target + "/" + rest (rest points into fs->path[cur]). */
static int splice_link(struct ext4_fs *fs, int *cur, const char *rest, const char **why)
{
    char *t = fs->path[!*cur];
    size_t tl = strlen(t), rl = strlen(rest);
    if (tl + 1 + rl >= EXT4_PATH_MAX)
        return fail(why, "path too long after following a symlink", -ENAMETOOLONG);
    t[tl] = '/';
    memmove(t + tl + 1, rest, rl + 1);
    *cur = !*cur;
    return 0;
}

int ext4_lookup(struct ext4_fs *fs, const char *path, struct ext4_inode *out, const char **why)
{
    if (path[0] != '/')
        return fail(why, "path is not absolute", -EINVAL);
    if (strnlen(path, EXT4_PATH_MAX) >= EXT4_PATH_MAX)
        return fail(why, "path too long", -ENAMETOOLONG);
    int cur = 0, links = 0;
    kstrlcpy(fs->path[0], path, EXT4_PATH_MAX);
    struct ext4_inode dir, child;
    int rc = ext4_inode_read(fs, EXT4_ROOT_INO, &dir, why);
    for (const char *p = fs->path[0]; !rc;) {
        while (*p == '/')
            p++;
        if (!*p) {
            *out = dir;
            return 0;
        }
        const char *end = strchr(p, '/');
        size_t nlen = end ? (size_t)(end - p) : strlen(p);
        uint32_t ino = 0;
        if (nlen > NAME_MAX)
            return fail(why, "path component too long", -ENAMETOOLONG);
        rc = dir_find(fs, &dir, p, nlen, &ino, why);
        if (!rc)
            rc = ext4_inode_read(fs, ino, &child, why);
        if (rc)
            return rc;
        p += nlen;
        if ((child.mode & EXT4_S_IFMT) != EXT4_S_IFLNK) {
            dir = child;
            continue;
        }
        if (++links > EXT4_MAX_SYMLINKS)
            return fail(why, "too many levels of symbolic links", -ELOOP);
        rc = link_target(fs, &child, fs->path[!cur], why);
        if (!rc && fs->path[!cur][0] == '/')
            rc = ext4_inode_read(fs, EXT4_ROOT_INO, &dir, why);
        if (!rc)
            rc = splice_link(fs, &cur, p, why);
        p = fs->path[cur];
    }
    return rc;
}

int ext4_read_file(struct ext4_fs *fs, const char *path, uint64_t max, void **buf, uint64_t *len,
                   const char **why)
{
    static const char *unused;
    struct ext4_inode in;
    if (!why)
        why = &unused;
    *why = NULL;
    if (!fs || !path || !buf || !len) {
        *why = "bad arguments";
        return -EINVAL;
    }
    int rc = ext4_lookup(fs, path, &in, why);
    if (rc)
        return rc;
    if ((in.mode & EXT4_S_IFMT) != EXT4_S_IFREG) {
        *why = "not a regular file";
        return (in.mode & EXT4_S_IFMT) == EXT4_S_IFDIR ? -EISDIR : -EINVAL;
    }
    if (in.size > max || (in.size >> fs->log_bs) >= (1ull << 32)) {
        *why = "file larger than allowed";
        return -EFBIG;
    }
    uint8_t *data = kmalloc(in.size ? (size_t)in.size : 1);
    if (!data) {
        *why = "out of memory";
        return -ENOMEM;
    }
    rc = ext4_read_data(fs, &in, in.size, data, why);
    if (rc) {
        kfree(data);
        return rc;
    }
    *buf = data;
    *len = in.size;
    return 0;
}

int ext4_stat(struct ext4_fs *fs, const char *path, uint64_t *size, uint16_t *mode, const char **why)
{
    static const char *unused;
    struct ext4_inode in;
    if (!why)
        why = &unused;
    *why = NULL;
    if (!fs || !path) {
        *why = "bad arguments";
        return -EINVAL;
    }
    int rc = ext4_lookup(fs, path, &in, why);
    if (rc)
        return rc;
    if (size)
        *size = in.size;
    if (mode)
        *mode = in.mode;
    return 0;
}

/* Host tests of blk/fs/part.c and blk/fs/ext4*.c against images made by mke2fs/sfdisk (tests/unit/blk_fs_images.sh). */
#define TEST_SUITE "blk_fs"
#define _XOPEN_SOURCE 700
#include "tests/unit/test.h"
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "blk/fs/part.h"
#include "blk/fs/ext4.h"
#include "kernel/byteorder.h"

#define MAX_FILE (256u << 20)

/* A disk image mapped private: tests corrupt their own copy; reads are counted and checked. */
struct img {
    uint8_t *p;
    uint64_t n;
    struct disk_src d;
    int reads, unaligned, oob, fail_after;
};

static const char *img_dir(void)
{
    const char *d = getenv("BLK_FS_DIR");
    return d ? d : "build/blk-fs";
}

static int img_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct img *m = ctx;
    if ((off | len) & 511)
        m->unaligned++;
    if (off > m->n || len > m->n - off) {
        m->oob++;
        return -EIO;
    }
    if (m->fail_after >= 0 && m->reads >= m->fail_after)
        return -EIO;
    m->reads++;
    memcpy(buf, m->p + off, len);
    return 0;
}

static int img_map(struct img *m, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", img_dir(), name);
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st)) {
        test_fail(__FILE__, __LINE__, "cannot open %s (run the generator)", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    m->p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->p == MAP_FAILED) {
        test_fail(__FILE__, __LINE__, "mmap %s failed", path);
        return -1;
    }
    m->n = (uint64_t)st.st_size;
    m->fail_after = -1;
    m->d = (struct disk_src){ img_read, m, m->n };
    return 0;
}

static void img_unmap(struct img *m)
{
    CHECK_EQ(m->unaligned, 0);
    CHECK_EQ(m->oob, 0);
    munmap(m->p, (size_t)m->n);
}

static uint8_t *host_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(*len + 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Read path through the reader and compare with the host file; returns 0 when equal. */
static int compare_file(struct ext4_fs *fs, const char *path, const char *host)
{
    size_t hl = 0;
    uint64_t len = 0;
    void *buf = NULL;
    const char *why = NULL;
    uint8_t *want = host_file(host, &hl);
    int rc = ext4_read_file(fs, path, MAX_FILE, &buf, &len, &why);
    int bad = !want || rc || len != hl || memcmp(buf, want, hl);
    if (bad)
        test_fail(__FILE__, __LINE__, "%s: rc %d (%s), len %llu vs %zu", path, rc, why ? why : "-",
                  (unsigned long long)len, hl);
    free(buf);
    free(want);
    return bad;
}

/* --- every file of the staging tree, read back from each image */
static struct ext4_fs *walk_fs;
static size_t walk_root;
static int walk_files, walk_dirs;

static int walk_one(const char *host, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    const char *path = host + walk_root;
    uint64_t size;
    uint16_t mode;
    if (!*path)
        path = "/";
    if (type == FTW_F) {
        walk_files++;
        compare_file(walk_fs, path, host);
    } else if (type == FTW_D) {
        walk_dirs++;
        CHECK_EQ(ext4_stat(walk_fs, path, &size, &mode, NULL), 0);
        CHECK_EQ(mode & EXT4_S_IFMT, EXT4_S_IFDIR);
    }
    if (type == FTW_F && ext4_stat(walk_fs, path, &size, &mode, NULL) == 0) {
        CHECK_EQ(mode & 07777, st->st_mode & 07777);
        CHECK_EQ(size, st->st_size);
    }
    return 0;
}

static struct ext4_fs *open_whole(struct img *m)
{
    struct ext4_fs *fs = NULL;
    const char *why = NULL;
    int rc = ext4_open(&m->d, 0, m->n, &fs, &why);
    if (rc)
        test_fail(__FILE__, __LINE__, "ext4_open: %d (%s)", rc, why ? why : "-");
    return rc ? NULL : fs;
}

TEST(images_match_staging_tree)
{
    char list[512], name[128], src[128], root[512];
    snprintf(list, sizeof(list), "%s/images.txt", img_dir());
    FILE *f = fopen(list, "r");
    int images = 0;
    CHECK(f != NULL);
    while (f && fscanf(f, "%127s %127s", name, src) == 2) {
        struct img m;
        char file[160];
        snprintf(file, sizeof(file), "%s.img", name);
        if (img_map(&m, file))
            break;
        walk_fs = open_whole(&m);
        snprintf(root, sizeof(root), "%s/%s", img_dir(), src);
        walk_root = strlen(root);
        walk_files = walk_dirs = 0;
        if (walk_fs)
            nftw(root, walk_one, 16, FTW_PHYS);
        CHECK(walk_files >= (strcmp(src, "src") ? 10 : 2000));
        CHECK(walk_dirs >= 8);
        ext4_close(walk_fs);
        img_unmap(&m);
        images++;
    }
    if (f)
        fclose(f);
    CHECK_EQ(images, 8);
}

TEST(symlinks_resolve_or_fail_cleanly)
{
    char list[512], path[256], want[256], host[512];
    struct img m;
    if (img_map(&m, "ext4-4k.img"))
        return;
    struct ext4_fs *fs = open_whole(&m);
    snprintf(list, sizeof(list), "%s/links.txt", img_dir());
    FILE *f = fopen(list, "r");
    int n = 0;
    while (fs && f && fscanf(f, "%255s %255s", path, want) == 2) {
        void *buf = NULL;
        uint64_t len;
        n++;
        if (want[0] != 'E') {
            snprintf(host, sizeof(host), "%s/src/%s", img_dir(), want);
            compare_file(fs, path, host);
            continue;
        }
        int expect = !strcmp(want, "ELOOP") ? -ELOOP : !strcmp(want, "ENOENT") ? -ENOENT : -ENOTDIR;
        int rc = ext4_read_file(fs, path, MAX_FILE, &buf, &len, NULL);
        if (rc != expect)
            test_fail(__FILE__, __LINE__, "%s: rc %d, expected %s", path, rc, want);
    }
    CHECK(n >= 14);
    if (f)
        fclose(f);
    ext4_close(fs);
    img_unmap(&m);
}

TEST(read_limits_and_bad_paths)
{
    struct img m;
    void *buf = NULL;
    uint64_t len = 0;
    const char *why = NULL;
    char longp[5000];
    if (img_map(&m, "ext4-4k.img"))
        return;
    struct ext4_fs *fs = open_whole(&m);
    CHECK_EQ(ext4_read_file(fs, "/boot/vmlinuz", 1000, &buf, &len, &why), -EFBIG);
    CHECK(why != NULL);
    CHECK_EQ(ext4_read_file(fs, "/boot", MAX_FILE, &buf, &len, NULL), -EISDIR);
    CHECK_EQ(ext4_read_file(fs, "boot/vmlinuz", MAX_FILE, &buf, &len, NULL), -EINVAL);
    memset(longp, 'a', sizeof(longp));
    longp[0] = '/';
    longp[300] = 0;
    CHECK_EQ(ext4_read_file(fs, longp, MAX_FILE, &buf, &len, NULL), -ENAMETOOLONG);
    longp[300] = 'a';
    longp[sizeof(longp) - 1] = 0;
    CHECK_EQ(ext4_read_file(fs, longp, MAX_FILE, &buf, &len, NULL), -ENAMETOOLONG);
    CHECK_EQ(ext4_read_file(fs, "/etc/empty", MAX_FILE, &buf, &len, NULL), 0);
    CHECK_EQ(len, 0);
    free(buf);
    uint64_t size;
    uint16_t mode;
    CHECK_EQ(ext4_stat(fs, "/sparse.bin", &size, &mode, NULL), 0);
    CHECK_U64(size, 8u << 20);
    CHECK_EQ(mode & EXT4_S_IFMT, EXT4_S_IFREG);
    CHECK_EQ(ext4_stat(fs, "/", &size, &mode, NULL), 0);
    CHECK_EQ(mode & EXT4_S_IFMT, EXT4_S_IFDIR);
    ext4_close(fs);
    img_unmap(&m);
}

/* --- partition tables against sfdisk's own dump */
static void guid_bytes(const char *s, uint8_t out[16])
{
    uint8_t t[16];
    int k = 0;
    for (; *s && k < 16; s++) {
        if (*s == '-')
            continue;
        unsigned v;
        sscanf(s, "%2x", &v);
        t[k++] = (uint8_t)v;
        s++;
    }
    static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
    for (int i = 0; i < 16; i++)
        out[i] = t[order[i]];
}

/* Compare p[0..n) with parts-<disk>.txt; returns the number of lines. */
static int check_parts(const char *disk, const struct part *p, int n)
{
    char list[512], type[64], name[64];
    unsigned long long idx, start, size;
    int boot, lines = 0;
    snprintf(list, sizeof(list), "%s/parts-%s.txt", img_dir(), disk);
    FILE *f = fopen(list, "r");
    CHECK(f != NULL);
    while (f && fscanf(f, "%llu %llu %llu %63s %d %63[^\n]", &idx, &start, &size, type, &boot, name) == 6) {
        if (lines >= n) {
            test_fail(__FILE__, __LINE__, "%s: partition %llu missing", disk, idx);
            lines++;
            continue;
        }
        const struct part *q = &p[lines++];
        CHECK_EQ(q->index, idx);
        CHECK_U64(q->start, start * 512);
        CHECK_U64(q->size, size * 512);
        CHECK_EQ(q->bootable, boot);
        if (strlen(type) > 8) {
            uint8_t g[16];
            guid_bytes(type, g);
            CHECK_MEM(q->gpt_type, g, 16);
            CHECK_STR(q->name, name);
        } else {
            CHECK_EQ(q->mbr_type, strtoul(type, NULL, 16));
        }
    }
    if (f)
        fclose(f);
    CHECK_EQ(n, lines);
    return lines;
}

static void check_boot_files(struct img *m, const struct part *p)
{
    struct ext4_fs *fs = NULL;
    char host[512];
    CHECK_EQ(ext4_open(&m->d, p->start, p->size, &fs, NULL), 0);
    snprintf(host, sizeof(host), "%s/src/boot/vmlinuz-6.1.0", img_dir());
    if (fs)
        compare_file(fs, "/boot/vmlinuz", host);
    snprintf(host, sizeof(host), "%s/src/boot/initrd.img-6.1.0", img_dir());
    if (fs)
        compare_file(fs, "/boot/initrd.img-6.1.0", host);
    ext4_close(fs);
}

TEST(mbr_logical_partition_holds_ext4)
{
    struct img m;
    struct part p[8];
    const char *why = NULL;
    if (img_map(&m, "disk-mbr.img"))
        return;
    int n = part_scan(&m.d, p, 8, &why);
    CHECK_EQ(n, 4);
    check_parts("disk-mbr", p, n);
    int i = part_pick(p, n, 0);
    CHECK(i >= 0 && p[i].index == 5);
    CHECK_EQ(p[part_pick(p, n, 6)].index, 6);
    CHECK_EQ(part_pick(p, n, 3), -ENOENT);
    CHECK_EQ(part_scan(&m.d, p, 2, NULL), 2);          /* max respected */
    if (i >= 0)
        check_boot_files(&m, &p[i]);
    img_unmap(&m);
}

TEST(gpt_partition_holds_ext4)
{
    struct img m;
    struct part p[8];
    if (img_map(&m, "disk-gpt.img"))
        return;
    int n = part_scan(&m.d, p, 8, NULL);
    CHECK_EQ(n, 3);
    check_parts("disk-gpt", p, n);
    int i = part_pick(p, n, 0);
    CHECK(i >= 0 && p[i].index == 2);
    if (i >= 0)
        check_boot_files(&m, &p[i]);
    img_unmap(&m);
}

TEST(gpt_bad_primary_uses_backup)
{
    struct img m;
    struct part p[8];
    const char *why = NULL;
    if (img_map(&m, "disk-gpt.img"))
        return;
    m.p[512 + 40] ^= 1;                                  /* FirstUsableLBA, CRC now wrong */
    CHECK_EQ(part_scan(&m.d, p, 8, NULL), 3);
    check_parts("disk-gpt", p, 3);
    m.p[512 + 40] ^= 1;
    m.p[1024 + 56] ^= 0x20;                              /* primary entry array: first name changes */
    CHECK_EQ(part_scan(&m.d, p, 8, NULL), 3);
    check_parts("disk-gpt", p, 3);
    m.p[512 + 40] ^= 1;
    m.p[m.n - 512 + 40] ^= 1;                            /* both headers bad */
    CHECK_EQ(part_scan(&m.d, p, 8, &why), -EINVAL);
    CHECK(why != NULL);
    img_unmap(&m);
}

TEST(truncated_disks_fail_cleanly)
{
    struct img m;
    struct part p[8];
    struct ext4_fs *fs = NULL;
    const char *why = NULL;
    if (img_map(&m, "disk-gpt.img"))
        return;
    m.d.size = 12u << 20;
    CHECK_EQ(part_scan(&m.d, p, 8, &why), -EINVAL);
    img_unmap(&m);
    if (img_map(&m, "disk-mbr.img"))
        return;
    m.d.size = 10u << 20;
    CHECK_EQ(part_scan(&m.d, p, 8, &why), -EINVAL);
    CHECK(why != NULL);
    m.d.size = 17u << 20;                                /* the extended partition ends at 21 MiB */
    CHECK_EQ(part_scan(&m.d, p, 8, &why), -EINVAL);
    img_unmap(&m);
    if (img_map(&m, "ext4-4k.img"))
        return;
    CHECK_EQ(part_scan(&m.d, p, 8, NULL), 0);           /* a bare filesystem: no table */
    m.d.size = 20u << 20;
    CHECK_EQ(ext4_open(&m.d, 0, m.d.size, &fs, &why), -EINVAL);
    CHECK(why != NULL);
    img_unmap(&m);
}

TEST(mbr_ebr_loop_is_bounded)
{
    struct img m;
    struct part p[70];
    const char *why = NULL;
    if (img_map(&m, "disk-mbr.img"))
        return;
    /* The second EBR (at 8192 + 24576 - 2048... wherever entry 1 of the first points) links back to the first. */
    uint8_t *ebr1 = m.p + 6144ull * 512;
    uint32_t next = get_le32(ebr1 + 462 + 8);
    uint8_t *ebr2 = m.p + (6144ull + next) * 512;
    ebr2[462 + 4] = 0x05;
    ebr2[462 + 8] = 0;                                   /* relative 0: back to the first EBR */
    ebr2[462 + 9] = ebr2[462 + 10] = ebr2[462 + 11] = 0;
    ebr2[462 + 12] = 1;
    CHECK_EQ(part_scan(&m.d, p, 70, &why), -EINVAL);
    ebr2[462 + 8] = (uint8_t)next;                       /* self loop */
    ebr2[462 + 9] = (uint8_t)(next >> 8);
    CHECK_EQ(part_scan(&m.d, p, 70, &why), -EINVAL);
    CHECK(why != NULL);
    img_unmap(&m);
}

/* --- corrupted filesystems */

static uint64_t location(const char *key)
{
    char list[512], k[64];
    unsigned long long v;
    snprintf(list, sizeof(list), "%s/locations.txt", img_dir());
    FILE *f = fopen(list, "r");
    while (f && fscanf(f, "%63s %llu", k, &v) == 2)
        if (!strcmp(k, key)) {
            fclose(f);
            return v;
        }
    if (f)
        fclose(f);
    test_fail(__FILE__, __LINE__, "no location %s", key);
    return 0;
}

static int open_rc(const char *image, void (*mutate)(uint8_t *p))
{
    struct img m;
    struct ext4_fs *fs = NULL;
    const char *why = NULL;
    if (img_map(&m, image))
        return 1;
    mutate(m.p);
    int rc = ext4_open(&m.d, 0, m.n, &fs, &why);
    if (rc && !why)
        test_fail(__FILE__, __LINE__, "error %d without a reason", rc);
    ext4_close(fs);
    img_unmap(&m);
    return rc;
}

static void sb_magic(uint8_t *p) { p[1024 + 0x38] ^= 0xff; }
static void sb_logbs(uint8_t *p) { put_le32(p + 1024 + 0x18, 7); }
static void sb_logbs_huge(uint8_t *p) { put_le32(p + 1024 + 0x18, 0xffffffffu); }
static void sb_ipg0(uint8_t *p) { put_le32(p + 1024 + 0x28, 0); }
static void sb_bpg0(uint8_t *p) { put_le32(p + 1024 + 0x20, 0); }
static void sb_blocks_huge(uint8_t *p) { put_le32(p + 1024 + 0x150, 0x100); }
static void sb_descsize(uint8_t *p) { put_le16(p + 1024 + 0xFE, 48); }
static void sb_dirdata(uint8_t *p) { p[1024 + 0x61] |= 0x10; }
static void gd_itable(uint8_t *p) { put_le32(p + 4096 + 8, 0xfffffff0u); }
static void gd_itable_hi(uint8_t *p) { put_le32(p + 4096 + 0x28, 0xffff); }

TEST(corrupt_superblock_and_descriptors)
{
    CHECK_EQ(open_rc("ext4-4k.img", sb_magic), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_logbs), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_logbs_huge), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_ipg0), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_bpg0), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_blocks_huge), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_descsize), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", sb_dirdata), -ENOTSUP);
    CHECK_EQ(open_rc("ext4-4k.img", gd_itable), -EINVAL);
    CHECK_EQ(open_rc("ext4-4k.img", gd_itable_hi), -EINVAL);
}

/* Corrupt image at off with fn, then read path: the error expected, and /etc/hostname still reads. */
#define read_after(...) read_after_at(__LINE__, __VA_ARGS__)
static void read_after_at(int line, const char *image, void (*fn)(uint8_t *at, struct img *m), uint64_t off,
                          const char *path, int expect)
{
    struct img m;
    char host[512];
    void *buf = NULL;
    uint64_t len;
    const char *why = NULL;
    if (img_map(&m, image))
        return;
    fn(m.p + off, &m);
    struct ext4_fs *fs = open_whole(&m);
    int rc = fs ? ext4_read_file(fs, path, MAX_FILE, &buf, &len, &why) : -1;
    if (rc != expect || (rc && !why))
        test_fail(__FILE__, line, "%s after corruption at %#llx: rc %d (%s), expected %d", path,
                  (unsigned long long)off, rc, why ? why : "-", expect);
    if (!rc)
        free(buf);
    snprintf(host, sizeof(host), "%s/src/etc/hostname", img_dir());
    if (fs)
        compare_file(fs, "/etc/hostname", host);
    ext4_close(fs);
    img_unmap(&m);
}

static void eh_magic(uint8_t *i, struct img *m) { (void)m; i[0x28] ^= 0xff; }
static void eh_entries(uint8_t *i, struct img *m) { (void)m; put_le16(i + 0x28 + 2, 5); }
static void eh_depth(uint8_t *i, struct img *m) { (void)m; put_le16(i + 0x28 + 6, 6); }
static void ee_far(uint8_t *i, struct img *m) { (void)m; put_le32(i + 0x28 + 12 + 8, 0xffffff00u); }
static void ee_far_hi(uint8_t *i, struct img *m) { (void)m; put_le16(i + 0x28 + 12 + 6, 0x7fff); }
static void ei_far(uint8_t *i, struct img *m) { (void)m; put_le32(i + 0x28 + 12 + 4, 0x0fffffffu); }
static void ind_far(uint8_t *i, struct img *m) { (void)m; put_le32(i + 0x28, 0xfffffff0u); }
static void dind_far(uint8_t *i, struct img *m) { (void)m; put_le32(i + 0x28 + 13 * 4, 0xfffffff0u); }
static void rec_zero(uint8_t *d, struct img *m) { (void)m; put_le16(d + 4, 0); }
static void rec_over(uint8_t *d, struct img *m) { (void)m; put_le16(d + 4, 0xfffc); }
static void rec_odd(uint8_t *d, struct img *m) { (void)m; put_le16(d + 4, 10); }
static void name_over(uint8_t *d, struct img *m) { (void)m; d[6] = 200; }
static void ino_far(uint8_t *d, struct img *m) { (void)m; put_le32(d, 0xfffffff0u); }

/* The leaf of many-extents.bin rewritten as an index node (depth 1) pointing at itself: a cycle. */
static void leaf_cycle(uint8_t *i, struct img *m)
{
    uint32_t leaf = get_le32(i + 0x28 + 12 + 4);
    uint8_t *b = m->p + (uint64_t)leaf * 4096;
    put_le16(b + 6, 1);
    put_le32(b + 12 + 4, leaf);
    put_le16(b + 12 + 8, 0);
}

TEST(corrupt_extents_block_maps_and_dirs)
{
    uint64_t vm = location("vmlinuz_inode"), many = location("many_inode"), boot = location("boot_block");
    uint64_t bm = location("blockmap_vmlinuz_inode"), bt = location("blockmap_triple_inode");
    read_after("ext4-4k.img", eh_magic, vm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", eh_entries, vm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", eh_depth, vm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", ee_far, vm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", ee_far_hi, vm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", ei_far, many, "/many-extents.bin", -EINVAL);
    read_after("ext4-4k.img", leaf_cycle, many, "/many-extents.bin", -EINVAL);
    read_after("ext4-blockmap.img", ind_far, bm, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-blockmap.img", dind_far, bt, "/triple.bin", -EINVAL);
    read_after("ext4-4k.img", rec_zero, boot, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", rec_over, boot, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", rec_odd, boot, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", name_over, boot, "/boot/vmlinuz", -EINVAL);
    read_after("ext4-4k.img", ino_far, boot, "/boot/./vmlinuz", -EINVAL);
}

/* An extent marked unwritten (ee_len + 32768) reads as zeros over its whole length. */
TEST(unwritten_extent_reads_zeros)
{
    struct img m;
    void *buf = NULL;
    uint64_t len = 0;
    if (img_map(&m, "ext4-4k.img"))
        return;
    uint8_t *i = m.p + location("vmlinuz_inode");
    uint16_t n = get_le16(i + 0x28 + 12 + 4);
    CHECK(n > 0 && n < 32768);
    put_le16(i + 0x28 + 12 + 4, (uint16_t)(n + 32768));
    struct ext4_fs *fs = open_whole(&m);
    CHECK_EQ(fs ? ext4_read_file(fs, "/boot/vmlinuz", MAX_FILE, &buf, &len, NULL) : -1, 0);
    uint64_t nonzero = 0, upto = (uint64_t)n * 4096 < len ? (uint64_t)n * 4096 : len;
    for (uint64_t k = 0; buf && k < upto; k++)
        nonzero += ((uint8_t *)buf)[k] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK(upto > 1000000);
    free(buf);
    ext4_close(fs);
    img_unmap(&m);
}

TEST(read_errors_propagate)
{
    struct img m;
    char host[512];
    if (img_map(&m, "disk-gpt.img"))
        return;
    snprintf(host, sizeof(host), "%s/src/boot/vmlinuz-6.1.0", img_dir());
    size_t hl;
    uint8_t *want = host_file(host, &hl);
    int ok = 0, failed = 0;
    for (int n = 0; n < 200 && !ok; n++) {
        struct part p[8];
        struct ext4_fs *fs = NULL;
        void *buf = NULL;
        uint64_t len = 0;
        const char *why = NULL;
        m.reads = 0;
        m.fail_after = n;
        int rc = part_scan(&m.d, p, 8, &why);
        if (rc > 1)
            rc = ext4_open(&m.d, p[1].start, p[1].size, &fs, &why);
        if (rc >= 0)
            rc = ext4_read_file(fs, "/boot/vmlinuz", MAX_FILE, &buf, &len, &why);
        if (rc == 0) {
            ok = len == hl && !memcmp(buf, want, hl);
            CHECK(ok);
            free(buf);
        } else {
            failed++;
            if (rc != -EIO || !why)
                test_fail(__FILE__, __LINE__, "read failure %d gave %d (%s)", n, rc, why ? why : "-");
        }
        ext4_close(fs);
    }
    CHECK(ok);
    CHECK(failed >= 5);
    free(want);
    img_unmap(&m);
}

/* Every metadata byte of a small real image flipped in turn: only clean results, never a crash. */
TEST(byte_flip_sweep_small_image)
{
    struct img m;
    if (img_map(&m, "fuzz-seed.img"))
        return;
    int opened = 0;
    for (uint64_t off = 1024; off < m.n && off < 24 * 1024; off++) {
        m.p[off] ^= 0xff;
        struct ext4_fs *fs = NULL;
        const char *why = NULL;
        if (ext4_open(&m.d, 0, m.n, &fs, &why) == 0) {
            void *buf = NULL;
            uint64_t len;
            opened++;
            if (ext4_read_file(fs, "/abs", 1 << 20, &buf, &len, &why) == 0)
                free(buf);
            if (ext4_read_file(fs, "/d/f", 1 << 20, &buf, &len, &why) == 0)
                free(buf);
            ext4_close(fs);
        } else if (!why) {
            test_fail(__FILE__, __LINE__, "flip at %llu: error without reason", (unsigned long long)off);
        }
        m.p[off] ^= 0xff;
    }
    CHECK(opened > 1000);
    img_unmap(&m);
}

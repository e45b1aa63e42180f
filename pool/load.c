/* Boot files of a pool image: partition table, ext2/3/4 filesystem, or named multiboot modules. */
#include "pool/load.h"
#include "pool/pool.h"
#include "blk/fs/disk.h"
#include "blk/fs/part.h"
#include "blk/fs/ext4.h"
#include "blk/sync.h"
#include "kernel/kernel.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define POOL_PARTS      16
#define BOOT_FILE_MAX   (256ull << 20)

struct load_ctx {
    struct pool_image *img;
};

static int lun_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct pool_image *img = ((struct load_ctx *)ctx)->img;
    int err = blk_rw_sync(img->lun, BLK_READ, off, buf, len, pool_wait_turn);
    if (!err)
        img->loader_bytes += len;
    return err;
}

/* Open the filesystem: on the chosen partition, or on the whole disk when there is no table. */
static int open_fs(struct pool_image *img, const struct disk_src *d, struct ext4_fs **fs, const char **why)
{
    struct part *parts = kzalloc(sizeof(*parts) * POOL_PARTS);
    const struct part *p;
    int n, i, err;
    if (!parts)
        return -ENOMEM;
    n = part_scan(d, parts, POOL_PARTS, why);
    if (n < 0) {
        kfree(parts);
        return n;
    }
    i = part_pick(parts, n, img->part);
    p = i >= 0 ? &parts[i] : NULL;
    if (n && !p) {
        *why = "no such partition (part=)";
        err = -ENOENT;
    } else {
        err = ext4_open(d, p ? p->start : 0, p ? p->size : d->size, fs, why);
    }
    kfree(parts);
    return err;
}

/* A module named path: used in place (it lives as long as shoal). */
static int from_module(const char *path, void **buf, uint64_t *len, const char **why)
{
    const struct boot_module *m = boot_module_find(path);
    if (!m || m->end <= m->start) {
        *why = m ? "module is empty" : "no such boot module";
        return -ENOENT;
    }
    *buf = (void *)m->start;
    *len = m->end - m->start;
    return 0;
}

void pool_drop_boot_files(struct pool_image *img)
{
    if (!img->kernel_module)
        kfree(img->kernel);
    if (!img->initrd_module)
        kfree(img->initrd);
    img->kernel = img->initrd = NULL;
    img->kernel_len = img->initrd_len = 0;
}

int pool_load_boot_files(struct pool_image *img, const char **why)
{
    struct load_ctx ctx = { img };
    struct disk_src d = { lun_read, &ctx, img->lun->sectors * 512ull };
    struct ext4_fs *fs = NULL;
    int err = 0;

    img->kernel_module = img->kernel_path[0] != '/';
    img->initrd_module = img->initrd_path[0] != '/';
    if ((!img->kernel_module || !img->initrd_module) && (err = open_fs(img, &d, &fs, why)))
        return err;
    if (img->kernel_module)
        err = from_module(img->kernel_path, &img->kernel, &img->kernel_len, why);
    else
        err = ext4_read_file(fs, img->kernel_path, BOOT_FILE_MAX, &img->kernel, &img->kernel_len, why);
    if (!err && img->initrd_module)
        err = from_module(img->initrd_path, &img->initrd, &img->initrd_len, why);
    else if (!err)
        err = ext4_read_file(fs, img->initrd_path, BOOT_FILE_MAX, &img->initrd, &img->initrd_len, why);
    if (fs)
        ext4_close(fs);
    if (err)
        pool_drop_boot_files(img);
    return err;
}

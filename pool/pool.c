/* The golden image pool: the catalog, each image's way to READY (network, iSCSI login, cache, boot files). */
#include "pool/pool.h"
#include "pool/blockidx.h"
#include "pool/load.h"
#include "blk/cache.h"
#include "blk/cow.h"
#include "net/net.h"
#include "net/iscsi_sessions.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/param.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define POOL_DEFAULT_MEM    (128ull << 20)
#define POOL_DEFAULT_CACHE  (64ull << 20)
#define POOL_CACHE_MIN      (1ull << 20)

static struct pool_image images[POOL_MAX];
static int stepping;

struct pool_image *pool_slot(int i)
{
    return i >= 0 && i < POOL_MAX && images[i].state != POOL_FREE ? &images[i] : NULL;
}

struct pool_image *pool_find(const char *name)
{
    for (int i = 0; i < POOL_MAX; i++)
        if (images[i].state != POOL_FREE && !strcmp(images[i].name, name))
            return &images[i];
    return NULL;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= POOL_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* key=value into dst (size n); 1 when argument a has that key, -1 when the value does not fit. */
static int opt_str(const char *a, const char *key, char *dst, size_t n)
{
    const char *val = param_value(a, key);
    if (!val)
        return 0;
    return kstrlcpy(dst, val, n) < n ? 1 : -1;
}

static int opt_num(const char *a, const char *key, uint64_t *v, uint64_t lo, uint64_t hi)
{
    const char *val = param_value(a, key);
    if (!val)
        return 0;
    return !kstrtou64(val, v, 1) && *v >= lo && *v <= hi ? 1 : -1;
}

/* CHAP one-way from chap=USER:SECRET. */
static int opt_chap(const char *a, struct iscsi_config *cfg)
{
    const char *v = param_value(a, "chap");
    if (!v)
        return 0;
    return iscsi_parse_cred(v, cfg->chap_user, sizeof(cfg->chap_user), cfg->chap_secret,
                            sizeof(cfg->chap_secret)) ? -1 : 1;
}

/* One option word; 1 taken, 0 unknown key, -1 bad value. */
static int pool_opt(struct pool_image *img, const char *a)
{
    uint64_t v = 0;
    int r;
    if ((r = opt_str(a, "kernel", img->kernel_path, sizeof(img->kernel_path))) ||
        (r = opt_str(a, "initrd", img->initrd_path, sizeof(img->initrd_path))) ||
        (r = opt_str(a, "cmdline", img->cmdline, sizeof(img->cmdline))) ||
        (r = opt_num(a, "mem", &img->mem, 72ull << 20, 3ull << 30)) ||
        (r = opt_num(a, "cache", &img->cache_bytes, POOL_CACHE_MIN, 1ull << 40)) || (r = opt_chap(a, &img->cfg)))
        return r;
    if ((r = opt_num(a, "vcpus", &v, 1, 64)) > 0)
        img->vcpus = (int)v;
    else if (!r && (r = opt_num(a, "part", &v, 1, 128)) > 0)
        img->part = (int)v;
    return r;
}

static void pool_defaults(struct pool_image *img, const char *name, int boot)
{
    memset(img, 0, sizeof(*img));
    kstrlcpy(img->name, name, sizeof(img->name));
    kstrlcpy(img->kernel_path, "/boot/vmlinuz", sizeof(img->kernel_path));
    kstrlcpy(img->initrd_path, "/boot/initrd.img", sizeof(img->initrd_path));
    kstrlcpy(img->cmdline, "root=/dev/vda1 rw", sizeof(img->cmdline));
    img->mem = POOL_DEFAULT_MEM;
    img->cache_bytes = POOL_DEFAULT_CACHE;
    img->vcpus = 1;
    img->slot = -1;
    img->boot = boot;
    img->added_ns = time_ns();
}

struct pool_image *pool_add(const char *name, const char *url, int argc, char **argv, int boot, int *err)
{
    struct pool_image tmp, *img = NULL;
    pool_defaults(&tmp, name, boot);
    *err = -EINVAL;
    if (!valid_name(name)) {
        kprintf("error: pool add: '%s': give a name of letters, digits, '-', '_' or '.' (up to %d)\n", name,
                POOL_NAME_MAX - 1);
        return NULL;
    }
    if (iscsi_parse_url(url, &tmp.cfg) || strncmp(url, "iscsi://", 8)) {
        kprintf("error: pool add %s: '%s': give iscsi://PORTAL[:PORT]/TARGET/LUN\n", name, url);
        return NULL;
    }
    for (int i = 0; i < argc; i++) {
        int r = pool_opt(&tmp, argv[i]);
        if (r <= 0) {
            kprintf("error: pool add %s: %s: %s\n", name, argv[i], r ? "bad value" : "unknown option");
            return NULL;
        }
    }
    for (int i = 0; i < POOL_MAX && !img; i++)
        if (images[i].state == POOL_FREE)
            img = &images[i];
    *err = pool_find(name) ? -EEXIST : !img ? -ENOSPC : 0;
    if (*err) {
        kprintf("error: pool add %s: %s\n", name, *err == -EEXIST ? "name taken" : "pool full");
        return NULL;
    }
    *img = tmp;
    img->state = POOL_WAIT_NET;
    return img;
}

static void pool_fail(struct pool_image *img, const char *why)
{
    kstrlcpy(img->why, why, sizeof(img->why));
    img->state = POOL_FAILED;
    log_err("pool %s: %s", img->name, why);
}

/* The LUN is ready: the shared cache over it, then the boot files through the LUN itself. */
static void pool_ready_lun(struct pool_image *img)
{
    char why[96];
    const char *w = NULL;
    int err;
    img->lun = iscsi_find_lun(img->slot);
    img->size = img->lun->sectors * 512ull;
    if (!(img->cache = cache_create(img->lun, img->cache_bytes, img->name, &err))) {
        ksnprintf(why, sizeof(why), "cache of %llu MiB: %s", (unsigned long long)(img->cache_bytes >> 20),
                  err == -ENOMEM ? "out of memory" : "bad size");
        pool_fail(img, why);
        return;
    }
    if ((err = pool_load_boot_files(img, &w))) {
        ksnprintf(why, sizeof(why), "boot files: %s (%d)", w ? w : "read failed", err);
        pool_fail(img, why);
        return;
    }
    img->state = POOL_READY;
    img->ready_ns = time_ns();
    log_info("pool %s: ready, %llu MiB, kernel %llu KiB, initrd %llu KiB, in %llu ms", img->name,
             (unsigned long long)(img->size >> 20), (unsigned long long)(img->kernel_len >> 10),
             (unsigned long long)(img->initrd_len >> 10),
             (unsigned long long)((img->ready_ns - img->added_ns) / 1000000));
}

static void pool_step(struct pool_image *img)
{
    struct iscsi_slot_info si;
    if (img->state == POOL_WAIT_NET && net_is_up()) {
        /* A boot image's host may come up before its target (a rack after a power cut): its session
         * keeps logging in with backoff until the target answers, and autostart waits for READY. */
        img->cfg.persistent = img->boot;
        img->slot = iscsi_slot_open(&img->cfg, img->boot);
        if (img->slot < 0)
            pool_fail(img, "no free iSCSI session");
        else
            img->state = POOL_LOGIN;
    }
    if (img->state != POOL_LOGIN || iscsi_slot_info(img->slot, &si))
        return;
    if (si.state == ISL_READY)
        pool_ready_lun(img);
    else if (si.state == ISL_FAILED || si.state == ISL_CLOSED)
        pool_fail(img, iscsi_err_text(si.err));
}

int pool_poll(void)
{
    int busy = 0;
    if (stepping)
        return 1;
    stepping = 1;
    for (int i = 0; i < POOL_MAX; i++) {
        if (images[i].state == POOL_WAIT_NET || images[i].state == POOL_LOGIN)
            pool_step(&images[i]);
        busy |= images[i].state == POOL_LOGIN;
    }
    stepping = 0;
    return busy;
}

void pool_wait_turn(void)
{
    iscsi_wait_turn();
}

int pool_wait_ready(struct pool_image *img, uint32_t timeout_ms)
{
    uint64_t end = time_ns() + (uint64_t)timeout_ms * 1000000ull;
    while ((img->state == POOL_WAIT_NET || img->state == POOL_LOGIN) && time_ns() < end) {
        pool_wait_turn();
        pool_poll();
    }
    return img->state == POOL_READY ? 0 : img->state == POOL_FAILED ? -EIO : -ETIMEDOUT;
}

struct blk_dev *pool_clone_disk(struct pool_image *img, uint64_t quota_bytes, const char *name, int *err)
{
    struct blk_dev *d;
    if (img->state != POOL_READY) {
        *err = -EAGAIN;
        return NULL;
    }
    if ((d = cow_create(img->cache, quota_bytes, name, err)))
        img->clones++;
    return d;
}

void pool_clone_release(struct pool_image *img, struct blk_dev *disk)
{
    while (cow_inflight(disk) > 0)      /* base reads may target the guest's memory: let them land first */
        pool_wait_turn();
    disk->ops->close(disk);
    img->clones--;
}

/* Free an image's boot files, cache and session. */
static void pool_free(struct pool_image *img)
{
    pool_drop_boot_files(img);
    blockidx_free(img->index);
    if (img->cache)
        img->cache->ops->close(img->cache);
    if (img->slot >= 0)
        iscsi_slot_close(img->slot, 2000);
    memset(img, 0, sizeof(*img));
}

int pool_remove(const char *name)
{
    struct pool_image *img = pool_find(name);
    if (!img)
        return -ENOENT;
    if (img->clones)
        return -EBUSY;
    pool_free(img);
    return 0;
}

/* The `pool` shell command and the pool= boot parameter. */
#include "pool/pool.h"
#include "blk/blk.h"
#include "blk/cache.h"
#include "net/iscsi_sessions.h"
#include "kernel/shell.h"
#include "kernel/param.h"
#include "kernel/init.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define POOL_ADD_WAIT_MS 60000u

const char *pool_state_name(enum pool_state s)
{
    switch (s) {
    case POOL_WAIT_NET: return "wait-net";
    case POOL_LOGIN: return "login";
    case POOL_READY: return "ready";
    default: return "failed";
    }
}

/* Hit rate in tenths of a percent. */
static unsigned hit_permille(const struct cache_stats *c)
{
    uint64_t all = c->hits + c->misses;
    return all ? (unsigned)(c->hits * 1000 / all) : 0;
}

/* An image whose session is still trying to log in: the last attempt's error and the count. */
static void list_retrying(const struct pool_image *img)
{
    struct iscsi_slot_info si;
    if (iscsi_slot_info(img->slot, &si) || !si.attempts)
        return;
    kprintf("%-12s   retrying: %s (%d), %d failed attempt%s\n", "", iscsi_err_text(si.last_err), si.last_err,
            si.attempts, si.attempts == 1 ? "" : "s");
}

static int pool_list(void)
{
    kprintf("%-12s %-8s %9s %6s %7s %12s  %s\n", "NAME", "STATE", "SIZE(MiB)", "CLONES", "HIT%", "FETCHED(KiB)",
            "SOURCE");
    for (int i = 0; i < POOL_MAX; i++) {
        struct pool_image *img = pool_slot(i);
        struct cache_stats c = { 0 };
        unsigned h;
        if (!img)
            continue;
        if (img->cache)
            cache_get_stats(img->cache, &c);
        h = hit_permille(&c);
        kprintf("%-12s %-8s %9llu %6d %5u.%u %12llu  iscsi://%s:%u/%s/%u\n", img->name, pool_state_name(img->state),
                (unsigned long long)(img->size >> 20), img->clones, h / 10, h % 10,
                (unsigned long long)(c.bytes_fetched >> 10), img->cfg.host, img->cfg.port, img->cfg.target,
                img->cfg.lun);
        if (img->state == POOL_FAILED)
            kprintf("%-12s   why: %s\n", "", img->why);
        else if (img->state == POOL_LOGIN)
            list_retrying(img);
    }
    return 0;
}

static int pool_stats(struct pool_image *img)
{
    struct cache_stats c = { 0 };
    if (img->cache)
        cache_get_stats(img->cache, &c);
    kprintf("pool %s: %s, %llu bytes, %d clones, kernel %s (%llu bytes), initrd %s (%llu bytes)\n", img->name,
            pool_state_name(img->state), (unsigned long long)img->size, img->clones, img->kernel_path,
            (unsigned long long)img->kernel_len, img->initrd_path, (unsigned long long)img->initrd_len);
    kprintf("  cmdline: %s\n  defaults: mem=%lluM vcpus=%d cache=%lluM\n", img->cmdline,
            (unsigned long long)(img->mem >> 20), img->vcpus, (unsigned long long)(img->cache_bytes >> 20));
    kprintf("  cache: hits %llu misses %llu joins %llu base_reads %llu bytes_fetched %llu readahead %llu "
            "(used %llu) evictions %llu lines %llu/%llu\n", (unsigned long long)c.hits,
            (unsigned long long)c.misses, (unsigned long long)c.joins, (unsigned long long)c.base_reads,
            (unsigned long long)c.bytes_fetched, (unsigned long long)c.readahead,
            (unsigned long long)c.readahead_used, (unsigned long long)c.evictions,
            (unsigned long long)c.lines_used, (unsigned long long)c.lines);
    kprintf("  loader read %llu bytes\n", (unsigned long long)img->loader_bytes);
    return 0;
}

static int pool_add_cmd(int argc, char **argv)
{
    struct pool_image *img;
    int err;
    if (argc < 4)
        return shell_usage("pool");
    if (!(img = pool_add(argv[2], argv[3], argc - 4, argv + 4, 0, &err)))
        return err;
    kprintf("pool %s: logging in to %s:%u %s lun %u\n", img->name, img->cfg.host, img->cfg.port, img->cfg.target,
            img->cfg.lun);
    err = pool_wait_ready(img, POOL_ADD_WAIT_MS);
    if (err == -ETIMEDOUT)
        kprintf("pool %s: still %s after %u s (it keeps trying: see pool list)\n", img->name,
                pool_state_name(img->state), POOL_ADD_WAIT_MS / 1000);
    else if (err)
        kprintf("error: pool add %s: %s\n", img->name, img->why);
    else
        kprintf("pool %s: ready, %llu MiB, kernel %llu KiB, initrd %llu KiB\n", img->name,
                (unsigned long long)(img->size >> 20), (unsigned long long)(img->kernel_len >> 10),
                (unsigned long long)(img->initrd_len >> 10));
    return err;
}

static int pool_rm_cmd(const char *name)
{
    int err = pool_remove(name);
    if (err == -ENOENT)
        kprintf("error: pool rm: no image named '%s'\n", name);
    else if (err == -EBUSY)
        kprintf("error: pool rm %s: it still has clones (destroy them first)\n", name);
    else
        kprintf("pool %s removed\n", name);
    return err;
}

static int cmd_pool(int argc, char **argv)
{
    struct pool_image *img;
    if (argc == 2 && !strcmp(argv[1], "list"))
        return pool_list();
    if (argc >= 2 && !strcmp(argv[1], "add"))
        return pool_add_cmd(argc, argv);
    if (argc == 3 && !strcmp(argv[1], "rm"))
        return pool_rm_cmd(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "index"))
        return pool_index_cmd(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "share"))
        return pool_share_cmd(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "stats")) {
        if (!(img = pool_find(argv[2]))) {
            kprintf("error: pool stats: no image named '%s'\n", argv[2]);
            return -ENOENT;
        }
        return pool_stats(img);
    }
    return shell_usage("pool");
}
SHELL_COMMAND("pool", "add NAME iscsi://PORTAL[:PORT]/TARGET/LUN [kernel=PATH] [initrd=PATH] [cmdline=\"...\"]"
              " [mem=128M] [vcpus=1] [cache=64M] [part=N] [chap=USER:SECRET] | list | stats NAME | rm NAME"
              " | share NAME NAME | index NAME",
              "golden images that clones are made from", cmd_pool);

/* pool=NAME=iscsi://PORTAL/TARGET/LUN[,OPTION=VALUE...]: options as for `pool add`; cmdline= must come last
 * (it takes the rest, commas included). */
static int param_pool(const char *v)
{
    char buf[512], *argv[12], *eq, *p;
    int argc = 0, err;
    if (kstrlcpy(buf, v, sizeof(buf)) >= sizeof(buf) || !(eq = strchr(buf, '=')))
        return -EINVAL;
    *eq = 0;
    for (p = strchr(eq + 1, ','); p && argc < 12; p = strchr(p + 1, ',')) {
        *p = 0;
        argv[argc++] = p + 1;
        if (!strncmp(p + 1, "cmdline=", 8))
            break;
    }
    return pool_add(buf, eq + 1, argc, argv, 1, &err) ? 0 : err;
}
BOOT_PARAM("pool", "NAME=iscsi://PORTAL/TARGET/LUN[,kernel=,initrd=,mem=,vcpus=,cache=,part=,chap=,cmdline=]"
           ": a golden image", param_pool);

static int pool_init(void)
{
    return shell_add_poller(pool_poll);
}
INIT_HOOK(INIT_POOL, pool_init);

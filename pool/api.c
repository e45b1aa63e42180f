/* The API's /api/images resource and the images' (and their iSCSI sessions') /metrics families. */
#include "net/api/api.h"
#include "pool/pool.h"
#include "blk/cache.h"
#include "net/iscsi_sessions.h"
#include "kernel/console.h"
#include "kernel/init.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/log.h"
#include "kernel/errno.h"

#define OUT_MAX 4096


static void image_json(struct jbuf *b, const struct pool_image *img, int detail)
{
    struct cache_stats c = { 0 };
    char src[160];
    if (img->cache)
        cache_get_stats(img->cache, &c);
    ksnprintf(src, sizeof(src), "iscsi://%s:%u/%s/%u", img->cfg.host, img->cfg.port, img->cfg.target, img->cfg.lun);
    jb_open(b, '{');
    jb_kstr(b, "name", img->name);
    jb_kstr(b, "state", pool_state_name(img->state));
    jb_kstr(b, "source", src);
    jb_ku64(b, "size_bytes", img->size);
    jb_ku64(b, "clones", (uint64_t)img->clones);
    jb_ku64(b, "cache_hits", c.hits);
    jb_ku64(b, "cache_misses", c.misses);
    jb_ku64(b, "hit_permille", c.hits + c.misses ? c.hits * 1000 / (c.hits + c.misses) : 0);
    jb_ku64(b, "bytes_fetched", c.bytes_fetched);
    if (img->state == POOL_FAILED)
        jb_kstr(b, "why", img->why);
    if (detail) {
        jb_kstr(b, "kernel", img->kernel_path);
        jb_kstr(b, "initrd", img->initrd_path);
        jb_kstr(b, "cmdline", img->cmdline);
        jb_ku64(b, "mem_bytes", img->mem);
        jb_ku64(b, "vcpus", (uint64_t)img->vcpus);
        jb_ku64(b, "cache_bytes", img->cache_bytes);
        jb_ku64(b, "readahead", c.readahead);
        jb_ku64(b, "evictions", c.evictions);
    }
    jb_close(b, '}');
}

static void list(struct api_resp *rs)
{
    api_json(rs, 200);
    jb_open(&rs->b, '[');
    for (int i = 0; i < POOL_MAX; i++) {
        struct pool_image *img = pool_slot(i);
        if (img) {
            jb_elem(&rs->b);
            image_json(&rs->b, img, 0);
        }
    }
    jb_close(&rs->b, ']');
    jb_puts(&rs->b, "\n");
}

static const char *const add_fields[] = { "name", "url", "kernel", "initrd", "cmdline", "mem", "vcpus", "cache",
                                          "part", "chap", NULL };

/* cmdline: printable ASCII and spaces, no quotes (the guest's command line, one argument to pool_add). */
static const char *cmdline_field(const struct json_obj *o, struct api_resp *rs)
{
    const struct json_field *f = json_get(o, "cmdline");
    if (!f)
        return NULL;
    if (f->type == JSON_STRING && strlen(f->str) < POOL_CMDLINE_MAX) {
        const char *s = f->str;
        while (*s >= ' ' && *s < 0x7f && *s != '"')
            s++;
        if (!*s)
            return f->str;
    }
    api_error(rs, 400, "field 'cmdline' must be printable text without quotes", "cmdline");
    return NULL;
}

/*
 * POST /api/images {"name", "url", "kernel", "initrd", "cmdline", "mem", "vcpus", "cache", "part", "chap"}:
 * pool_add, as `pool add` runs it; the answer (202) comes at once, the login goes on (GET shows the state).
 */
static void add(struct api_req *rq, struct api_resp *rs)
{
    static const char *const opts[] = { "kernel", "initrd", "mem", "vcpus", "cache", "part", "chap" };
    char name[POOL_NAME_MAX], url[200], arg[8][POOL_CMDLINE_MAX + 16], *argv[8];
    struct json_obj *o = api_body(rq, rs, add_fields);
    const char *cmdline;
    char *out;
    int argc = 0, err = 0;
    struct pool_image *img;
    if (!o)
        return;
    if (!api_word(o, "name", 1, name, sizeof(name), rs) || !api_word(o, "url", 1, url, sizeof(url), rs))
        goto out;
    for (int i = 0; i < 7; i++)
        if (api_opt(o, opts[i], arg[argc], sizeof(arg[argc]), argv, &argc, rs))
            goto out;
    if ((cmdline = cmdline_field(o, rs))) {
        ksnprintf(arg[argc], sizeof(arg[argc]), "cmdline=%s", cmdline);
        argv[argc] = arg[argc];
        argc++;
    } else if (rs->status == 400) {
        goto out;
    }
    if (!(out = kmalloc(OUT_MAX))) {
        api_error(rs, 503, "out of memory", NULL);
        goto out;
    }
    if (console_capture_begin(out, OUT_MAX, 1)) {
        api_error(rs, 503, "the console is busy", NULL);
    } else {
        kprintf("api> pool add %s %s\n", name, url);
        img = pool_add(name, url, argc, argv, 0, &err);
        console_capture_end();
        if (img) {
            api_json(rs, 202);
            image_json(&rs->b, img, 1);
            jb_puts(&rs->b, "\n");
        } else {
            api_shell_result(rs, err ? err : -EINVAL, out, 202);
        }
    }
    kfree(out);
out:
    kfree(o);
}

static void one(struct api_req *rq, struct api_resp *rs)
{
    struct pool_image *img = pool_find(rq->seg[2]);
    if (!img) {
        api_error(rs, 404, "no such image", NULL);
    } else if (rq->nseg == 3 && !rq->post) {
        api_json(rs, 200);
        image_json(&rs->b, img, 1);
        jb_puts(&rs->b, "\n");
    } else if (rq->nseg == 4 && !strcmp(rq->seg[3], "remove") && rq->post) {
        char *argv[] = { "pool", "rm", img->name };
        api_shell_answer(rs, 3, argv, 200);
    } else if (rq->nseg == 4 && !strcmp(rq->seg[3], "remove")) {
        api_error(rs, 405, "use POST", NULL);
    } else {
        api_error(rs, rq->nseg == 3 ? 405 : 404, rq->nseg == 3 ? "use GET" : "no such action (POST remove)", NULL);
    }
}

static void handle(struct api_req *rq, struct api_resp *rs)
{
    if (rq->nseg == 2 && !rq->post)
        list(rs);
    else if (rq->nseg == 2)
        add(rq, rs);
    else if (rq->nseg <= 4)
        one(rq, rs);
    else
        api_error(rs, 404, "no such resource", NULL);
}

static void label(struct jbuf *b, const char *metric, const struct pool_image *img)
{
    jb_printf(b, "%s{image=\"", metric);
    api_label(b, img->name);
    jb_puts(b, "\"");
}

enum img_family { F_INFO, F_SIZE, F_CLONES, F_HITS, F_MISSES, F_FETCHED, F_INFLIGHT, F_RECONNECTS, F_CMDS,
                  F_LATENCY, F_COUNT };

/* metric{image="NAME",target="IQN" for the samples of an image's iSCSI session. */
static void session_label(struct jbuf *b, const char *metric, const struct pool_image *img)
{
    label(b, metric, img);
    jb_printf(b, ",target=\"");
    api_label(b, img->cfg.target);
    jb_puts(b, "\"");
}

/* A summary without quantiles: the session's successful commands and the sum of their latencies. */
static void latency(struct jbuf *b, const char *name, const struct pool_image *img, const struct iscsi_slot_info *si)
{
    char n[64];
    ksnprintf(n, sizeof(n), "%s_sum", name);
    session_label(b, n, img);
    jb_printf(b, "} %llu.%09llu\n", (unsigned long long)(si->latency_ns / 1000000000ull),
              (unsigned long long)(si->latency_ns % 1000000000ull));
    ksnprintf(n, sizeof(n), "%s_count", name);
    session_label(b, n, img);
    jb_printf(b, "} %llu\n", (unsigned long long)si->completed);
}

static void sample(struct jbuf *b, enum img_family f, const char *name, const struct pool_image *img)
{
    struct cache_stats c = { 0 };
    struct iscsi_slot_info si;
    uint64_t v = 0;
    int have_si = img->slot >= 0 && !iscsi_slot_info(img->slot, &si);
    if (img->cache)
        cache_get_stats(img->cache, &c);
    switch (f) {
    case F_INFO:
        label(b, name, img);
        jb_printf(b, ",state=\"%s\"} 1\n", pool_state_name(img->state));
        return;
    case F_SIZE: v = img->size; break;
    case F_CLONES: v = (uint64_t)img->clones; break;
    case F_HITS: v = c.hits; break;
    case F_MISSES: v = c.misses; break;
    case F_FETCHED: v = c.bytes_fetched; break;
    default:
        if (!have_si)
            return;
        if (f == F_LATENCY) {
            latency(b, name, img, &si);
            return;
        }
        v = f == F_INFLIGHT ? (uint64_t)si.inflight : f == F_RECONNECTS ? si.reconnects : si.cmds;
        session_label(b, name, img);
        jb_printf(b, "} %llu\n", (unsigned long long)v);
        return;
    }
    label(b, name, img);
    jb_printf(b, "} %llu\n", (unsigned long long)v);
}

static void metrics(struct jbuf *b)
{
    static const char *const fam[F_COUNT][3] = {
        { "shoal_image_info", "gauge", "One series per pool image naming its state (value 1)." },
        { "shoal_image_size_bytes", "gauge", "Size of each golden image." },
        { "shoal_image_clones", "gauge", "Clones made from each image that still exist." },
        { "shoal_image_cache_hits_total", "counter", "Reads of each image served from its shared cache." },
        { "shoal_image_cache_misses_total", "counter", "Cache lines of each image fetched for a read." },
        { "shoal_image_fetched_bytes_total", "counter", "Bytes each image's cache fetched from its target." },
        { "shoal_iscsi_commands_in_flight", "gauge", "SCSI commands queued or sent on each image's session." },
        { "shoal_iscsi_reconnects_total", "counter", "Reconnects of each image's iSCSI session." },
        { "shoal_iscsi_commands_total", "counter", "SCSI commands each image's session completed." },
        { "shoal_iscsi_command_latency_seconds", "summary",
          "Time from submit to completion of each image's successful SCSI commands (queueing and retries included)." },
    };
    for (int f = 0; f < F_COUNT; f++) {
        api_metric_family(b, fam[f][0], fam[f][1], fam[f][2]);
        for (int i = 0; i < POOL_MAX; i++)
            if (pool_slot(i))
                sample(b, (enum img_family)f, fam[f][0], pool_slot(i));
    }
}

static const struct api_resource images = { "images", handle, metrics };

/* Registered at init; a failure is logged by init_run_hooks. */
static int pool_api_init(void)
{
    return api_resource_register(&images);
}
INIT_HOOK(INIT_POOL, pool_api_init);

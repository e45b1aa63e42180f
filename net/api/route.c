/* API routing: path to resource, JSON errors, request bodies, and shell actions run for the API. */
#include "net/api/api.h"
#include "kernel/shell.h"
#include "kernel/console.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define API_SHELL_OUT 8192

static const struct api_resource *resources[API_RESOURCE_MAX];
static int nres;

int api_resource_register(const struct api_resource *r)
{
    for (int i = 0; i < nres; i++)
        if (!strcmp(resources[i]->name, r->name))
            return -EEXIST;
    if (nres == API_RESOURCE_MAX)
        return -ENOSPC;
    resources[nres++] = r;
    return 0;
}

int api_resources(const struct api_resource *const **out)
{
    *out = resources;
    return nres;
}

void api_json(struct api_resp *rs, int status)
{
    rs->status = status;
    rs->type = "application/json";
    jb_init(&rs->b, API_RESP_MAX);
}

void api_error(struct api_resp *rs, int status, const char *msg, const char *field)
{
    api_json(rs, status);
    jb_open(&rs->b, '{');
    jb_kstr(&rs->b, "error", msg);
    if (field)
        jb_kstr(&rs->b, "field", field);
    jb_close(&rs->b, '}');
    jb_puts(&rs->b, "\n");
}

int api_errno_status(int err)
{
    switch (err) {
    case -EINVAL: case -E2BIG: return 400;
    case -ENOENT: case -ENODEV: return 404;
    case -EEXIST: case -EBUSY: return 409;
    case -ENOMEM: case -ENOSPC: case -EAGAIN: return 503;
    default: return 500;
    }
}

int api_shell(int argc, char **argv, char *out, size_t size, int echo)
{
    const struct shell_cmd *c = argc > 0 ? shell_find(argv[0]) : NULL;
    int rc;
    if (!c)
        return -ENOENT;
    if (console_capture_begin(out, size, echo))
        return -EBUSY;
    if (echo) {                          /* the command on the console, its key= (a secret) starred */
        kprintf("api>");
        for (int i = 0; i < argc; i++)
            kprintf(" %s", strncmp(argv[i], "key=", 4) ? argv[i] : "key=***");
        kprintf("\n");
    }
    rc = c->run(argc, argv);
    console_capture_end();
    return rc;
}

/* The first "error: " line of out, without the prefix, into buf. */
static const char *error_line(const char *out, char *buf, size_t size)
{
    const char *e = out;
    while ((e = strchr(e, 'e')) && strncmp(e, "error: ", 7))
        e++;
    if (!e)
        return NULL;
    e += 7;
    size_t n = 0;
    while (e[n] && e[n] != '\n' && e[n] != '\r' && n + 1 < size)
        n++;
    memcpy(buf, e, n);
    buf[n] = 0;
    return buf;
}

void api_shell_result(struct api_resp *rs, int rc, const char *out, int ok_status)
{
    char line[200];
    if (rc == 0) {
        api_json(rs, ok_status);
        jb_open(&rs->b, '{');
        jb_kbool(&rs->b, "ok", 1);
        jb_kstr(&rs->b, "output", out);
        jb_close(&rs->b, '}');
        jb_puts(&rs->b, "\n");
        return;
    }
    if (!error_line(out, line, sizeof(line)))
        ksnprintf(line, sizeof(line), "%s", out[0] ? out : "the action failed");
    for (size_t n = strlen(line); n && (line[n - 1] == '\n' || line[n - 1] == '\r'); n--)
        line[n - 1] = 0;
    api_error(rs, api_errno_status(rc), line, NULL);
}

void api_shell_answer(struct api_resp *rs, int argc, char **argv, int ok_status)
{
    char *out = kmalloc(API_SHELL_OUT);
    if (!out) {
        api_error(rs, 503, "out of memory", NULL);
        return;
    }
    api_shell_result(rs, api_shell(argc, argv, out, API_SHELL_OUT, 1), out, ok_status);
    kfree(out);
}

void api_shell_text(struct api_resp *rs, int argc, char **argv, size_t max, const char *key, const char *name)
{
    char *out = kmalloc(max);
    if (!out) {
        api_error(rs, 503, "out of memory", NULL);
        return;
    }
    if (api_shell(argc, argv, out, max, 0)) {
        api_error(rs, 503, "the console is busy", NULL);
    } else {
        api_json(rs, 200);
        jb_open(&rs->b, '{');
        if (name)
            jb_kstr(&rs->b, "name", name);
        jb_kstr(&rs->b, key, out);
        jb_close(&rs->b, '}');
        jb_puts(&rs->b, "\n");
    }
    kfree(out);
}

struct json_obj *api_body(struct api_req *rq, struct api_resp *rs, const char *const *allowed)
{
    struct json_obj *o = kmalloc(sizeof(*o));
    const char *why, *bad;
    size_t at;
    char msg[128];
    if (!o) {
        api_error(rs, 503, "out of memory", NULL);
        return NULL;
    }
    if (json_parse(rq->body ? rq->body : "", rq->body_len, o, &why, &at)) {
        ksnprintf(msg, sizeof(msg), "malformed JSON body: %s (at byte %zu)", why, at);
        api_error(rs, 400, msg, NULL);
    } else if ((bad = json_unknown(o, allowed))) {
        ksnprintf(msg, sizeof(msg), "unknown field '%.40s'", bad);
        api_error(rs, 400, msg, bad);
    } else {
        return o;
    }
    kfree(o);
    return NULL;
}

const char *api_word(const struct json_obj *o, const char *key, int required, char *buf, size_t max,
                     struct api_resp *rs)
{
    const struct json_field *f = json_get(o, key);
    char msg[96];
    if (!f || f->type == JSON_NULL) {
        if (required) {
            ksnprintf(msg, sizeof(msg), "field '%s' is required", key);
            api_error(rs, 400, msg, key);
        }
        return NULL;
    }
    if (f->type == JSON_INT && f->num >= 0) {
        ksnprintf(buf, max, "%lld", (long long)f->num);
        return buf;
    }
    if (f->type == JSON_STRING && f->str[0] && strlen(f->str) < max) {
        const char *s = f->str;
        while (*s > ' ' && *s < 0x7f && *s != '"' && *s != '=' && *s != '\\')
            s++;
        if (!*s)
            return kstrlcpy(buf, f->str, max), buf;
    }
    ksnprintf(msg, sizeof(msg), "field '%s' must be a word of up to %zu printable characters", key, max - 1);
    api_error(rs, 400, msg, key);
    return NULL;
}

int api_opt(const struct json_obj *o, const char *key, char *buf, size_t size, char **argv, int *argc,
            struct api_resp *rs)
{
    char val[200];
    size_t k = strlen(key) + 1, max = size > k ? size - k : 1;
    if (!api_word(o, key, 0, val, max < sizeof(val) ? max : sizeof(val), rs))
        return rs->status == 400 ? -EINVAL : 0;
    ksnprintf(buf, size, "%s=%s", key, val);
    argv[(*argc)++] = buf;
    return 0;
}

void api_handle(struct api_req *rq, struct api_resp *rs)
{
    rs->status = 0;                      /* no answer yet: helpers such as api_word check for their 400 */
    kstrlcpy(rq->segbuf, rq->path, sizeof(rq->segbuf));
    rq->nseg = http_path_split(rq->segbuf, rq->seg, API_SEG_MAX);
    if (rq->nseg == 1 && !strcmp(rq->seg[0], "metrics")) {
        if (rq->post)
            api_error(rs, 405, "use GET", NULL);
        else
            api_metrics(rs);
        return;
    }
    if (rq->nseg < 2 || strcmp(rq->seg[0], "api")) {
        api_error(rs, 404, "no such resource", NULL);
        return;
    }
    if (!strcmp(rq->seg[1], "host")) {
        api_host(rq, rs);
        return;
    }
    for (int i = 0; i < nres; i++)
        if (!strcmp(resources[i]->name, rq->seg[1])) {
            resources[i]->handle(rq, rs);
            return;
        }
    api_error(rs, 404, "no such resource", NULL);
}

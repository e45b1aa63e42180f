/* The API's live migration: POST /api/vms/NAME/migrate and /api/migrations (status, listen, stop, cancel). */
#include "net/api/api.h"
#include "vmm/vm.h"
#include "kernel/init.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/log.h"

#define OUT_MAX 4096

static const char *const migrate_fields[] = { "to", "key", "as", "hold", "bandwidth", "downtime", NULL };

/* POST /api/vms/NAME/migrate {"to": "HOST[:PORT]", "key", "as", "hold": bool, "bandwidth", "downtime"}. */
void api_vm_migrate(struct api_req *rq, struct api_resp *rs, const char *name)
{
    char to[48], a_key[112], a_as[VM_NAME_MAX + 4], a_bw[32], a_dt[32];
    char *argv[10] = { "vm", "migrate", (char *)name, to };
    int argc = 4;
    const struct json_field *hold;
    struct json_obj *o = api_body(rq, rs, migrate_fields);
    if (!o)
        return;
    if (!api_word(o, "to", 1, to, sizeof(to), rs))
        goto out;
    if (api_opt(o, "key", a_key, sizeof(a_key), argv, &argc, rs) ||
        api_opt(o, "as", a_as, sizeof(a_as), argv, &argc, rs) ||
        api_opt(o, "bandwidth", a_bw, sizeof(a_bw), argv, &argc, rs) ||
        api_opt(o, "downtime", a_dt, sizeof(a_dt), argv, &argc, rs))
        goto out;
    if ((hold = json_get(o, "hold")) && hold->type != JSON_BOOL) {
        api_error(rs, 400, "field 'hold' must be true or false", "hold");
        goto out;
    }
    if (hold && hold->num)
        argv[argc++] = "hold";
    api_shell_answer(rs, argc, argv, 202);             /* started: GET /api/migrations follows it */
out:
    memset(a_key, 0, sizeof(a_key));
    kfree(o);
}

static const char *const listen_fields[] = { "port", "key", "local", NULL };

static void listen(struct api_req *rq, struct api_resp *rs)
{
    char port[8], a_key[112];
    char *argv[6] = { "migrate", "listen", port };
    int argc = 3;
    const struct json_field *local;
    struct json_obj *o = api_body(rq, rs, listen_fields);
    if (!o)
        return;
    if (!api_word(o, "port", 1, port, sizeof(port), rs))
        goto out;
    if (api_opt(o, "key", a_key, sizeof(a_key), argv, &argc, rs))
        goto out;
    if ((local = json_get(o, "local")) && local->type == JSON_BOOL && !local->num)
        argv[argc++] = "local=off";
    api_shell_answer(rs, argc, argv, 200);
out:
    memset(a_key, 0, sizeof(a_key));
    kfree(o);
}

/* GET /api/migrations: `migrate status` as text; POST .../listen, .../stop, .../cancel. */
static void handle(struct api_req *rq, struct api_resp *rs)
{
    const char *act = rq->nseg == 3 ? rq->seg[2] : NULL;
    if (rq->nseg == 2 && !rq->post) {
        char *argv[] = { "migrate", "status" };
        api_shell_text(rs, 2, argv, OUT_MAX, "status", NULL);
    } else if (rq->post && act && !strcmp(act, "listen")) {
        listen(rq, rs);
    } else if (rq->post && act && !strcmp(act, "cancel")) {
        char *argv[] = { "migrate", "cancel" };
        api_shell_answer(rs, 2, argv, 200);
    } else if (rq->post && act && !strcmp(act, "stop")) {
        struct json_obj *o = api_body(rq, rs, (const char *const[]){ "port", NULL });
        char port[8], *argv[] = { "migrate", "stop", port };
        if (o && api_word(o, "port", 1, port, sizeof(port), rs))
            api_shell_answer(rs, 3, argv, 200);
        kfree(o);
    } else {
        api_error(rs, rq->nseg > 3 || (act && strcmp(act, "listen") && strcmp(act, "cancel") && strcmp(act, "stop"))
                  ? 404 : 405, "GET /api/migrations, or POST .../listen, .../stop, .../cancel", NULL);
    }
}

static const struct api_resource migrations = { "migrations", handle, NULL };

/* Registered at init; a failure is logged by init_run_hooks. */
static int mig_api_init(void)
{
    return api_resource_register(&migrations);
}
INIT_HOOK(INIT_VMM, mig_api_init);

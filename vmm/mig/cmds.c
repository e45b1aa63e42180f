/* Live migration's commands: `migrate listen|stop|status|cancel`, `vm migrate`, migrate_listen= and migrate_key=. */
#include "vmm/mig/dst.h"
#include "vmm/vm.h"
#include "net/tls/chan.h"
#include "kernel/errno.h"
#include "kernel/init.h"
#include "kernel/kstring.h"
#include "kernel/param.h"
#include "kernel/printf.h"
#include "kernel/shell.h"

#define MIG_PORT_DEFAULT 7070

static char boot_key[80];                      /* migrate_key=: the default key=, here and as a source */
static uint16_t boot_port;                     /* migrate_listen= */
/* Each listener's options ride in its accept argument: the frame type of the `cut=FRAME` test hook (0: none)
 * and whether to look among this host's guests (`local=off` clears it). */
#define LISTEN_OPTS(cut, local) ((void *)(uintptr_t)((uintptr_t)(cut) << 1 | ((local) ? 1u : 0u)))

static void accepted(struct tls_chan *ch, void *arg)
{
    uintptr_t o = (uintptr_t)arg;
    kprintf("migrate: %s connected (%s)\n", tls_peer(ch), tls_cipher(ch));
    mig_dst_start_cut(ch, (uint32_t)(o >> 1), (int)(o & 1));
}

/* A port number: 1..65535. */
static int port_arg(const char *s, uint16_t *port)
{
    uint64_t v;
    if (kstrtou64(s, &v, 0) < 0 || v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

static int listen_on(uint16_t port, const char *key, void *opts)
{
    int rc;
    if (!key || !*key) {
        kprintf("error: migrate listen: give key= (or boot with migrate_key=)\n");
        return -EINVAL;
    }
    if ((rc = tls_listen(port, key, accepted, opts))) {
        kprintf("error: migrate listen %u: %s\n", port, rc == -EEXIST ? "already listening on that port"
                                                      : rc == -EINVAL ? "bad key" : "the network refused");
        return rc;
    }
    kprintf("migrate: listening on port %u\n", port);
    return 0;
}

/* A frame type by name (HASHES, DATA, FINAL, STATE, COMMIT, ...), or 0. */
static uint32_t frame_type(const char *name)
{
    for (uint32_t t = 1; t < MIG_TYPE_END; t++)
        if (!strcmp(mig_type_name(t), name))
            return t;
    return 0;
}

/* `migrate listen [PORT] [key=K] [cut=FRAME]`, `migrate stop [PORT]`, `migrate status`, `migrate cancel`. */
static int migrate_cmd(int argc, char **argv)
{
    uint16_t port = MIG_PORT_DEFAULT;
    const char *key = boot_key;
    if (argc >= 2 && !strcmp(argv[1], "listen") && argc <= 6) {
        uint32_t cut_type = 0;
        int look_local = 1;
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "local=off"))
                look_local = 0;
            else if (!strncmp(argv[i], "key=", 4))
                key = argv[i] + 4;
            else if (!strncmp(argv[i], "cut=", 4) && (cut_type = frame_type(argv[i] + 4)))
                continue;
            else if (port_arg(argv[i], &port))
                return shell_usage("migrate");
        return listen_on(port, key, LISTEN_OPTS(cut_type, look_local));
    }
    if (argc >= 2 && !strcmp(argv[1], "stop") && argc <= 3) {
        if (argc == 3 && port_arg(argv[2], &port))
            return shell_usage("migrate");
        if (tls_unlisten(port)) {
            kprintf("error: migrate stop: not listening on port %u\n", port);
            return -ENOENT;
        }
        kprintf("migrate: no longer listening on port %u\n", port);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "status")) {
        mig_src_status();
        mig_dst_status();
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "cancel")) {
        int n = mig_src_cancel("cancelled by the operator") + mig_dst_cancel("cancelled by the operator");
        kprintf("migrate: %d session%s cancelled\n", n, n == 1 ? "" : "s");
        return 0;
    }
    return shell_usage("migrate");
}
SHELL_COMMAND("migrate", "listen [PORT] [key=K] [local=off] [cut=FRAME] | stop [PORT] | status | cancel",
              "live migration: receive guests here, show or cancel migrations in progress", migrate_cmd);

/* One name=number argument (1..max); 1 matched, 0 another name, -EINVAL malformed. */
static int num_arg(const char *s, const char *name, uint64_t *out, uint64_t max)
{
    size_t n = strlen(name);
    if (strncmp(s, name, n))
        return 0;
    return kstrtou64(s + n, out, 0) < 0 || *out == 0 || *out > max ? -EINVAL : 1;
}

/* bandwidth=N (MB/s) or N K (KB/s) into bytes/s; 1 or -EINVAL. */
static int bandwidth_arg(const char *s, uint64_t *out)
{
    char num[24];
    size_t n = strlen(s);
    uint64_t v, unit = 1ull << 20;
    if (n && (s[n - 1] == 'K' || s[n - 1] == 'k'))
        unit = 1024, n--;
    if (!n || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, n);
    num[n] = 0;
    if (kstrtou64(num, &v, 0) < 0 || v == 0 || v > 100000)
        return -EINVAL;
    *out = v * unit;
    return 1;
}

/* `vm migrate NAME HOST[:PORT] [key=K] [downtime=MS] [bandwidth=MB/s] [rounds=N] [throttle=off] [compress=off]
 * [as=NEWNAME] [hold]`. */
int vm_migrate_cmd(int argc, char **argv)
{
    struct mig_src_opts o = { NULL, boot_key, 300, 0, 0, 30, 0, 0 };
    char host[48];
    uint16_t port = MIG_PORT_DEFAULT;
    uint64_t v;
    struct vm *vm;
    if (argc < 4)
        return shell_usage("vm");
    if (!(vm = vm_find(argv[2]))) {
        kprintf("error: no VM named '%s'\n", argv[2]);
        return -ENOENT;
    }
    kstrlcpy(host, argv[3], sizeof(host));
    char *colon = strrchr(host, ':');
    if (colon && (*colon = 0, port_arg(colon + 1, &port)))
        return shell_usage("vm");
    for (int i = 4; i < argc; i++) {
        int m = 0;
        if (!strncmp(argv[i], "key=", 4)) o.key = argv[i] + 4, m = 1;
        else if (!strncmp(argv[i], "as=", 3)) o.as = argv[i] + 3, m = 1;
        else if (!strcmp(argv[i], "hold")) o.hold = 1, m = 1;
        else if (!strcmp(argv[i], "throttle=off")) o.no_throttle = 1, m = 1;
        else if (!strcmp(argv[i], "compress=off")) o.no_compress = 1, m = 1;
        else if ((m = num_arg(argv[i], "downtime=", &v, 60000)) == 1) o.downtime_ms = (uint32_t)v;
        else if (!m && !strncmp(argv[i], "bandwidth=", 10)) m = bandwidth_arg(argv[i] + 10, &o.bandwidth);
        else if (!m && (m = num_arg(argv[i], "rounds=", &v, 1000)) == 1) o.max_rounds = (uint32_t)v;
        if (m != 1)
            return shell_usage("vm");
    }
    if (o.as && (!*o.as || strlen(o.as) >= VM_NAME_MAX))
        return shell_usage("vm");
    if (!*o.key) {
        kprintf("error: vm migrate %s: give key= (or boot with migrate_key=)\n", vm->name);
        return -EINVAL;
    }
    if (vm_gather(vm, "vm migrate"))
        return -EBUSY;
    return mig_src_start(vm, host, port, &o);
}

static int mig_poll(void)
{
    return mig_src_poll() | mig_dst_poll();
}

static int key_param(const char *v)
{
    if (!*v || strlen(v) >= sizeof(boot_key))
        return -EINVAL;
    kstrlcpy(boot_key, v, sizeof(boot_key));
    return 0;
}
BOOT_PARAM("migrate_key", "the migration channel's pre-shared key (64 hex digits or a passphrase)", key_param);

static int listen_param(const char *v)
{
    return port_arg(v, &boot_port);
}
BOOT_PARAM("migrate_listen", "PORT: receive migrating guests on this port from boot (needs migrate_key=)",
           listen_param);

static int mig_init(void)
{
    int rc = shell_add_poller(mig_poll);
    if (!rc && boot_port)
        listen_on(boot_port, boot_key, LISTEN_OPTS(0, 1));
    return rc;
}
INIT_HOOK(INIT_VMM, mig_init);

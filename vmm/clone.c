/* Guests cloned from pool images: their disk, command line and MAC; the autostart= boot parameter. */
#include "vmm/clone.h"
#include "vmm/linux.h"
#include "vmm/vm.h"
#include "pool/pool.h"
#include "blk/blk.h"
#include "net/net.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/param.h"
#include "kernel/init.h"
#include "kernel/shell.h"

/* A locally administered unicast MAC from the host's MAC and the clone's name (FNV-1a): the same name on
 * the same host gets the same MAC again (and so the same DHCP lease); two hosts differ. */
static void clone_mac(const char *name, uint8_t mac[6])
{
    uint8_t host[6] = { 0 };
    uint32_t gw;
    int prefix;
    uint64_t h = 0xcbf29ce484222325ull;
    net_host_addr(host, &gw, &prefix);
    for (int i = 0; i < 6; i++)
        h = (h ^ host[i]) * 0x100000001b3ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
    mac[0] = (uint8_t)((mac[0] & 0xFC) | 0x02);
}

static void quad(char *buf, size_t n, uint32_t be)
{
    const uint8_t *b = (const uint8_t *)&be;
    ksnprintf(buf, n, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* The ip= word: static A.B.C.D[/P] with the host's gateway and prefix, or DHCP; the name as hostname. */
static int clone_ip_word(const char *name, const char *ip, char *out, size_t n)
{
    char addr[16], gws[16], mask[16];
    uint8_t mac[6];
    uint32_t gw = 0, m;
    int prefix = 24;
    if (!ip)
        return ksnprintf(out, n, "ip=:::::%s:eth0:dhcp", name) < (int)n ? 0 : -E2BIG;
    char cidr[24];
    net_host_addr(mac, &gw, &prefix);
    if (ksnprintf(cidr, sizeof(cidr), strchr(ip, '/') ? "%s" : "%s/%d", ip, prefix) >= (int)sizeof(cidr) ||
        net_parse_cidr(cidr, addr, sizeof(addr), &prefix))
        return -EINVAL;
    m = prefix ? 0xFFFFFFFFu << (32 - prefix) : 0;
    m = ((m >> 24) & 0xFF) | ((m >> 8) & 0xFF00) | ((m << 8) & 0xFF0000) | (m << 24);
    quad(gws, sizeof(gws), gw);
    quad(mask, sizeof(mask), m);
    return ksnprintf(out, n, "ip=%s::%s:%s:%s:eth0:off", addr, gw ? gws : "", mask, name) < (int)n ? 0 : -E2BIG;
}

static void clone_disk_release(struct blk_dev *disk, void *arg)
{
    pool_clone_release(arg, disk);
}

/* The guest's command line into buf: the image's, the additions, the ip= word. */
static int clone_cmdline(const char *name, const struct pool_image *img, const struct clone_opts *o, char *buf,
                         size_t n)
{
    char ipw[128];
    int err = clone_ip_word(name, o->ip, ipw, sizeof(ipw));
    if (err) {
        kprintf("error: vm create %s: ip=%s: give A.B.C.D or A.B.C.D/PREFIX\n", name, o->ip);
        return err;
    }
    if (ksnprintf(buf, n, "%s %s %s", img->cmdline, o->cmdline_add ? o->cmdline_add : "", ipw) >= (int)n) {
        kprintf("error: vm create %s: command line too long\n", name);
        return -E2BIG;
    }
    return 0;
}

int clone_vm_create(const char *name, const char *image_name, const struct clone_opts *o, struct vm **out)
{
    struct pool_image *img = pool_find(image_name);
    struct linux_spec s = { 0 };
    char *cmdline;
    int err;

    if (!img || img->state != POOL_READY) {
        kprintf("error: vm create %s: image '%s' %s\n", name, image_name, !img ? "is not in the pool" :
                img->state == POOL_FAILED ? "failed (see pool list)" : "is not ready yet (see pool list)");
        return img ? -EAGAIN : -ENOENT;
    }
    if (!(cmdline = kmalloc(LX_CMDLINE_MAX)))
        return -ENOMEM;
    if ((err = clone_cmdline(name, img, o, cmdline, LX_CMDLINE_MAX)))
        goto out;
    s = (struct linux_spec){ .name = name, .cmdline = cmdline, .kernel = img->kernel, .initrd = img->initrd,
                             .kernel_len = img->kernel_len, .initrd_len = img->initrd_len,
                             .mem = o->mem ? o->mem : img->mem, .vcpus = o->vcpus ? o->vcpus : img->vcpus,
                             .disk_release = clone_disk_release, .disk_arg = img, .has_mac = 1 };
    clone_mac(name, s.mac);
    if (!(s.disk = pool_clone_disk(img, o->quota, name, &err))) {
        kprintf("error: vm create %s: clone disk: %s (%d)\n", name, err == -ENOMEM ? "out of memory" : "failed", err);
        goto out;
    }
    if (!(err = linux_vm_create(&s, out)))
        (*out)->guest = img->name;
out:
    kfree(cmdline);
    return err;
}

int clone_vm_create_cmd(int argc, char **argv)
{
    const char *m = param_find(argc, argv, 5, "mem"), *c = param_find(argc, argv, 5, "vcpus");
    const char *q = param_find(argc, argv, 5, "quota");
    struct clone_opts o = { .cmdline_add = param_find(argc, argv, 5, "cmdline+"),
                            .ip = param_find(argc, argv, 5, "ip") };
    struct vm *vm;
    int rc;

    if (argc < 5)
        return -EINVAL;
    for (int i = 5; i < argc; i++)
        if (strncmp(argv[i], "mem=", 4) && strncmp(argv[i], "vcpus=", 6) && strncmp(argv[i], "quota=", 6) &&
            strncmp(argv[i], "ip=", 3) && strncmp(argv[i], "cmdline+=", 9) && strncmp(argv[i], "cpus=", 5)) {
            kprintf("error: vm create %s: unknown option '%s'\n", argv[2], argv[i]);
            return -EINVAL;
        }
    if (m && (rc = linux_parse_mem(argv[2], m, &o.mem)))
        return rc;                                     /* -ENOMEM: more than the host has free */
    if (c && linux_parse_vcpus(argv[2], c, &o.vcpus))
        return -EINVAL;
    if (q && kstrtou64(q, &o.quota, 1)) {
        kprintf("error: vm create %s: quota=%s: give a size (e.g. 256M)\n", argv[2], q);
        return -EINVAL;
    }
    return clone_vm_create(argv[2], argv[4], &o, &vm);
}

/* autostart=NAME:IMAGE[:A.B.C.D[/P]][,...]: clones created and started once their image is ready. */
#define AUTOSTART_MAX 16
static struct autostart {
    char name[VM_NAME_MAX], image[POOL_NAME_MAX], ip[24];
    int pending;
} autostarts[AUTOSTART_MAX];

/* One NAME:IMAGE[:IP] entry (len bytes at s). */
static int autostart_add(const char *s, size_t len)
{
    char buf[96], *img, *ip;
    struct autostart *a = NULL;
    if (len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (!(img = strchr(buf, ':')) || img == buf || !img[1])
        return -EINVAL;
    *img++ = 0;
    if ((ip = strchr(img, ':')))
        *ip++ = 0;
    for (int i = 0; i < AUTOSTART_MAX && !a; i++)
        if (!autostarts[i].pending)
            a = &autostarts[i];
    if (!a || kstrlcpy(a->name, buf, sizeof(a->name)) >= sizeof(a->name) ||
        kstrlcpy(a->image, img, sizeof(a->image)) >= sizeof(a->image) ||
        kstrlcpy(a->ip, ip ? ip : "", sizeof(a->ip)) >= sizeof(a->ip))
        return -EINVAL;
    a->pending = 1;
    return 0;
}

static int param_autostart(const char *v)
{
    while (*v) {
        const char *e = strchr(v, ',');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        int err = autostart_add(v, n);
        if (err)
            return err;
        v += n + (e ? 1 : 0);
    }
    return 0;
}
BOOT_PARAM("autostart", "NAME:IMAGE[:A.B.C.D[/P]],...: clones of pool images started once the image is ready",
           param_autostart);

/* Start the autostart clones whose image is ready; drop those whose image failed or is unknown. */
static int autostart_poll(void)
{
    int busy = 0;
    for (int i = 0; i < AUTOSTART_MAX; i++) {
        struct autostart *a = &autostarts[i];
        struct pool_image *img = a->pending ? pool_find(a->image) : NULL;
        struct clone_opts o = { .ip = a->ip[0] ? a->ip : NULL };
        struct vm *vm;
        if (!a->pending || (img && img->state != POOL_READY && img->state != POOL_FAILED)) {
            busy |= a->pending;
            continue;
        }
        a->pending = 0;
        if (!img || img->state == POOL_FAILED) {
            log_err("autostart %s: image '%s' %s", a->name, a->image, img ? "failed" : "is not in the pool");
            continue;
        }
        if (!clone_vm_create(a->name, a->image, &o, &vm)) {
            vm_start(vm);
            log_info("autostart: vm %s from %s started", vm->name, a->image);
        }
    }
    return busy;
}

static int autostart_init(void)
{
    return shell_add_poller(autostart_poll);
}
INIT_HOOK(INIT_VMM, autostart_init);

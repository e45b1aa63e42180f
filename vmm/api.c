/* The API's /api/vms resource and the VMs' /metrics families: reads from struct vm, actions through `vm`. */
#include "net/api/api.h"
#include "vmm/vm.h"
#include "vmm/linux.h"
#include "vmm/dev/devices.h"
#include "blk/cow.h"
#include "kernel/init.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/log.h"


/* POST /api/vms/NAME/migrate (vmm/mig/api.c): `vm migrate NAME ...` from a JSON body; 202 once started. */
void api_vm_migrate(struct api_req *rq, struct api_resp *rs, const char *name);
#define LOG_MAX  (64u << 10)


static uint64_t run_ns(const struct vm *vm)
{
    uint64_t ns = 0;
    for (int i = 0; i < vm->nvcpus; i++)
        ns += vm->vcpu[i]->run_ns;
    return ns;
}

static void vm_json(struct jbuf *b, const struct vm *vm, int detail)
{
    jb_open(b, '{');
    jb_kstr(b, "name", vm->name);
    jb_kstr(b, "state", vm_state_name(vm->state));
    jb_kstr(b, "guest", vm->guest ? vm->guest : "");
    jb_ku64(b, "mem_bytes", vm->mem_size);
    jb_ku64(b, "vcpus", (uint64_t)vm->nvcpus);
    jb_ku64(b, "cpu_ms", run_ns(vm) / 1000000);
    jb_ku64(b, "cpu_permille", vm->state == VM_RUNNING ? vm->cpu_permille : 0);
    jb_ku64(b, "exits", vm->exits_total);
    jb_ku64(b, "exits_per_sec", vm->exits_per_sec);
    jb_kbool(b, "migrating", vm->mig != NULL);
    if (detail) {
        jb_kstr(b, "stop_reason", vm->stop_reason);
        jb_key(b, "exits_by_reason");
        jb_open(b, '{');
        for (int c = 0; c < EXIT_CODE_COUNT; c++) {
            uint64_t n = 0;
            for (int i = 0; i < vm->nvcpus; i++)
                n += vm->vcpu[i]->exits[c];
            if (n)
                jb_ku64(b, exit_name(c), n);
        }
        jb_close(b, '}');
    }
    jb_close(b, '}');
}

static void list(struct api_resp *rs)
{
    api_json(rs, 200);
    jb_open(&rs->b, '[');
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        if (vm) {
            jb_elem(&rs->b);
            vm_json(&rs->b, vm, 0);
        }
    }
    jb_close(&rs->b, ']');
    jb_puts(&rs->b, "\n");
}

static const char *const create_fields[] = { "name", "from", "guest", "mem", "vcpus", "quota", "ip", NULL };

/* POST /api/vms {"name":N, "from":IMAGE | "guest":TESTGUEST, "mem", "vcpus", "quota", "ip"}: `vm create`. */
static void create(struct api_req *rq, struct api_resp *rs)
{
    char name[VM_NAME_MAX], from[64], guest[64];
    char a_mem[32], a_vcpus[16], a_quota[32], a_ip[32], a_guest[80];
    char *argv[10] = { "vm", "create", name };
    int argc = 3;
    struct json_obj *o = api_body(rq, rs, create_fields);
    const char *f, *g;
    if (!o)
        return;
    if (!api_word(o, "name", 1, name, sizeof(name), rs))
        goto out;
    f = api_word(o, "from", 0, from, sizeof(from), rs);
    if (rs->status == 400)
        goto out;
    g = api_word(o, "guest", 0, guest, sizeof(guest), rs);
    if (rs->status == 400)
        goto out;
    if (!f == !g) {
        api_error(rs, 400, "give exactly one of 'from' (a pool image) and 'guest' (a test guest)",
                  f ? "guest" : "from");
        goto out;
    }
    if (f) {
        argv[argc++] = "from";
        argv[argc++] = from;
    } else {
        ksnprintf(a_guest, sizeof(a_guest), "guest=%s", guest);
        argv[argc++] = a_guest;
    }
    if (api_opt(o, "mem", a_mem, sizeof(a_mem), argv, &argc, rs) ||
        api_opt(o, "vcpus", a_vcpus, sizeof(a_vcpus), argv, &argc, rs) ||
        api_opt(o, "quota", a_quota, sizeof(a_quota), argv, &argc, rs) ||
        api_opt(o, "ip", a_ip, sizeof(a_ip), argv, &argc, rs))
        goto out;
    api_shell_answer(rs, argc, argv, 201);
out:
    kfree(o);
}

/* GET /api/vms/NAME/log: the guest console's ring, as `vm log` prints it. */
static void console_log(struct vm *vm, struct api_resp *rs)
{
    char *argv[] = { "vm", "log", vm->name };
    api_shell_text(rs, 3, argv, LOG_MAX, "log", vm->name);
}

static void one(struct api_req *rq, struct api_resp *rs)
{
    struct vm *vm = vm_find(rq->seg[2]);
    const char *act = rq->nseg == 4 ? rq->seg[3] : NULL;
    if (!vm) {
        api_error(rs, 404, "no such VM", NULL);
        return;
    }
    if (!rq->post && !act) {
        api_json(rs, 200);
        vm_json(&rs->b, vm, 1);
        jb_puts(&rs->b, "\n");
    } else if (!rq->post && !strcmp(act, "log")) {
        console_log(vm, rs);
    } else if (rq->post && act && !strcmp(act, "migrate")) {
        api_vm_migrate(rq, rs, vm->name);
    } else if (rq->post && act && (!strcmp(act, "start") || !strcmp(act, "stop") || !strcmp(act, "destroy"))) {
        char *argv[] = { "vm", (char *)act, vm->name };
        api_shell_answer(rs, 3, argv, 200);
    } else if (act && strcmp(act, "log") && strcmp(act, "start") && strcmp(act, "stop") && strcmp(act, "destroy") &&
               strcmp(act, "migrate")) {
        api_error(rs, 404, "no such action (start, stop, destroy, migrate; GET log)", NULL);
    } else {
        api_error(rs, 405, rq->post ? "use GET" : "use POST", NULL);
    }
}

static void handle(struct api_req *rq, struct api_resp *rs)
{
    if (rq->nseg == 2 && !rq->post)
        list(rs);
    else if (rq->nseg == 2)
        create(rq, rs);
    else if (rq->nseg <= 4)
        one(rq, rs);
    else
        api_error(rs, 404, "no such resource", NULL);
}

/* vm="NAME" for vm's samples. */
static void vm_label(struct jbuf *b, const char *metric, const struct vm *vm)
{
    jb_printf(b, "%s{vm=\"", metric);
    api_label(b, vm->name);
    jb_puts(b, "\"");
}

enum vm_family { F_INFO, F_MEM, F_VCPUS, F_CPU, F_EXITS, F_DISK_REQ, F_DISK_BYTES, F_NET, F_NET_DROP, F_DELTA,
                 F_COUNT };

/* Two samples of a family split by a label (op="read"/"write", direction="rx"/"tx"). */
static void pair(struct jbuf *b, const char *metric, const struct vm *vm, const char *label, const char *k0,
                 uint64_t v0, const char *k1, uint64_t v1)
{
    vm_label(b, metric, vm);
    jb_printf(b, ",%s=\"%s\"} %llu\n", label, k0, (unsigned long long)v0);
    vm_label(b, metric, vm);
    jb_printf(b, ",%s=\"%s\"} %llu\n", label, k1, (unsigned long long)v1);
}

/* The I/O families of vm (virtio counters; a clone's delta from its copy-on-write disk). */
static void io_family(struct jbuf *b, enum vm_family f, const char *metric, struct vm *vm)
{
    struct virtio_io_stats io;
    struct cow_stats cs;
    virtio_io_stats(vm, &io);
    if (f == F_DISK_REQ)
        pair(b, metric, vm, "op", "read", io.disk_reads, "write", io.disk_writes);
    else if (f == F_DISK_BYTES)
        pair(b, metric, vm, "op", "read", io.disk_read_bytes, "write", io.disk_write_bytes);
    else if (f == F_NET)
        pair(b, metric, vm, "direction", "rx", io.net_rx_frames, "tx", io.net_tx_frames);
    else if (f == F_NET_DROP)
        pair(b, metric, vm, "direction", "rx", io.net_rx_drops, "tx", io.net_tx_drops);
    else if (f == F_DELTA && !cow_get_stats(linux_vm_disk(vm), &cs)) {
        vm_label(b, metric, vm);
        jb_printf(b, "} %llu\n", (unsigned long long)cs.delta_blocks);
    }
}

static void family(struct jbuf *b, enum vm_family f, const char *metric, struct vm *vm)
{
    if (f >= F_DISK_REQ) {
        io_family(b, f, metric, vm);
        return;
    }
    switch (f) {
    case F_INFO:
        vm_label(b, "shoal_vm_info", vm);
        jb_printf(b, ",state=\"%s\",guest=\"", vm_state_name(vm->state));
        api_label(b, vm->guest ? vm->guest : "");
        jb_puts(b, "\"} 1\n");
        break;
    case F_MEM:
        vm_label(b, "shoal_vm_memory_bytes", vm);
        jb_printf(b, "} %llu\n", (unsigned long long)vm->mem_size);
        break;
    case F_VCPUS:
        vm_label(b, "shoal_vm_vcpus", vm);
        jb_printf(b, "} %d\n", vm->nvcpus);
        break;
    case F_CPU: {
        uint64_t ms = run_ns(vm) / 1000000;
        vm_label(b, "shoal_vm_cpu_seconds_total", vm);
        jb_printf(b, "} %llu.%03llu\n", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
        break;
    }
    default:
        for (int c = 0; c < EXIT_CODE_COUNT; c++) {
            uint64_t n = 0;
            for (int v = 0; v < vm->nvcpus; v++)
                n += vm->vcpu[v]->exits[c];
            if (!n)
                continue;
            vm_label(b, "shoal_vm_exits_total", vm);
            jb_printf(b, ",reason=\"%s\"} %llu\n", exit_name(c), (unsigned long long)n);
        }
    }
}

static void metrics(struct jbuf *b)
{
    static const char *const fam[F_COUNT][3] = {
        { "shoal_vm_info", "gauge", "One series per VM naming its state and what it runs (value 1)." },
        { "shoal_vm_memory_bytes", "gauge", "Guest RAM of each VM." },
        { "shoal_vm_vcpus", "gauge", "vCPUs of each VM." },
        { "shoal_vm_cpu_seconds_total", "counter", "Time each VM's vCPUs ran in the guest." },
        { "shoal_vm_exits_total", "counter", "VM exits of each VM, by reason." },
        { "shoal_vm_disk_requests_total", "counter", "Disk requests each VM's virtio-blk devices submitted." },
        { "shoal_vm_disk_bytes_total", "counter", "Bytes of those disk requests." },
        { "shoal_vm_network_packets_total", "counter", "Frames each VM's virtio-net devices received and sent." },
        { "shoal_vm_network_dropped_packets_total", "counter", "Frames each VM's virtio-net devices dropped." },
        { "shoal_vm_delta_blocks", "gauge", "4 KiB blocks a clone's copy-on-write delta holds." },
    };
    /* The text format wants each family's samples together, after its HELP and TYPE lines. */
    for (int f = 0; f < F_COUNT; f++) {
        api_metric_family(b, fam[f][0], fam[f][1], fam[f][2]);
        for (int i = 0; i < VM_MAX; i++)
            if (vm_slot(i))
                family(b, (enum vm_family)f, fam[f][0], vm_slot(i));
    }
}

static const struct api_resource vms = { "vms", handle, metrics };

/* Registered at init; a failure is logged by init_run_hooks. */
static int vm_api_init(void)
{
    return api_resource_register(&vms);
}
INIT_HOOK(INIT_VMM, vm_api_init);

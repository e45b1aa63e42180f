/* The `vm` shell command: create, start, stop, destroy, list, stats. */
#include "vmm/vm.h"
#include "vmm/testguest.h"
#include "vmm/linux.h"
#include "vmm/clone.h"
#include "vmm/diskcmd.h"
#include "vmm/dirtycmd.h"
#include "vmm/statecmd.h"
#include "vmm/mig/mig.h"
#include "vmm/dev/devices.h"
#include "kernel/shell.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/param.h"
#include "kernel/time.h"
#include "kernel/errno.h"

const char *vm_state_name(enum vm_state s)
{
    switch (s) {
    case VM_CREATED: return "created";
    case VM_RUNNING: return "running";
    case VM_PAUSED: return "paused";
    default: return "stopped";
    }
}

#define TESTGUEST_MEM_MAX (64ull << 30)          /* vm_create's own bound */

/* cpus=A,B,...: CPU indices (as `cpus` lists them). The count, or -EINVAL with an error line naming what. */
static int parse_cpus(const char *what, const char *name, const char *v, int *out, int max)
{
    int n = 0;
    while (*v) {
        uint64_t x = 0;
        int digits = 0;
        for (; *v >= '0' && *v <= '9' && digits < 4; v++, digits++)
            x = x * 10 + (uint64_t)(*v - '0');
        if (!digits || n == max || (*v && *v != ',') || (*v == ',' && !v[1]))
            goto bad;
        out[n++] = (int)x;
        if (*v == ',')
            v++;
    }
    if (n)
        return n;
bad:
    kprintf("error: vm %s %s: cpus=: give CPU numbers separated by commas (as `cpus` lists them)\n", what, name);
    return -EINVAL;
}

/* Place a new test guest's vCPUs (cpus=); on error the VM is destroyed. */
static int place(const char *name, const char *cpus_s)
{
    struct vm *vm = vm_find(name);
    int cpus[VCPU_MAX], n, rc;
    if (!cpus_s || !vm)
        return 0;
    if ((n = parse_cpus("create", name, cpus_s, cpus, VCPU_MAX)) < 0)
        rc = n;
    else if ((rc = vm_place(vm, cpus, n)))
        kprintf("error: vm create %s: cpus=%s: not every CPU named is online with virtualization on\n", name, cpus_s);
    if (rc)
        vm_destroy(vm);
    return rc;
}

static int vm_create_parse(int argc, char **argv)
{
    const char *gname = param_find(argc, argv, 3, "guest"), *mem_s = param_find(argc, argv, 3, "mem");
    const struct test_guest *g;
    uint64_t mem = 64ull << 20;
    int err;

    if (argc >= 5 && !strcmp(argv[3], "from"))
        return (err = clone_vm_create_cmd(argc, argv)) ? err : place(argv[2], param_find(argc, argv, 3, "cpus"));
    if (param_find(argc, argv, 3, "kernel"))
        return (err = linux_vm_create_cmd(argc, argv)) ? err : place(argv[2], param_find(argc, argv, 3, "cpus"));
    if (argc < 4 || !gname)
        return shell_usage("vm");
    if ((err = linux_parse_name(argv[2])))
        return err;
    if (mem_s && (err = linux_parse_mem_range(argv[2], mem_s, CHUNK_SIZE, TESTGUEST_MEM_MAX, "a test guest", &mem)))
        return err;
    if (!(g = testguest_find(gname))) {
        kprintf("error: vm create %s: guest=%s: no such test guest (built in from tests/guests/)\n", argv[2], gname);
        return -ENOENT;
    }
    if (!testguest_create(argv[2], g, mem, &err)) {
        kprintf("error: vm create %s: %s\n", argv[2], vm_create_error(err));
        return err;
    }
    if ((err = place(argv[2], param_find(argc, argv, 3, "cpus"))))
        return err;
    kprintf("vm %s created (%s, %llu MiB)\n", argv[2], g->name, (unsigned long long)(mem >> 20));
    return 0;
}

int vm_create_cmd(int argc, char **argv)
{
    int rc = vm_create_parse(argc, argv);
    struct vm *vm = rc == 0 && argc >= 3 ? vm_find(argv[2]) : NULL;
    if (vm)
        vm_record_create_args(vm, argc - 3, argv + 3);
    return rc;
}

static struct vm *named(int argc, char **argv)
{
    struct vm *vm = argc >= 3 ? vm_find(argv[2]) : NULL;
    if (argc >= 3 && !vm)
        kprintf("error: no VM named '%s'\n", argv[2]);
    return vm;
}

static uint64_t vm_run_ns(const struct vm *vm)
{
    uint64_t ns = 0;
    for (int i = 0; i < vm->nvcpus; i++)
        ns += vm->vcpu[i]->run_ns;
    return ns;
}

/* Where each vCPU last ran, comma-separated ("-" for one that has not run). */
static void vcpu_places(const struct vm *vm, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < vm->nvcpus && off + 5 < size; i++) {
        int c = vm->vcpu[i]->last_cpu;
        off += (size_t)(c >= 0 ? ksnprintf(buf + off, size - off, "%s%d", i ? "," : "", c)
                               : ksnprintf(buf + off, size - off, "%s-", i ? "," : ""));
    }
}

static int vm_list(void)
{
    kprintf("time %llu ms\n", (unsigned long long)(time_ns() / 1000000));
    kprintf("%-12s %-8s %8s %5s %10s %6s %10s  %-12s %s\n", "NAME", "STATE", "MEM(MiB)", "VCPUS", "EXITS/S", "CPU%",
            "CPU-MS", "GUEST", "ON-CPU");
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        if (!vm)
            continue;
        char where[4 * VCPU_MAX + 1];
        vcpu_places(vm, where, sizeof(where));
        kprintf("%-12s %-8s %8llu %5d %10llu %6llu %10llu  %-12s %s\n", vm->name, vm_state_name(vm->state),
                (unsigned long long)(vm->mem_size >> 20), vm->nvcpus, (unsigned long long)vm->exits_per_sec,
                (unsigned long long)(vm->state == VM_RUNNING ? vm->cpu_permille / 10 : 0),
                (unsigned long long)(vm_run_ns(vm) / 1000000), vm->guest ? vm->guest : "-", where);
    }
    return 0;
}

static int vm_stats(struct vm *vm)
{
    char dev[64] = "";
    if (vm->platform && vm->platform->describe)
        vm->platform->describe(vm, dev, sizeof(dev));
    if (dev[0])
        kprintf("%s\n", dev);
    kprintf("vm %s: %s%s%s, %llu exits\n", vm->name, vm_state_name(vm->state), vm->stop_reason[0] ? ": " : "",
            vm->stop_reason, (unsigned long long)vm->exits_total);
    kprintf("  unassigned reads %llu, writes %llu\n", (unsigned long long)vm->unassigned.reads,
            (unsigned long long)vm->unassigned.writes);
    struct virtio_io_stats io;
    virtio_io_stats(vm, &io);
    kprintf("  disk: %llu reads (%llu bytes), %llu writes (%llu bytes); net: %llu frames in, %llu out, "
            "%llu dropped in, %llu dropped out\n", (unsigned long long)io.disk_reads,
            (unsigned long long)io.disk_read_bytes, (unsigned long long)io.disk_writes,
            (unsigned long long)io.disk_write_bytes, (unsigned long long)io.net_rx_frames,
            (unsigned long long)io.net_tx_frames, (unsigned long long)io.net_rx_drops,
            (unsigned long long)io.net_tx_drops);
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        kprintf("  vcpu %d: %llu ms in guest%s\n", i, (unsigned long long)(v->run_ns / 1000000),
                v->halted ? ", halted" : "");
        for (int c = 0; c < EXIT_CODE_COUNT; c++)
            if (v->exits[c])
                kprintf("    %-14s %llu\n", exit_name(c), (unsigned long long)v->exits[c]);
    }
    return 0;
}

static int vm_control(const char *sub, struct vm *vm)
{
    if (vm->mig && (!strcmp(sub, "start") || !strcmp(sub, "stop"))) {
        kprintf("error: vm %s is being migrated (`migrate cancel` ends that)\n", vm->name);
        return -EBUSY;
    }
    if (!strcmp(sub, "start")) {
        if (vm_start(vm)) {
            kprintf("error: vm %s has stopped (%s): destroy it\n", vm->name, vm->stop_reason);
            return -EINVAL;
        }
    } else if (!strcmp(sub, "stop")) {
        if (vm->state == VM_RUNNING)
            vm->state = VM_PAUSED;
    } else if (!strcmp(sub, "console")) {
        return vm_console_attach(vm);
    } else if (!strcmp(sub, "log")) {
        return vm_console_log(vm);
    } else if (!strcmp(sub, "destroy")) {
        kprintf("vm %s destroyed\n", vm->name);
        vm_destroy(vm);
        return 0;
    } else {
        return vm_stats(vm);
    }
    kprintf("vm %s %s\n", vm->name, vm_state_name(vm->state));
    return 0;
}

/* vm pin NAME any|LIST: let the balancer place vm's vCPUs, or pin them (vCPU i on LIST[i % n]). */
static int vm_pin_cmd(struct vm *vm, const char *list)
{
    int cpus[VCPU_MAX], n = 0, rc;
    if (strcmp(list, "any") && (n = parse_cpus("pin", vm->name, list, cpus, VCPU_MAX)) < 0)
        return n;
    if ((rc = vm_pin(vm, cpus, n))) {
        kprintf("error: vm pin %s: %s\n", vm->name, rc == -EBUSY ? "it is held on its CPU (being moved or migrated)"
                                                                : "not every CPU named is online with virtualization on");
        return rc;
    }
    kprintf("vm %s pinned to %s\n", vm->name, n ? list : "any CPU");
    return 0;
}

static int cmd_vm(int argc, char **argv)
{
    struct vm *vm;
    if (argc < 2)
        return shell_usage("vm");
    if (!strcmp(argv[1], "list") && argc == 2)
        return vm_list();
    if (!strcmp(argv[1], "create"))
        return vm_create_cmd(argc, argv);
    if (!strcmp(argv[1], "disk"))
        return vm_disk_cmd(argc, argv);
    if (!strcmp(argv[1], "move") || !strcmp(argv[1], "memhash"))
        return vm_state_cmd(argc, argv);
    if (!strcmp(argv[1], "migrate"))
        return vm_migrate_cmd(argc, argv);
    if (!strcmp(argv[1], "dirty") && argc >= 4)
        return vm_dirty_cmd(argc, argv);
    if (!strcmp(argv[1], "pin") && argc == 4)
        return (vm = named(argc, argv)) ? vm_pin_cmd(vm, argv[3]) : -ENOENT;
    if (argc != 3 || (strcmp(argv[1], "start") && strcmp(argv[1], "stop") && strcmp(argv[1], "destroy") &&
                      strcmp(argv[1], "stats") && strcmp(argv[1], "console") && strcmp(argv[1], "log")))
        return shell_usage("vm");
    if (!(vm = named(argc, argv)))
        return -ENOENT;
    return vm_control(argv[1], vm);
}
SHELL_COMMAND("vm", "create NAME from IMAGE [mem=] [vcpus=] [quota=] [ip=A.B.C.D[/P]] [cpus=LIST] [cmdline+=\"...\"]"
              " | create NAME kernel=MODULE [initrd=MODULE] [cmdline=\"...\"] [mem=256M] [vcpus=N] [cpus=LIST] [disk=MODULE|disk-rw=MODULE]"
              " | create NAME guest=TESTGUEST [mem=64M] [cpus=LIST] | start|stop|destroy|stats|console|log NAME | list"
              " | disk NAME read OFF LEN | disk NAME write OFF LEN BYTE | disk NAME sha256 [OFF LEN]"
              " | pin NAME any|LIST | move NAME NEWNAME [hold] | memhash NAME [CHUNK]"
              " | dirty NAME start [check]|collect [list]|stop",
              "create and control virtual machines", cmd_vm);

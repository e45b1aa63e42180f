/* `vm move` (a VM saved and restored into a new VM on this host) and `vm memhash` (RAM hashes). */
#include "vmm/statecmd.h"
#include "vmm/vmstate.h"
#include "vmm/vcpustate.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/sha256.h"
#include "kernel/shell.h"

void vm_record_create_args(struct vm *vm, int argc, char **argv)
{
    size_t at = 0;
    vm->create_argc = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (n > sizeof(vm->create_args) - at)
            return;
        memcpy(vm->create_args + at, argv[i], n);
        at += n;
    }
    vm->create_argc = argc;
}

/* Create NEWNAME as `vm create NEWNAME <src's arguments>` would; the VM, or NULL (its error printed). */
static struct vm *create_like(struct vm *src, const char *newname)
{
    char *argv[3 + 32];
    const char *p = src->create_args;
    int argc = 0;
    argv[argc++] = "vm";
    argv[argc++] = "create";
    argv[argc++] = (char *)newname;
    for (int i = 0; i < src->create_argc && argc < (int)(sizeof(argv) / sizeof(argv[0])); i++) {
        argv[argc++] = (char *)p;
        p += strlen(p) + 1;
    }
    if (vm_create_cmd(argc, argv))
        return NULL;
    return vm_find(newname);
}

/* What vm move cannot carry yet: a disk whose writes live only in this VM (a clone's delta, disk-rw=). */
static const char *unmovable(struct vm *src)
{
    const char *p = src->create_args;
    if (!src->create_argc)
        return "its creation parameters were not recorded";
    for (int i = 0; i < src->create_argc; i++, p += strlen(p) + 1)
        if (!strcmp(p, "from") || !strncmp(p, "disk-rw=", 8))
            return "it has a writable disk (its writes cannot move yet)";
    if (src->mig)
        return "it is being migrated";
    return src->state == VM_STOPPED ? "it has stopped" : NULL;
}

/* Save src into a fresh buffer; 0 with *out and *len set, or a reason in why. */
static int save(struct vm *src, uint8_t **out, size_t *len, char *why, size_t n)
{
    size_t max = vm_state_max(src);
    struct snap s = { kmalloc(max), max, 0, 1, 0, NULL };
    if (!s.buf) {
        ksnprintf(why, n, "no memory for the state record");
        return -ENOMEM;
    }
    if (vm_state_save(src, &s)) {
        ksnprintf(why, n, s.err == -EBUSY ? "device requests still in flight" : "saving failed (%d)", s.err);
        kfree(s.buf);
        return s.err;
    }
    *out = s.buf;
    *len = s.pos;
    return 0;
}

/* The test hook corrupt=rflags: reserved RFLAGS bits 24-31 set in vCPU 0's record. */
static void corrupt_rflags(struct vm *src, uint8_t *rec)
{
    rec[vm_state_vcpu_offset(src) + 8 + __builtin_offsetof(struct vcpu_record, regs.rflags) + 3] ^= 0xff;
}

static int move_into(struct vm *src, struct vm *dst, uint8_t *rec, size_t len, char *why, size_t n)
{
    struct snap s = { rec, len, 0, 0, 0, NULL };
    if (vm_ram_copy(dst, src)) {
        ksnprintf(why, n, "RAM sizes differ");
        return -EINVAL;
    }
    return vm_state_restore(dst, &s, why, n);
}

/* Save src, create newname like it, copy RAM and restore: the new VM (paused), or NULL with why set. */
static struct vm *copy_vm(struct vm *src, const char *newname, int corrupt, size_t *len, char *why, size_t n)
{
    uint8_t *rec = NULL;
    struct vm *dst = NULL;
    int rc = save(src, &rec, len, why, n);
    if (!rc && !(dst = create_like(src, newname))) {
        ksnprintf(why, n, "creating %s failed", newname);
        rc = -ENOMEM;
    }
    if (!rc) {
        dst->state = VM_PAUSED;
        if (corrupt)
            corrupt_rflags(src, rec);
        rc = move_into(src, dst, rec, *len, why, n);
    }
    kfree(rec);
    if (rc && dst) {
        vm_destroy(dst);
        dst = NULL;
    }
    return dst;
}

/* vm_move once src's vCPUs are here. */
static int move_here(struct vm *src, const char *newname, int hold, int corrupt)
{
    enum vm_state was = src->state;
    const char *no;
    char why[160];
    size_t len = 0;
    struct vm *dst;

    no = unmovable(src);
    if (no || vm_find(newname)) {
        kprintf("error: vm move %s: %s\n", src->name, no ? no : "a VM of the new name exists");
        return no ? -EINVAL : -EEXIST;
    }
    src->state = VM_PAUSED;
    if (!(dst = copy_vm(src, newname, corrupt, &len, why, sizeof(why)))) {
        src->state = was;
        kprintf("error: vm move %s: %s; %s keeps running\n", src->name, why, src->name);
        return -EINVAL;
    }
    kprintf("vm %s moved to %s (%llu bytes of state)%s\n", src->name, newname, (unsigned long long)len,
            hold ? ", both held paused" : "");
    if (!hold) {
        vm_start(dst);
        vm_destroy(src);
    }
    return 0;
}

static int vm_move(struct vm *src, const char *newname, int hold, int corrupt)
{
    int rc;
    if (vm_gather(src, "vm move"))           /* its vCPUs' state is read here */
        return -EBUSY;
    rc = move_here(src, newname, hold, corrupt);
    if (rc)
        src->held = 0;                       /* it keeps running: the balancer may move it again */
    return rc;
}

/* A size: digits with an optional K, M or G. 0 when malformed. */
static uint64_t parse_size(const char *p)
{
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (*p == 'K' || *p == 'k') v <<= 10, p++;
    else if (*p == 'M' || *p == 'm') v <<= 20, p++;
    else if (*p == 'G' || *p == 'g') v <<= 30, p++;
    return *p ? 0 : v;
}

static void print_hash(const char *what, uint64_t at, const uint8_t h[32])
{
    kprintf("memhash %s %llx ", what, (unsigned long long)at);
    for (int i = 0; i < 32; i++)
        kprintf("%02x", h[i]);
    kprintf("\n");
}

static int vm_memhash(struct vm *vm, uint64_t chunk)
{
    struct sha256_ctx all, one;
    uint8_t h[32];
    if (vm->state == VM_RUNNING) {
        kprintf("error: vm memhash %s: pause it first (vm stop %s)\n", vm->name, vm->name);
        return -EBUSY;
    }
    sha256_init(&all);
    for (uint64_t at = 0; at < vm->mem_size; at += chunk) {
        sha256_init(&one);
        for (uint64_t gpa = at; gpa < at + chunk && gpa < vm->mem_size; gpa += 4096) {
            const void *p = gpa_ptr(vm, gpa, 4096);
            if (!p)
                return -EFAULT;
            sha256_update(&one, p, 4096);
            sha256_update(&all, p, 4096);
        }
        sha256_final(&one, h);
        print_hash("chunk", at, h);
    }
    sha256_final(&all, h);
    print_hash("total", vm->mem_size, h);
    return 0;
}

int vm_state_cmd(int argc, char **argv)
{
    struct vm *vm = argc >= 3 ? vm_find(argv[2]) : NULL;
    uint64_t chunk = 2ull << 20;
    if (argc >= 3 && !vm) {
        kprintf("error: no VM named '%s'\n", argv[2]);
        return -ENOENT;
    }
    if (vm && !strcmp(argv[1], "move") && argc >= 4 && argc <= 6) {
        int hold = 0, corrupt = 0;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "hold")) hold = 1;
            else if (!strcmp(argv[i], "corrupt=rflags")) corrupt = 1;
            else return shell_usage("vm");
        }
        return vm_move(vm, argv[3], hold, corrupt);
    }
    if (vm && !strcmp(argv[1], "memhash") && (argc == 3 || (argc == 4 && (chunk = parse_size(argv[3])))) &&
        !(chunk & 4095))
        return vm_memhash(vm, chunk);
    return shell_usage("vm");
}

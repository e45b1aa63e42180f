/* `vm dirty NAME start [check]|collect [list]|stop`: the dirty-page log of vmm/dirty.c from the shell. */
#include "vmm/dirtycmd.h"
#include "vmm/dirty.h"
#include "vmm/vm.h"
#include "kernel/sha256.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

static int dirty_err(const char *vm, const char *what, int err)
{
    kprintf("error: vm dirty %s: %s: %s (%d)\n", vm, what, err == -EBUSY ? "tracking is already on" :
            err == -EINVAL ? "tracking is not on" : err == -ENOMEM ? "out of memory" :
            err == -ENODEV ? "no RAM or no write protection on this backend" : "failed", err);
    return err;
}

/* Print the set pages of bits ([0, npages)), 16 a line, when list; hash them all into out. */
static void walk_pages(const uint64_t *bits, uint64_t npages, int list, uint8_t out[32])
{
    struct sha256_ctx h;
    int col = 0;
    sha256_init(&h);
    for (uint64_t p = 0; p < npages; p++) {
        if (!(bits[p / 64] >> (p % 64) & 1))
            continue;
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(p >> (8 * i));
        sha256_update(&h, le, sizeof(le));
        if (list)
            kprintf("%s%#llx%s", col ? " " : "  pages ", (unsigned long long)p, col == 15 ? "\n" : "");
        col = (col + 1) % 16;
    }
    if (list && col)
        kprintf("\n");
    sha256_final(&h, out);
}

#define CHECK_SHOWN 16

/* The check mode's verdict: n pages changed unmarked (-1: not checking), the first of them listed. */
static void print_check(const struct vm *vm, const uint64_t *missed, long n)
{
    if (n < 0)
        return;
    if (n == 0) {
        kprintf("vm %s dirty check: no page changed unmarked\n", vm->name);
        return;
    }
    kprintf("vm %s dirty check: %ld pages changed unmarked:", vm->name, n);
    for (long i = 0; i < n && i < CHECK_SHOWN; i++)
        kprintf(" %#llx", (unsigned long long)missed[i]);
    kprintf("%s\n", n > CHECK_SHOWN ? " ..." : "");
}

static int dirty_print_collect(struct vm *vm, int list)
{
    size_t nwords = dirty_words(vm);
    uint64_t *bits = nwords ? kzalloc(nwords * sizeof(uint64_t)) : NULL;
    uint8_t sum[32];
    int n;
    if (!nwords)
        return dirty_err(vm->name, "collect", -EINVAL);
    if (!bits)
        return dirty_err(vm->name, "collect", -ENOMEM);
    n = dirty_collect(vm, bits, nwords);
    if (n < 0) {
        kfree(bits);
        return dirty_err(vm->name, "collect", n);
    }
    walk_pages(bits, vm->mem_size / 4096, list, sum);
    uint64_t missed[CHECK_SHOWN];
    long nmissed = *dirty_sums(vm) ? dirty_check(vm, bits, missed, CHECK_SHOWN) : -1;
    kfree(bits);
    kprintf("vm %s dirty: %d pages sha256 ", vm->name, n);
    for (int i = 0; i < 32; i++)
        kprintf("%02x", sum[i]);
    kprintf("\n");
    print_check(vm, missed, nmissed);
    return 0;
}

/* start [check]: write-protect all RAM; with check, also a checksum of every page (slow: a debugging aid). */
static int dirty_print_start(struct vm *vm, int check)
{
    int rc = dirty_start(vm);
    if (!rc && check && (rc = dirty_check_start(vm)))
        dirty_stop(vm);
    if (rc)
        return dirty_err(vm->name, "start", rc);
    kprintf("vm %s dirty tracking on: %llu pages write-protected%s\n", vm->name,
            (unsigned long long)(vm->mem_size / 4096), check ? ", checksummed" : "");
    return 0;
}

int vm_dirty_cmd(int argc, char **argv)
{
    struct vm *vm;
    int list = argc == 5 && !strcmp(argv[3], "collect") && !strcmp(argv[4], "list");
    int check = argc == 5 && !strcmp(argv[3], "start") && !strcmp(argv[4], "check");
    if ((argc != 4 && !list && !check) ||
        (strcmp(argv[3], "start") && strcmp(argv[3], "collect") && strcmp(argv[3], "stop"))) {
        kprintf("usage: vm dirty NAME start [check]|collect [list]|stop\n");
        return -EINVAL;
    }
    if (!(vm = vm_find(argv[2]))) {
        kprintf("error: no VM named '%s'\n", argv[2]);
        return -ENOENT;
    }
    if (vm->mig) {                                  /* its log is the migration's: a collect here loses pages */
        kprintf("error: vm %s is being migrated: its dirty log is the migration's\n", vm->name);
        return -EBUSY;
    }
    if (!strcmp(argv[3], "collect"))
        return dirty_print_collect(vm, list);
    if (!strcmp(argv[3], "stop")) {
        uint64_t faults = dirty_faults(vm);
        if (!vm->dirty)
            return dirty_err(vm->name, "stop", -EINVAL);
        dirty_stop(vm);
        kprintf("vm %s dirty tracking off after %llu write faults\n", vm->name, (unsigned long long)faults);
        return 0;
    }
    return dirty_print_start(vm, check);
}

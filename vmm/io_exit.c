/* Port I/O and MMIO exits: find the registered device, decode MMIO instructions, emulate the access. */
#include "vmm/exits.h"
#include "vmm/decode.h"
#include "vmm/gwalk.h"
#include "vmm/dirty.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/time.h"

static uint64_t size_mask(int size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

int exit_io(struct vcpu *v, struct vm_exit *ex)
{
    struct pio_range *r = vm_find_pio(v->vm, ex->io.port);
    uint64_t *rax = &v->regs.gpr[GPR_RAX];
    int size = ex->io.size, rc = 0;

    if (ex->io.string || !ex->inst_len) {
        vm_stop(v->vm, 1, "string port I/O (INS/OUTS) on port %#x is not supported", ex->io.port);
        return -ENOTSUP;
    }
    if (ex->io.in) {
        uint32_t val = 0xffffffffu;                       /* unclaimed ports read as all ones */
        if (r && r->in)
            rc = r->in(r->dev, (uint16_t)(ex->io.port - r->base), size, &val);
        if (size == 4)
            *rax = val;                                   /* 32-bit results zero the upper half */
        else
            *rax = (*rax & ~size_mask(size)) | (val & size_mask(size));
    } else if (r && r->out) {
        rc = r->out(r->dev, (uint16_t)(ex->io.port - r->base), size, (uint32_t)(*rax & size_mask(size)));
    }
    if (rc < 0) {
        vm_stop(v->vm, 1, "device on port %#x refused a %d-byte %s (%d)", ex->io.port, size,
                ex->io.in ? "read" : "write", rc);
        return rc;
    }
    vcpu_skip(v, ex);
    return 0;
}

static int read_guest(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return gpa_read(ctx, gpa, buf, len);
}

static int mmio_read(void *ctx, uint64_t gpa, int size, uint64_t *val)
{
    struct mmio_range *m = vm_find_mmio(ctx, gpa);
    if (!m || !m->read)
        return -EFAULT;
    return m->read(m->dev, gpa - m->base, size, val);
}

static int mmio_write(void *ctx, uint64_t gpa, int size, uint64_t val)
{
    struct mmio_range *m = vm_find_mmio(ctx, gpa);
    if (!m || !m->write)
        return -EFAULT;
    return m->write(m->dev, gpa - m->base, size, val);
}

static const struct mmio_access_ops mmio_ops = { .read = mmio_read, .write = mmio_write };

static void print_bytes(char *buf, size_t size, const uint8_t *b, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && off + 4 < size; i++)
        off += (size_t)ksnprintf(buf + off, size - off, "%s%02x", i ? " " : "", b[i]);
}

/*
 * Unassigned guest-physical space behaves as an empty bus on real hardware: reads return all-ones, writes
 * are dropped (what the guest's drivers probe with, and what KVM and QEMU do). Counted per VM; the first
 * UNASSIGNED_LOG_FIRST accesses are logged, then at most one line a second with the count in between.
 */
#define UNASSIGNED_LOG_FIRST 5
#define NS_PER_SEC 1000000000ull

static void unassigned_note(struct vm *vm, uint64_t gpa, int write)
{
    uint64_t now = time_ns();
    if (vm->unassigned.logged >= UNASSIGNED_LOG_FIRST && now - vm->unassigned.log_ns < NS_PER_SEC) {
        vm->unassigned.quiet++;
        return;
    }
    if (vm->unassigned.quiet)
        log_warn("vm %s: %u more unassigned accesses not shown", vm->name, vm->unassigned.quiet);
    log_warn("vm %s: %s of unassigned GPA %#llx %s", vm->name, write ? "write" : "read",
             (unsigned long long)gpa, write ? "dropped" : "reads all-ones");
    vm->unassigned.logged++;
    vm->unassigned.quiet = 0;
    vm->unassigned.log_ns = now;
}

static int none_read(void *ctx, uint64_t gpa, int size, uint64_t *val)
{
    struct vm *vm = ctx;
    *val = size_mask(size);
    vm->unassigned.reads++;
    unassigned_note(vm, gpa, 0);
    return 0;
}

static int none_write(void *ctx, uint64_t gpa, int size, uint64_t val)
{
    struct vm *vm = ctx;
    (void)size;
    (void)val;
    vm->unassigned.writes++;
    unassigned_note(vm, gpa, 1);
    return 0;
}

static const struct mmio_access_ops none_ops = { .read = none_read, .write = none_write };

static void stop_fetch(struct vm *vm, uint64_t gpa)
{
    vm_stop(vm, 1, "instruction fetch from unassigned GPA %#llx (RAM ends at %#llx)", (unsigned long long)gpa,
            (unsigned long long)vm->mem_size);
}

/* Decode the instruction at RIP and run it against ops (a device's window, or nothing). An instruction
 * that cannot be fetched, decoded or emulated stops the VM: its effect cannot be known. */
static int emulate_access(struct vcpu *v, uint64_t gpa, const struct mmio_access_ops *ops, const char *what)
{
    struct vm *vm = v->vm;
    uint8_t bytes[15];
    char hex[64];
    size_t got = 0;
    uint32_t pferr = 0;
    struct insn in;
    int rc;

    vcpu_sync_full(v);
    rc = guest_read_insn(&v->regs, read_guest, vm, bytes, &got, &pferr);
    if (rc == -EFAULT && ops == &none_ops) {      /* RIP itself is in unassigned space (not every */
        stop_fetch(vm, gpa);                      /* vendor's exit says the fault was a fetch) */
        return rc;
    }
    if (rc < 0) {
        vm_stop(vm, 1, "%s at GPA %#llx: cannot fetch the instruction at RIP %#llx (%d)", what,
                (unsigned long long)gpa, (unsigned long long)v->regs.rip, rc);
        return rc;
    }
    rc = insn_decode(bytes, got, guest_cpu_mode(&v->regs), &in);
    if (rc == 0)
        rc = insn_emulate(&in, &v->regs, gpa, ops, vm);
    if (rc < 0) {
        print_bytes(hex, sizeof(hex), bytes, got);
        vm_stop(vm, 1, "%s at GPA %#llx: cannot %s the instruction at RIP %#llx: bytes %s", what,
                (unsigned long long)gpa, rc == -ENOTSUP ? "emulate" : "decode",
                (unsigned long long)v->regs.rip, hex);
        return rc;
    }
    return 0;
}

/*
 * A nested page fault: a device window is emulated; unassigned space below the platform's physical
 * address limit (GWALK_PHYS_BITS) reads all-ones and drops writes. Stopped: an instruction fetch from
 * anything but RAM (there is no code there, and hardware would execute all-ones bytes into a fault
 * loop the guest cannot leave), addresses past the limit, and faults inside RAM (a host mapping bug) but
 * the one expected there: a write to a page write-protected for dirty tracking (vmm/dirty.c), which
 * records the page, lifts the protection and lets the guest retry the write, emulating nothing.
 */
int exit_npf(struct vcpu *v, struct vm_exit *ex)
{
    struct vm *vm = v->vm;
    uint64_t gpa = ex->npf.gpa;
    const char *what = ex->npf.fetch ? "instruction fetch" : ex->npf.write ? "write" : "read";

    if (vm_find_mmio(vm, gpa))
        return emulate_access(v, gpa, &mmio_ops, "MMIO");
    if (ex->npf.write && !ex->npf.fetch && dirty_fault(vm, gpa))
        return 0;
    if (ex->npf.fetch) {
        stop_fetch(vm, gpa);
        return -EFAULT;
    }
    if (gpa < vm->mem_size || gpa >> GWALK_PHYS_BITS) {
        vm_stop(vm, 1, "%s at GPA %#llx: %s (RAM ends at %#llx)", what, (unsigned long long)gpa,
                gpa < vm->mem_size ? "a fault inside RAM" : "past the physical address limit",
                (unsigned long long)vm->mem_size);
        return -EFAULT;
    }
    return emulate_access(v, gpa, &none_ops, "unassigned access");
}

/* Port I/O and MMIO exits: find the registered device, decode MMIO instructions, emulate the access. */
#include "vmm/exits.h"
#include "vmm/decode.h"
#include "vmm/gwalk.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

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

int exit_npf(struct vcpu *v, struct vm_exit *ex)
{
    struct vm *vm = v->vm;
    uint8_t bytes[15];
    char hex[64];
    size_t got = 0;
    uint32_t pferr = 0;
    struct insn in;
    int rc;

    if (!vm_find_mmio(vm, ex->npf.gpa)) {
        vm_stop(vm, 1, "%s outside RAM at GPA %#llx (RAM ends at %#llx)",
                ex->npf.fetch ? "instruction fetch" : ex->npf.write ? "write" : "read",
                (unsigned long long)ex->npf.gpa, (unsigned long long)vm->mem_size);
        return -EFAULT;
    }
    vcpu_sync_full(v);
    rc = guest_read_insn(&v->regs, read_guest, vm, bytes, &got, &pferr);
    if (rc < 0) {
        vm_stop(vm, 1, "MMIO at GPA %#llx: cannot fetch the instruction at RIP %#llx (%d)",
                (unsigned long long)ex->npf.gpa, (unsigned long long)v->regs.rip, rc);
        return rc;
    }
    rc = insn_decode(bytes, got, guest_cpu_mode(&v->regs), &in);
    if (rc == 0)
        rc = insn_emulate(&in, &v->regs, ex->npf.gpa, &mmio_ops, vm);
    if (rc < 0) {
        print_bytes(hex, sizeof(hex), bytes, got);
        vm_stop(vm, 1, "MMIO at GPA %#llx: cannot %s the instruction at RIP %#llx: bytes %s",
                (unsigned long long)ex->npf.gpa, rc == -ENOTSUP ? "emulate" : "decode",
                (unsigned long long)v->regs.rip, hex);
        return rc;
    }
    return 0;
}

/* Hypercalls for test guests: print, exit, one-shot timer, time, peer address, report. */
#include "vmm/exits.h"
#include "vmm/hypercall.h"
#include "vmm/testdev.h"
#include "vmm/testguest.h"
#include "kernel/printf.h"
#include "kernel/time.h"
#include "kernel/errno.h"

static int64_t hc_print(struct vm *vm, uint64_t gpa, uint64_t len)
{
    char buf[256];
    if (len > 4096)
        return -EINVAL;
    while (len) {
        size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
        if (gpa_read(vm, gpa, buf, n))
            return -EFAULT;
        vm_console_put(vm, buf, n);
        gpa += n;
        len -= n;
    }
    return 0;
}

/* "[vm] report KEY=VALUE", queued behind the guest's earlier prints. */
static void hc_report(struct vm *vm, uint64_t key, uint64_t value)
{
    char buf[64];
    int n = ksnprintf(buf, sizeof(buf), "report %llu=%llu\n", (unsigned long long)key, (unsigned long long)value);
    vm_console_put(vm, buf, (size_t)n);
}

static int64_t hc_peer(struct vm *self)
{
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *o = vm_slot(i);
        if (o && o != self && o->mem_size)
            return (int64_t)gpa_to_hpa(o, 0);
    }
    return -ENOENT;
}

static int hypercall_handle(struct vcpu *v, struct testguest_vm *tg)
{
    uint64_t *r = v->regs.gpr;
    int64_t ret = 0;
    switch ((uint32_t)r[GPR_RAX]) {
    case HC_PRINT: ret = hc_print(v->vm, r[GPR_RBX], r[GPR_RCX]); break;
    case HC_EXIT:
        v->vm->exit_code = (int)r[GPR_RBX];
        vm_stop(v->vm, 0, "exited with code %d", (int)r[GPR_RBX]);
        return 1;
    case HC_TIMER: ret = testdev_timer(v, (uint8_t)r[GPR_RBX], r[GPR_RCX]); break;
    case HC_TIME: ret = (int64_t)time_ns(); break;
    case HC_PEER: ret = hc_peer(v->vm); break;
    case HC_REPORT: hc_report(v->vm, r[GPR_RBX], r[GPR_RCX]); break;
    case HC_NOTEST: tg->hypercalls = 0; break;
    case HC_BADSTATE:
        vcpu_sync_full(v);
        v->regs.efer |= 0x500;                         /* LME, LMA ... */
        v->regs.cr0 |= 0x80000001u;                    /* ... with paging on ... */
        v->regs.cr4 &= ~0x20ull;                       /* ... but no PAE: illegal on both vendors */
        vcpu_put_full(v);
        break;
    default: ret = -ENOSYS; break;
    }
    r[GPR_RAX] = (uint64_t)ret;
    return 0;
}

int hypercall_exit(struct vcpu *v, struct vm_exit *ex)
{
    struct testguest_vm *tg = testguest_of(v->vm);
    if (!tg || !tg->hypercalls) {
        vcpu_queue_exception(v, 6, 0, 0);
        return 0;
    }
    vcpu_skip(v, ex);
    return hypercall_handle(v, tg);
}

/* A VM's state record: header, vCPUs, devices through the registry; restore checks and re-arms. */
#include "vmm/vmstate.h"
#include "vmm/vcpustate.h"
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

/* Registry entries that are devices: vm_on_destroy's cleanups (some registered lazily, such as the
 * console ring's) are not part of the guest's state. */
static int is_device(const struct vm_dev *d)
{
    return strcmp(d->name, "cleanup") != 0;
}

static uint32_t device_count(const struct vm *vm)
{
    uint32_t n = 0;
    for (int i = 0; i < vm->ndevs; i++)
        n += (uint32_t)is_device(&vm->devs[i]);
    return n;
}

size_t vm_state_max(const struct vm *vm)
{
    return vm_state_vcpu_offset(vm) + (size_t)vm->nvcpus * VCPU_RECORD_MAX + (size_t)vm->ndevs * 8192;
}

size_t vm_state_vcpu_offset(const struct vm *vm)
{
    return 8 + 8 + 4 + 4 + (size_t)device_count(vm) * VM_STATE_NAME;
}

int vm_state_quiesce(struct vm *vm)
{
    int busy = 0;
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].quiesce)
            busy += vm->devs[i].quiesce(vm, vm->devs[i].dev);
    return busy;
}

/* The header both ways; restoring, it must describe vm exactly. */
static void header(struct vm *vm, struct snap *s)
{
    uint64_t mem = vm->mem_size;
    uint32_t nvcpus = (uint32_t)vm->nvcpus, ndevs = device_count(vm);
    snap_header(s, SNAP_TAG_VM, VM_STATE_VERSION);
    SNAP(s, mem);
    SNAP(s, nvcpus);
    SNAP(s, ndevs);
    if (!s->save && !s->err && mem != vm->mem_size)
        snap_fail(s, "RAM size differs from the destination VM's");
    if (!s->save && !s->err && (nvcpus != (uint32_t)vm->nvcpus || ndevs != device_count(vm)))
        snap_fail(s, "vCPU or device count differs from the destination VM's");
    for (int i = 0; i < vm->ndevs && !s->err; i++) {
        if (!is_device(&vm->devs[i]))
            continue;
        char name[VM_STATE_NAME] = { 0 };
        kstrlcpy(name, vm->devs[i].name, sizeof(name));
        char want[VM_STATE_NAME];
        memcpy(want, name, sizeof(want));
        snap_bytes(s, name, sizeof(name));
        if (!s->save && !s->err && memcmp(name, want, sizeof(name)))
            snap_fail(s, "device list differs from the destination VM's");
    }
}

/* One device's record inside a length prefix: its walk may not read past its own bytes. */
static void device(struct vm_dev *d, struct snap *s)
{
    uint32_t len = 0;
    size_t at = s->pos;
    if (!is_device(d))
        return;
    SNAP(s, len);
    if (!s->save && !s->err && (d->snapshot ? len > s->len - s->pos : len != 0))
        snap_fail(s, "device record length wrong");
    if (s->err || !d->snapshot)
        return;
    struct snap sub = { s->buf + s->pos, s->save ? s->len - s->pos : len, 0, s->save, 0, NULL };
    d->snapshot(d->dev, &sub);
    if (!s->save && !sub.err && sub.pos != len)
        snap_fail(&sub, "device record has trailing bytes");
    if (sub.err) {
        s->err = sub.err;
        s->why = sub.why ? sub.why : (s->save ? "save buffer too small" : "device refused its record");
        return;
    }
    len = (uint32_t)sub.pos;
    if (s->save)
        memcpy(s->buf + at, &len, sizeof(len));
    s->pos += sub.pos;
}

int vm_state_save(struct vm *vm, struct snap *s)
{
    uint64_t f;
    if (vm_state_quiesce(vm))
        return s->err = -EBUSY;
    f = dev_lock();                      /* interrupts off: no timer moves state between the records */
    header(vm, s);
    for (int i = 0; i < vm->nvcpus && !s->err; i++)
        vcpu_snapshot(vm->vcpu[i], s);
    for (int i = 0; i < vm->ndevs && !s->err; i++)
        device(&vm->devs[i], s);
    dev_unlock(f);
    return s->err;
}

int vm_state_restore(struct vm *vm, struct snap *s, char *why, size_t n)
{
    const char *part = "VM";
    header(vm, s);
    for (int i = 0; i < vm->nvcpus && !s->err; i++) {
        part = "vCPU";
        vcpu_snapshot(vm->vcpu[i], s);
    }
    for (int i = 0; i < vm->ndevs && !s->err; i++) {
        part = vm->devs[i].name;
        device(&vm->devs[i], s);
    }
    if (!s->err && s->pos != s->len) {
        part = "VM";
        snap_fail(s, "trailing bytes after the last device");
    }
    if (s->err) {
        ksnprintf(why, n, "%s record: %s (at byte %llu)", part, s->why ? s->why :
                  s->err == -EPROTO ? "another version" : "truncated", (unsigned long long)s->pos);
        return s->err;
    }
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].post_restore)
            vm->devs[i].post_restore(vm, vm->devs[i].dev);
    return 0;
}

int vm_ram_copy(struct vm *dst, struct vm *src)
{
    if (dst->mem_size != src->mem_size)
        return -EINVAL;
    for (uint64_t gpa = 0; gpa < src->mem_size; gpa += 4096) {
        void *d = gpa_ptr(dst, gpa, 4096), *p = gpa_ptr(src, gpa, 4096);
        if (!d || !p)
            return -EINVAL;
        memcpy(d, p, 4096);
    }
    return 0;
}

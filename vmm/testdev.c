/* Test devices for shoal's test guests: port echo, MMIO register file, one-shot timer interrupts. */
#include "vmm/testdev.h"
#include "vmm/vm.h"
#include "vmm/testguest.h"
#include "vmm/dirty.h"
#include "kernel/heap.h"
#include "kernel/time.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/printf.h"
#include "vmm/dev/snapshot.h"

struct testdev {
    uint32_t echo;
    uint32_t writes;
    uint8_t regs[TESTDEV_MMIO_LEN];
    struct timer timer[VCPU_MAX];
    uint8_t vector[VCPU_MAX];
    uint64_t restored_ns[VCPU_MAX];              /* a restored timer's time left, armed by post_restore */
    struct vm *vm;
};

static int echo_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct testdev *t = dev;
    (void)size;
    *val = off < 4 ? t->echo >> (off * 8) : t->writes;
    return 0;
}

static int echo_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct testdev *t = dev;
    if (off >= 4)
        return 0;                                    /* the counter is read-only */
    uint32_t mask = (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1) << (off * 8);
    t->echo = (t->echo & ~mask) | ((val << (off * 8)) & mask);
    t->writes++;
    return 0;
}

static int regs_read(void *dev, uint64_t off, int size, uint64_t *val)
{
    struct testdev *t = dev;
    if (off + (uint64_t)size > TESTDEV_MMIO_LEN)
        return -EFAULT;
    if (off == TESTDEV_DIRTY_COLLECTS && size == 4) {     /* paces dirtier32's rounds */
        *val = (uint32_t)dirty_collects(t->vm);
        return 0;
    }
    *val = 0;
    memcpy(val, t->regs + off, (size_t)size);
    return 0;
}

static int regs_write(void *dev, uint64_t off, int size, uint64_t val)
{
    struct testdev *t = dev;
    if (off + (uint64_t)size > TESTDEV_MMIO_LEN)
        return -EFAULT;
    memcpy(t->regs + off, &val, (size_t)size);
    return 0;
}

/* The test devices of vm, or NULL (not a test guest, or already destroyed). */
static struct testdev *testdev_of(struct vm *vm)
{
    struct testguest_vm *tg = testguest_of(vm);
    return tg ? tg->dev : NULL;
}

static void timer_fired(struct timer *tm, void *arg)
{
    struct vcpu *v = arg;
    struct testdev *t = testdev_of(v->vm);
    (void)tm;
    if (t)
        vcpu_raise_irq(v, t->vector[v->id]);
}

static void testdev_cancel(struct testdev *t)
{
    for (int i = 0; i < VCPU_MAX; i++)
        timer_cancel(&t->timer[i]);
}

/* A VM reset: timers cancelled, registers cleared. */
static void testdev_reset(struct vm *vm, void *dev)
{
    struct testdev *t = dev;
    (void)vm;
    testdev_cancel(t);
    t->echo = t->writes = 0;
    memset(t->regs, 0, sizeof(t->regs));
}

static void testdev_destroy(struct vm *vm, void *dev)
{
    struct testguest_vm *tg = testguest_of(vm);
    testdev_cancel(dev);
    kfree(dev);
    if (tg)
        tg->dev = NULL;
}

/*
 * Record: echo, writes, the register file, and per vCPU its timer's vector and the time left (0: not
 * armed; relative to now, so the restored timer fires as late as the saved one would have).
 */
static void testdev_snapshot(void *dev, struct snap *s)
{
    struct testdev *t = dev;
    uint64_t now = time_ns();
    snap_header(s, 0x56445354u /* "TSDV" */, 1);
    SNAP(s, t->echo);
    SNAP(s, t->writes);
    SNAP(s, t->regs);
    for (int i = 0; i < VCPU_MAX; i++) {
        uint64_t left = t->timer[i].armed ? (t->timer[i].deadline > now ? t->timer[i].deadline - now : 1) :
                        t->restored_ns[i];           /* restored, not yet re-armed: as it was saved */
        SNAP(s, t->vector[i]);
        SNAP(s, left);
        if (s->save || s->err)
            continue;
        if (left > 60000000000ull || (left && (t->vector[i] < 32 || i >= t->vm->nvcpus)))
            snap_fail(s, "testdev timer out of range");
        t->restored_ns[i] = left;
    }
}

static void testdev_post_restore(struct vm *vm, void *dev)
{
    struct testdev *t = dev;
    for (int i = 0; i < vm->nvcpus; i++)
        if (t->restored_ns[i])
            timer_arm(&t->timer[i], t->restored_ns[i], timer_fired, vm->vcpu[i]);
    memset(t->restored_ns, 0, sizeof(t->restored_ns));
}

int testdev_attach(struct vm *vm)
{
    struct testguest_vm *tg = testguest_of(vm);
    struct testdev *t = tg && !tg->dev ? kzalloc(sizeof(*t)) : NULL;
    struct pio_range echo = { TESTDEV_PORT, 6, echo_in, echo_out, t };
    struct mmio_range regs = { TESTDEV_MMIO, TESTDEV_MMIO_LEN, regs_read, regs_write, t };
    struct vm_dev reg = { .name = "testdev",
                          .snapshot = testdev_snapshot,
                          .post_restore = testdev_post_restore,
                          .reset = testdev_reset,
                          .destroy = testdev_destroy,
                          .dev = t };
    int rc;
    if (!tg || tg->dev)
        return -EINVAL;
    if (!t)
        return -ENOMEM;
    if ((rc = vm_dev_register(vm, &reg)) < 0) {
        kfree(t);
        return rc;
    }
    t->vm = vm;
    tg->dev = t;
    rc = vm_register_pio(vm, &echo);
    if (!rc)
        rc = vm_register_mmio(vm, &regs);
    return rc;
}

void testdev_describe(struct vm *vm, char *buf, int size)
{
    struct testdev *t = testdev_of(vm);
    buf[0] = 0;
    if (t)
        ksnprintf(buf, (size_t)size, "testdev: echo %u, writes %u", t->echo, t->writes);
}


int64_t testdev_timer(struct vcpu *v, uint8_t vector, uint64_t us)
{
    struct testdev *t = testdev_of(v->vm);
    if (!t || (us && vector < 32) || us > 60000000ull)
        return -EINVAL;
    timer_cancel(&t->timer[v->id]);
    if (us) {
        t->vector[v->id] = vector;
        timer_arm(&t->timer[v->id], us * 1000, timer_fired, v);
    }
    return 0;
}

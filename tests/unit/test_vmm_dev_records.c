/* Host unit tests of the device records as the VM record walks them: through the registry, timers re-armed. */
#define TEST_SUITE "vmm_dev"
#include "tests/unit/test.h"
#include "tests/unit/vmm_dev_shim.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/apic.h"
#include "vmm/dev/i8254.h"

#define VEC 0x30

/* Every chip of a Linux guest's platform, with one vCPU. */
static struct vm *platform(void)
{
    struct vm *vm = fake_vm(1);
    CHECK(vm && !pic_attach(vm) && !ioapic_attach(vm) && !lapic_attach(vm) && !pit_attach(vm) &&
          !rtc_attach(vm) && !i8042_attach(vm) && !ns16550_attach(vm, 0x3f8, 4));
    return vm;
}

/* Each registry entry with a snapshot hook, in order: the device part of the VM record. */
static int walk(struct vm *vm, uint8_t *buf, size_t len, int save, const char **why)
{
    struct snap s = { buf, len, 0, save, 0, NULL };
    for (int i = 0; i < vm->ndevs && !s.err; i++)
        if (vm->devs[i].snapshot)
            vm->devs[i].snapshot(vm->devs[i].dev, &s);
    if (why)
        *why = s.why;
    return s.err ? s.err : (int)s.pos;
}

static void *dev_named(struct vm *vm, const char *name)
{
    for (int i = 0; i < vm->ndevs; i++)
        if (!strcmp(vm->devs[i].name, name))
            return vm->devs[i].dev;
    return NULL;
}

static void post_restore(struct vm *vm)
{
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].post_restore)
            vm->devs[i].post_restore(vm, vm->devs[i].dev);
}

static int lapic_irr(struct vm *vm, int vec)
{
    struct lapic *l = vm->vcpu[0]->lapic;
    return (l->s.irr[vec / 32] >> (vec % 32)) & 1;
}

/* A source with a periodic LAPIC timer (1 ms) and PIT channel 0 in mode 2, saved mid-period. */
static int saved_source(uint8_t *buf, size_t len)
{
    struct vm *vm = platform();
    struct lapic *l = vm->vcpu[0]->lapic;
    int n;
    lapic_mmio_write(l, 0xf0, 0x1ff);
    lapic_mmio_write(l, 0x3e0, 0xb);                 /* divide by 1 */
    lapic_mmio_write(l, 0x320, (1u << 17) | VEC);    /* periodic */
    lapic_mmio_write(l, 0x380, 1000000);             /* 1 ms at the model's 1 GHz bus */
    struct pit *p = dev_named(vm, "pit");
    pit_write(p, 3, 0x34);                           /* channel 0, lo/hi, mode 2 */
    pit_write(p, 0, 0x9c);
    pit_write(p, 0, 0x2e);                           /* 11932: 10 ms */
    fake_advance(400000);
    n = walk(vm, buf, len, 1, NULL);
    fake_vm_free(vm);                                /* the source is gone: nothing of it may fire */
    return n;
}

TEST(device_records_round_trip_and_rearm)
{
    static uint8_t a[8192], b[8192];
    int n = saved_source(a, sizeof(a));
    CHECK(n > 0);
    fake_advance(5000000);                           /* time passes between save and restore */
    struct vm *vm = platform();
    CHECK_EQ(walk(vm, a, (size_t)n, 0, NULL), n);
    CHECK_EQ(walk(vm, b, sizeof(b), 1, NULL), n);   /* saved again at once: the same bytes */
    CHECK_MEM(a, b, (size_t)n);
    struct pit *p = dev_named(vm, "pit");
    CHECK(!p->timer.armed);
    post_restore(vm);
    CHECK(p->timer.armed);                           /* channel 0 counts on */
    /* The paused time does not count: 0.4 ms of its 10 ms period had passed when it was saved. */
    CHECK(p->timer.deadline - fake_now > 9590000 && p->timer.deadline - fake_now < 9610000);
    CHECK(!lapic_irr(vm, VEC));
    fake_advance(500000);                            /* 0.6 ms of the saved 1 ms period are left */
    CHECK(!lapic_irr(vm, VEC));
    fake_advance(200000);
    CHECK(lapic_irr(vm, VEC));
    fake_vm_free(vm);
}

TEST(device_records_timers_wait_for_post_restore)
{
    static uint8_t a[8192];
    int n = saved_source(a, sizeof(a));
    struct vm *vm = platform();
    CHECK_EQ(walk(vm, a, (size_t)n, 0, NULL), n);
    fake_advance(700000);
    CHECK(!lapic_irr(vm, VEC));                      /* the timer runs only once post_restore armed it */
    fake_vm_free(vm);
}

/* The LAPIC's record follows its state: tag, version, the state, then the armed flag. */
TEST(device_records_refused)
{
    static uint8_t a[8192];
    const char *why = NULL;
    int n = saved_source(a, sizeof(a));
    size_t armed = 0;
    struct vm *vm = platform();
    for (int i = 0; i + 4 <= n && !armed; i++)      /* the LAPIC's tag, then version, state, the flag */
        if (!memcmp(a + i, "\x43\x50\x41\x4c", 4))
            armed = (size_t)i + 8 + sizeof(struct lapic_state);
    CHECK_EQ(a[armed], 1);
    a[armed] = 2;
    CHECK_EQ(walk(vm, a, (size_t)n, 0, &why), -22);
    CHECK_STR(why, "LAPIC timer flag out of range");
    CHECK(walk(vm, a, (size_t)n - 1, 0, NULL) < 0);  /* truncated */
    fake_vm_free(vm);
}

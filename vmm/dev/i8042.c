/* i8042 keyboard controller (no keyboard or mouse attached): Linux's probe, config byte, reset via 0xFE. */
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "vmm/dev/devices.h"
#include "kernel/errno.h"

#define KBC_STATE_VERSION 1
#define ST_OBF   0x01
#define ST_SYS   0x04
#define ST_CMD   0x08
#define ST_UNLOCKED 0x10                 /* keyboard inhibit switch off (Linux warns "Keylock active" without) */
#define ST_AUX   0x20
#define CFG_KINT 0x01
#define CFG_AINT 0x02

struct i8042_state {
    uint8_t status, config, out, pending_cmd, outport;
};

struct i8042 {
    struct i8042_state s;
    struct vm *vm;
};

static void kbc_irq(struct i8042 *k)
{
    int full = k->s.status & ST_OBF, aux = k->s.status & ST_AUX;
    vm_irq_set(k->vm, 1, full && !aux && (k->s.config & CFG_KINT));
    vm_irq_set(k->vm, 12, full && aux && (k->s.config & CFG_AINT));
}

static void kbc_put(struct i8042 *k, uint8_t v, int aux)
{
    k->s.out = v;
    k->s.status = (uint8_t)((k->s.status & ~ST_AUX) | ST_OBF | (aux ? ST_AUX : 0));
}

static void kbc_reset(struct i8042 *k)
{
    if (vm_platform_reset(k->vm))
        return;
    vm_stop(k->vm, 0, "reset by guest (i8042)");
}

/* Controller commands on port 0x64. */
static void kbc_command(struct i8042 *k, uint8_t cmd)
{
    k->s.status |= ST_CMD;
    switch (cmd) {
    case 0x20: kbc_put(k, k->s.config, 0); break;
    case 0xa7: k->s.config |= 0x20; break;               /* disable the AUX port */
    case 0xa8: k->s.config &= (uint8_t)~0x20; break;
    case 0xa9: kbc_put(k, 0x00, 0); break;               /* AUX interface test: OK */
    case 0xaa: kbc_put(k, 0x55, 0); k->s.status |= ST_SYS; break;   /* self-test passed */
    case 0xab: kbc_put(k, 0x00, 0); break;               /* keyboard interface test: OK */
    case 0xad: k->s.config |= 0x10; break;               /* disable the keyboard */
    case 0xae: k->s.config &= (uint8_t)~0x10; break;
    case 0xc0: kbc_put(k, 0x00, 0); break;               /* input port */
    case 0xd0: kbc_put(k, k->s.outport, 0); break;
    case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4: k->s.pending_cmd = cmd; break;
    case 0xfe: kbc_reset(k); break;                      /* pulse the reset line */
    default: break;
    }
}

/* Data on port 0x60: a parameter of the last command, else a byte for the (absent) keyboard. */
static void kbc_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->s.pending_cmd;
    k->s.pending_cmd = 0;
    k->s.status &= (uint8_t)~ST_CMD;
    switch (cmd) {
    case 0x60: k->s.config = v; k->s.status = (uint8_t)((k->s.status & ~ST_SYS) | (v & ST_SYS)); break;
    case 0xd1:
        k->s.outport = v;
        if (!(v & 1))
            kbc_reset(k);                                /* output port bit 0 is the CPU reset line */
        break;
    case 0xd2: kbc_put(k, v, 0); break;                  /* loop back as keyboard data */
    case 0xd3: kbc_put(k, v, 1); break;                  /* loop back as AUX data */
    default: break;                                      /* nothing attached answers */
    }
}

static int kbc_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct i8042 *k = dev;
    uint64_t f = dev_lock();
    (void)size;
    if (off == 0) {
        *val = k->s.out;
        k->s.status &= (uint8_t)~(ST_OBF | ST_AUX);
    } else {
        *val = k->s.status;
    }
    kbc_irq(k);
    dev_unlock(f);
    return 0;
}

static int kbc_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct i8042 *k = dev;
    uint64_t f = dev_lock();
    (void)size;
    if (off == 0)
        kbc_data(k, (uint8_t)val);
    else
        kbc_command(k, (uint8_t)val);
    kbc_irq(k);
    dev_unlock(f);
    return 0;
}

static int data_in(void *dev, uint16_t off, int size, uint32_t *val) { (void)off; return kbc_in(dev, 0, size, val); }
static int data_out(void *dev, uint16_t off, int size, uint32_t val) { (void)off; return kbc_out(dev, 0, size, val); }
static int cmd_in(void *dev, uint16_t off, int size, uint32_t *val) { (void)off; return kbc_in(dev, 1, size, val); }
static int cmd_out(void *dev, uint16_t off, int size, uint32_t val) { (void)off; return kbc_out(dev, 1, size, val); }

/* Save or restore the controller's state (vmm/dev/snapshot.h). */
void i8042_snapshot(struct i8042_state *st, struct snap *s);
void i8042_snapshot(struct i8042_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_KBC, KBC_STATE_VERSION);
    SNAP(s, *st);
}

static void kbc_power_on(struct i8042 *k)
{
    memset(&k->s, 0, sizeof(k->s));
    k->s.config = 0x45;             /* keyboard interrupt, system flag, translation (with AUX disabled: 0x20 set below) */
    k->s.config |= 0x20;
    k->s.outport = 0x01;
    k->s.status = ST_SYS | ST_UNLOCKED;
}

static void kbc_vm_reset(struct vm *vm, void *arg)
{
    kbc_power_on(arg);
    vm_irq_set(vm, 1, 0);
    vm_irq_set(vm, 12, 0);
}

static void kbc_snap(void *dev, struct snap *s)
{
    i8042_snapshot(&((struct i8042 *)dev)->s, s);
}

int i8042_attach(struct vm *vm)
{
    struct vm_dev reg = { .name = "i8042", .snapshot = kbc_snap, .reset = kbc_vm_reset, .destroy = vm_dev_free };
    int rc;
    struct i8042 *k = vm_dev_new(vm, sizeof(*k), &reg, &rc);
    if (!k)
        return rc;
    k->vm = vm;
    kbc_power_on(k);
    struct pio_range d = { 0x60, 1, data_in, data_out, k }, c = { 0x64, 1, cmd_in, cmd_out, k };
    if ((rc = vm_register_pio(vm, &d)) < 0)
        return rc;
    return vm_register_pio(vm, &c);
}

/* Test devices for shoal's test guests: a port echo register, an MMIO register file, a one-shot timer. */
#ifndef SHOAL_VMM_TESTDEV_H
#define SHOAL_VMM_TESTDEV_H
#include <stdint.h>

#define TESTDEV_PORT      0x500      /* 4 ports: write a value, read it back at the same width */
#define TESTDEV_PORT_CNT  0x504      /* 2 ports: read the number of writes to the echo ports */
#define TESTDEV_MMIO      0xFE000000ull
#define TESTDEV_MMIO_LEN  0x1000ull  /* plain registers: each byte reads back what was written */
#define TESTDEV_DIRTY_COLLECTS 0xFF8 /* but this one: 32-bit read of the VM's `vm dirty collect` count */

struct vm;
struct vcpu;
/* Attach the test devices to vm (one registry entry: reset cancels the timers, destroy frees them).
 * 0, -EINVAL when vm runs no test guest or has them already, -ENOMEM, or the registration error. */
int testdev_attach(struct vm *vm);
/* One line describing the test devices' state for `vm stats` (empty when vm has none). */
void testdev_describe(struct vm *vm, char *buf, int size);
/* Arm (us > 0) or cancel (us == 0) the calling vCPU's one-shot timer raising vector. 0 or -EINVAL. */
int64_t testdev_timer(struct vcpu *v, uint8_t vector, uint64_t us);
#endif

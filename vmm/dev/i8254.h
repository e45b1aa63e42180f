/* i8254 PIT model: state record and entry points shared with its unit tests. */
#ifndef SHOAL_VMM_I8254_H
#define SHOAL_VMM_I8254_H
#include <stdint.h>
#include "kernel/time.h"
#include "vmm/dev/snapshot.h"

#define PIT_HZ 1193182ull
#define PIT_STATE_VERSION 1

struct pit_channel {
    uint64_t load_ns;                /* time_ns() when counting from reload started */
    uint32_t reload;                 /* 1..65536 */
    uint16_t latch;
    uint8_t mode, rw, bcd, latched, status, status_latched, read_hi, write_hi, write_lsb, gate, armed;
};

struct pit_state {
    struct pit_channel ch[3];
    uint8_t port61;                  /* bits 0 (ch2 gate) and 1 (speaker) as written */
    uint8_t refresh;
};

struct pit {
    struct pit_state s;
    struct vm *vm;
    struct timer timer;              /* channel 0's next terminal count */
};

/* Port access: off 0-3 for 0x40-0x43. */
uint8_t pit_read(struct pit *p, int off);
void pit_write(struct pit *p, int off, uint8_t val);
uint8_t pit_port61_read(struct pit *p);
void pit_port61_write(struct pit *p, uint8_t val);
/* Channel ch's current count and OUT pin at time_ns(). */
uint16_t pit_count(const struct pit *p, int ch);
int pit_out(const struct pit *p, int ch);
void pit_snapshot(struct pit_state *st, struct snap *s);
#endif

/* A fake VM for virtio host tests: RAM is one host buffer; MMIO windows, destroy hooks and interrupts are recorded. */
#ifndef SHOAL_TESTS_VIRTIO_FAKE_H
#define SHOAL_TESTS_VIRTIO_FAKE_H
#include <stdint.h>
#include "vmm/vm.h"
#include "vmm/dev/virtqueue.h"

struct blk_dev;

#define RAM_SIZE (1u << 20)
extern struct vm fvm;
extern uint8_t *ram;
extern int irq_pulses, last_gsi;
/* Holds on the VM's RAM (gmem_hold minus gmem_unhold): requests still writing into guest pages. */
extern int fake_ram_holds;

/* When set, called on every device write into guest memory through gpa_write (fuzzers check when). */
extern void (*fake_write_hook)(uint64_t gpa, size_t len);
/* Pages the devices marked dirty (gpa_write, gpa_ptr_w, gmem_mark_dirty), one byte a page; tests clear it. */
extern uint8_t fake_dirty[RAM_SIZE / 4096];
/* A fresh VM of RAM_SIZE zeroed bytes, no windows, no hooks. */
/* The CPU the fake vCPU's exits run on (0: the boot CPU, the default) and the kicks each CPU got. */
extern int fake_cpu, fake_kicks[4];
void fake_vm_new(void);
/* Run the destroy hooks, newest first (as vm_destroy does). */
void fake_vm_destroy(void);

/* Rings of queue 0: desc table at 0x1000, avail at 0x2000, used at 0x3000, QN entries. */
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define QN 8
void desc_set(uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Put head on the avail ring at avail (ring of QN entries) and bump its index. */
void avail_push_at(uint64_t avail, uint16_t head);
void avail_push(uint16_t head);
uint16_t used_idx(void);
uint32_t used_len(int i);
uint32_t used_id(int i);
/* A ready queue state over the rings above, on a fresh VM. */
struct vq_state q_new(void);

/* The device window of the last attach (slot 0 unless set), read and written 32 bits wide. */
extern struct mmio_range *win;
uint32_t rd32(uint64_t off);
void wr32(uint64_t off, uint32_t v);
/* Attach a virtio-blk over disk in slot 0 and run the driver's setup (3.1.1); returns the status read back. */
uint32_t blk_setup(struct blk_dev *disk, int version_1);
/* Reset the device in win and run the driver's setup with queue 0 over the rings above; the status read back. */
uint32_t driver_init(int version_1);
/* Set up queue q (selected) with QN entries over desc/avail/used and make it ready. */
void queue_setup(int q, uint64_t desc, uint64_t avail, uint64_t used);
/* Submit one request: header (type, sector), data at 0x20000 of len bytes, status byte at 0x30000;
 * returns the status byte (0xee while the request is in flight). */
uint8_t blk_req(uint32_t type, uint64_t sector, uint32_t len, int data_write);
#endif

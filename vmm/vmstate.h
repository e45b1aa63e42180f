/* A whole VM's state record (vCPUs and devices; RAM travels apart) and its local copy of RAM. */
#ifndef SHOAL_VMM_VMSTATE_H
#define SHOAL_VMM_VMSTATE_H
#include <stddef.h>
#include <stdint.h>
#include "vmm/vm.h"
#include "vmm/dev/snapshot.h"

#define SNAP_TAG_VM        0x54534d56u      /* "VMST" */
#define VM_STATE_VERSION   1
#define VM_STATE_NAME      16               /* bytes per device name in the header */

/* Bytes a save buffer for vm needs at most. */
size_t vm_state_max(const struct vm *vm);
/*
 * Every device in the registry asked to quiesce: how many requests are still in flight (0: the VM's
 * state can be saved). The VM must be paused.
 */
int vm_state_quiesce(struct vm *vm);
/*
 * Save vm (paused, quiesced) into s: header (magic, version, RAM size, vCPU count, device count and
 * names in registry order), every vCPU record, every device record (length-prefixed). Runs with
 * interrupts off so no timer moves state between the records. Returns s->err (0, -ENOSPC, -EBUSY when a
 * device still has requests in flight).
 */
int vm_state_save(struct vm *vm, struct snap *s);
/*
 * Load a record into vm, a VM created with the same configuration that has not run: refuses (-EINVAL,
 * -EPROTO for another version) a header that does not match vm, and any record its vCPU or device
 * check refuses, with a one-line reason in why[n]. On success every device's post_restore hook has run
 * (timers re-armed relative to now, interrupt lines raised again). On failure vm must be destroyed.
 */
int vm_state_restore(struct vm *vm, struct snap *s, char *why, size_t n);
/* Copy src's RAM into dst's (same size; neither running). 0 or -EINVAL. */
int vm_ram_copy(struct vm *dst, struct vm *src);
/* Offset of vCPU 0's record in a record of vm (the header's size): tests corrupt fields by offset. */
size_t vm_state_vcpu_offset(const struct vm *vm);
#endif

/* `vm move` (save a VM, restore it into a new one on this host) and `vm memhash` (hashes of a paused VM's RAM). */
#ifndef SHOAL_VMM_STATECMD_H
#define SHOAL_VMM_STATECMD_H
#include "vmm/vm.h"

/* `vm create NAME ...` (vmm/cmds.c): creates the VM and records its arguments for vm move. 0 or -errno. */
int vm_create_cmd(int argc, char **argv);
/* Keep argv[0..argc) (what followed the name in `vm create`) in vm. Too long: none kept (no move). */
void vm_record_create_args(struct vm *vm, int argc, char **argv);
/*
 * `vm move NAME NEWNAME [hold] [corrupt=rflags]`: pause NAME, save it, create NEWNAME with NAME's
 * creation arguments, copy RAM, restore, start NEWNAME and destroy NAME. hold leaves both paused (and
 * NAME in place) for `vm memhash`; corrupt=rflags (tests) sets reserved RFLAGS bits of vCPU 0 in the
 * record. Any failure destroys NEWNAME and resumes NAME unchanged, with one "error: vm move" line.
 * `vm memhash NAME [CHUNK]`: SHA-256 of each CHUNK (default 2M) of a paused VM's RAM, then the total.
 */
int vm_state_cmd(int argc, char **argv);
#endif

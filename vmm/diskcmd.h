/* `vm disk NAME ...`: a VM's disk driven from the shell, without the guest. */
#ifndef SHOAL_VMM_DISKCMD_H
#define SHOAL_VMM_DISKCMD_H
/*
 * `vm disk NAME read OFF LEN` (hex dump, up to 4 KiB), `vm disk NAME write OFF LEN BYTE` (fill; OFF and LEN
 * multiples of 512), `vm disk NAME sha256 [OFF LEN]` (default: the whole disk). Synchronous, polling the
 * network while it waits. Returns 0 or a negative errno after a one-line error.
 */
int vm_disk_cmd(int argc, char **argv);
#endif

/* `vm dirty NAME ...`: a VM's dirty-page log driven from the shell (tests, migration debugging). */
#ifndef SHOAL_VMM_DIRTYCMD_H
#define SHOAL_VMM_DIRTYCMD_H
/*
 * `vm dirty NAME start [check]` (write-protect all RAM, empty log; `check` also keeps a CRC32C of every
 * page), `vm dirty NAME collect [list]` (print the number of pages written since the last collect and
 * the SHA-256 of their page numbers, ascending, each as 8 little-endian bytes; `list` prints the page
 * numbers first; then protect them again; under `check` a line with the pages whose content changed
 * without being reported), `vm dirty NAME stop`. argv[0] is "vm". Returns 0 or a negative errno after a one-line error.
 */
int vm_dirty_cmd(int argc, char **argv);
#endif

/* Kernel-wide odds and ends: panic, the boot information, boot-time actions. */
#ifndef SHOAL_KERNEL_H
#define SHOAL_KERNEL_H
#include "kernel/bootinfo.h"

extern struct boot_info boot_info;

/* A broken hypervisor invariant: print the message and a backtrace, stop this CPU. Never for guest or peer errors. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The boot command line without the loader's path or URL prefix. */
const char *kernel_boot_params(void);
/*
 * The boot module called name: its whole loader string ("disk.img label"), the first word of it, or
 * that word's basename ("build/x/disk.img" matches "disk.img"). NULL when there is none.
 */
const struct boot_module *boot_module_find(const char *name);
/* Actions the boot command line asked for once the system is up (e.g. fault=). */
void kernel_run_boot_actions(void);
#endif

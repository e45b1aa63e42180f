/* CPU report (placeholder until the full report lands). */
#include "arch/x86/cpuinfo.h"
#include "kernel/printf.h"
static struct cpu_info ci;
void cpuinfo_detect(void) {}
const struct cpu_info *cpuinfo_get(void) { return &ci; }
void cpuinfo_print(void) { kprintf("cpu: ?\n"); }

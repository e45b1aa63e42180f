/* Kernel symbol lookup over the sorted table tools/gen-ksyms.sh emits into the .ksyms section. */
#include "kernel/ksyms.h"

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addr[];
extern const uint32_t ksyms_name_off[];
extern const char ksyms_names[];
extern const char __text_end[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
    uint64_t lo = 0, hi = ksyms_count;
    if (!hi || addr < ksyms_addr[0] || addr >= (uint64_t)(uintptr_t)__text_end)
        return 0;
    while (hi - lo > 1) {       /* last entry with ksyms_addr <= addr */
        uint64_t mid = (lo + hi) / 2;
        if (ksyms_addr[mid] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *offset = addr - ksyms_addr[lo];
    return ksyms_names + ksyms_name_off[lo];
}

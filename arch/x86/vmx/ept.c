/* EPT entry format (SDM 3C 29.3.2): R/W/X bits, write-back memory type on leaves. */
#include "arch/x86/vmx/vmx.h"

#define EPT_R     0x1ull
#define EPT_W     0x2ull
#define EPT_X     0x4ull
#define EPT_WB    (6ull << 3)
#define EPT_LARGE 0x80ull

static uint64_t ept_leaf(int prot)
{
    return ((prot & HVM_R) ? EPT_R : 0) | ((prot & HVM_W) ? EPT_W : 0) | ((prot & HVM_X) ? EPT_X : 0) | EPT_WB;
}

const struct slpt_fmt ept_fmt = {
    .table = EPT_R | EPT_W | EPT_X,
    .leaf = ept_leaf,
    .write = EPT_W,
    .large = EPT_LARGE,
};

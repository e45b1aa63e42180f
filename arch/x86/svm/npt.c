/* NPT entry format: ordinary long-mode page-table entries, user bit set (APM vol. 2, 15.25.5). */
#include "arch/x86/svm/svm.h"
#include "arch/x86/hvm.h"
#include "arch/x86/paging.h"

/* Nested walks are user accesses: every level needs U. */
static uint64_t npt_leaf(int prot)
{
    return PTE_P | PTE_U | ((prot & HVM_W) ? PTE_W : 0);
}

const struct slpt_fmt npt_fmt = {
    .table = PTE_P | PTE_W | PTE_U,
    .leaf = npt_leaf,
    .write = PTE_W,
    .large = PTE_PS,
};

/* Per-CPU tag generations for SVM ASIDs and VMX VPIDs (see asid.h; APM 15.16, SDM 3C 29.1). */
#include "arch/x86/asid.h"

enum asid_result asid_enter(struct asid_cpu *c, struct asid_vcpu *v, int cpu, uint32_t max)
{
    enum asid_result r = ASID_FRESH;
    if (v->cpu == cpu && v->gen == c->gen && c->next)
        return ASID_KEPT;
    if (!c->next || c->next >= max) {
        c->gen++;
        c->next = 1;
        r = ASID_FLUSH_ALL;
    }
    v->asid = c->next++;
    v->cpu = cpu;
    v->gen = c->gen;
    return r;
}

/* Address-space tags (SVM ASIDs, VMX VPIDs): each CPU hands out its own, in generations, so no two vCPUs share one there. */
#ifndef SHOAL_ARCH_ASID_H
#define SHOAL_ARCH_ASID_H
#include <stdint.h>

/*
 * A TLB entry is tagged with the ASID it was made under (APM 15.16; on Intel the VPID, with the EPTP: SDM
 * 3C 29.4), and the tag is all that keeps one vCPU from using another's translations. Tags are per CPU: a
 * CPU gives a vCPU that enters it a tag nobody has had there since its last full flush, and the vCPU keeps
 * it while it stays. When the CPU runs out, it starts a new generation: one flush of every tag, then the
 * tags are handed out again. A vCPU's tag is good only on the CPU and in the generation it got it;
 * elsewhere it gets a new one (so a vCPU that comes back never finds what it cached before it left, nor
 * another vCPU's entries).
 */
struct asid_cpu {
    uint32_t next;              /* the next tag to hand out (0: no generation begun yet) */
    uint32_t gen;
};

struct asid_vcpu {
    uint32_t asid;              /* its tag on cpu, in generation gen */
    int cpu;                    /* -1: none yet */
    uint32_t gen;
};

enum asid_result {
    ASID_KEPT,                  /* the vCPU entered this CPU last with this tag: its own entries only */
    ASID_FRESH,                 /* a new tag, unused since the last full flush: nothing to flush */
    ASID_FLUSH_ALL,             /* a new generation began: flush every tag's entries before this entry */
};

/* Before vCPU v enters CPU c (index cpu) of a machine with tags 1..max-1: set v->asid. */
enum asid_result asid_enter(struct asid_cpu *c, struct asid_vcpu *v, int cpu, uint32_t max);
#endif

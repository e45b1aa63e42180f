/* SVM ASID tags (arch/x86/asid.c) against a model of tagged TLBs: no vCPU ever finds another's entries. */
#include "tests/unit/test.h"
#include "arch/x86/asid.h"

#define CPUS   4
#define MAXID  16               /* QEMU's EPYC model: tags 1..15 */
#define VCPUS  40

/* What each CPU's TLB holds per tag: the vCPU (id + 1) whose entries they are, 0 for none. */
static int tlb[CPUS][MAXID];

/* Enter vCPU id on cpu: apply the flush asked for, check the tag holds no other vCPU's entries, cache. */
static int enter(struct asid_cpu *cpus, struct asid_vcpu *v, int id, int cpu)
{
    enum asid_result r = asid_enter(&cpus[cpu], v, cpu, MAXID);
    int ok = v->asid >= 1 && v->asid < MAXID;
    if (r == ASID_FLUSH_ALL)
        for (int t = 0; t < MAXID; t++)
            tlb[cpu][t] = 0;
    if (ok && tlb[cpu][v->asid] && tlb[cpu][v->asid] != id + 1)
        ok = 0;
    if (ok)
        tlb[cpu][v->asid] = id + 1;
    return ok;
}

TEST(asid_first_entry_flushes_then_keeps)
{
    struct asid_cpu cpus[CPUS] = { { 0 } };
    struct asid_vcpu a = { .cpu = -1 }, b = { .cpu = -1 };
    CHECK_EQ(asid_enter(&cpus[0], &a, 0, MAXID), ASID_FLUSH_ALL);   /* whatever the CPU held before boot */
    CHECK_EQ(a.asid, 1);
    CHECK_EQ(asid_enter(&cpus[0], &a, 0, MAXID), ASID_KEPT);
    CHECK_EQ(asid_enter(&cpus[0], &b, 0, MAXID), ASID_FRESH);
    CHECK_EQ(b.asid, 2);
    CHECK_EQ(asid_enter(&cpus[1], &a, 1, MAXID), ASID_FLUSH_ALL);   /* CPU 1's own first generation */
    CHECK_EQ(a.asid, 1);
    CHECK_EQ(asid_enter(&cpus[0], &a, 0, MAXID), ASID_FRESH);       /* back: a new tag, not its old one */
    CHECK_EQ(a.asid, 3);
}

TEST(asid_new_generation_when_tags_run_out)
{
    struct asid_cpu c = { 0 };
    struct asid_vcpu v[MAXID];
    for (int i = 0; i < MAXID; i++)
        v[i] = (struct asid_vcpu){ .cpu = -1 };
    for (int i = 0; i < MAXID - 1; i++)
        CHECK_EQ(asid_enter(&c, &v[i], 0, MAXID), i ? ASID_FRESH : ASID_FLUSH_ALL);
    CHECK_EQ(asid_enter(&c, &v[MAXID - 1], 0, MAXID), ASID_FLUSH_ALL);   /* the 16th vCPU: tag 1 again */
    CHECK_EQ(v[MAXID - 1].asid, 1);
    CHECK_EQ(asid_enter(&c, &v[0], 0, MAXID), ASID_FRESH);          /* old generation: a new tag */
    CHECK_EQ(v[0].asid, 2);
}

/* Clones come and go, vCPUs move between CPUs: thousands of entries, far more vCPUs over time than tags. */
TEST(asid_model_no_entry_of_another_vcpu)
{
    struct asid_cpu cpus[CPUS] = { { 0 } };
    struct asid_vcpu v[VCPUS];
    unsigned seed = 12345, bad = 0, flushes = 0, created = VCPUS;
    for (int i = 0; i < VCPUS; i++)
        v[i] = (struct asid_vcpu){ .cpu = -1 };
    for (int step = 0; step < 200000; step++) {
        seed = seed * 1103515245u + 12345u;
        int id = (int)((seed >> 8) % VCPUS), cpu = (int)((seed >> 20) % CPUS);
        if ((seed >> 4) % 97 == 0) {                 /* destroyed; a new vCPU in its place */
            v[id] = (struct asid_vcpu){ .cpu = -1 };
            created++;
            for (int c = 0; c < CPUS; c++)           /* its entries stay cached under its old tags */
                for (int t = 0; t < MAXID; t++)
                    if (tlb[c][t] == id + 1)
                        tlb[c][t] = VCPUS + 1 + (int)created;
        }
        if ((seed >> 12) % 5 == 0)                   /* most slices stay where they ran last */
            cpu = v[id].cpu >= 0 ? v[id].cpu : cpu;
        flushes += v[id].cpu >= 0 && cpus[cpu].next >= MAXID;
        bad += !enter(cpus, &v[id], id, cpu);
    }
    CHECK_EQ(bad, 0);
    CHECK(flushes > 100);                            /* the tags ran out many times */
    CHECK(created > 1000);
}

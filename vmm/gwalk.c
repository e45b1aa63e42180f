/* Guest page-table walker: paging off, 32-bit, PAE and 4-level long mode (SDM 3A 4.3, 4.4, 4.5, 4.6). */
#include "vmm/gwalk.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"

#define INSN_FETCH_MAX 15


/* Physical-address bits of an entry below bit 52 (M = GWALK_PHYS_BITS). */
#define PHYS_MASK (((1ull << GWALK_PHYS_BITS) - 1) & ~0xfffull)
/* Bits M..51: reserved in every PAE / 4-level entry. */
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << GWALK_PHYS_BITS) - 1))

uint64_t guest_linear(const struct guest_regs *r, int seg, uint64_t offset)
{
    const struct seg *s;
    switch (seg) {
    case SEG_ES: s = &r->es; break;
    case SEG_CS: s = &r->cs; break;
    case SEG_SS: s = &r->ss; break;
    case SEG_FS: s = &r->fs; break;
    case SEG_GS: s = &r->gs; break;
    default:     s = &r->ds; break;
    }
    if (guest_cpu_mode(r) == 64)
        return (seg == SEG_FS || seg == SEG_GS) ? s->base + offset : offset;
    return (uint32_t)(s->base + offset);
}

/* Walk state: accumulated permissions across levels and what the access needs. */
struct walk {
    const struct guest_regs *r;
    gwalk_read_fn read;
    void *ctx;
    int access;
    int nx_on;          /* EFER.NXE in a PAE/4-level walk: bit 63 is XD, else reserved */
    uint64_t perm_w, perm_u, perm_nx;
};

static int read_entry(struct walk *w, uint64_t gpa, int size, uint64_t *e)
{
    uint32_t e32;
    if (size == 4) {
        int rc = w->read(w->ctx, gpa, &e32, 4);
        *e = e32;
        return rc;
    }
    return w->read(w->ctx, gpa, e, 8);
}

/* Fold one entry's R/W, U/S and XD into the walk (the strictest level wins, SDM 3A 4.6.1). */
static void walk_accumulate(struct walk *w, uint64_t e)
{
    w->perm_w &= e & PTE_W;
    w->perm_u &= e & PTE_U;
    if (w->nx_on)
        w->perm_nx |= e & PTE_NX;
}

/* Check the final permissions (SDM 3A 4.6); returns 0 or -EFAULT. */
static int walk_check(struct walk *w)
{
    const struct guest_regs *r = w->r;
    int user = w->access & GWALK_USER;

    if ((w->access & GWALK_FETCH) && w->perm_nx)
        return -EFAULT;
    if (user) {
        if (!w->perm_u)
            return -EFAULT;
        if ((w->access & GWALK_WRITE) && !w->perm_w)
            return -EFAULT;
        return 0;
    }
    if ((w->access & GWALK_WRITE) && !w->perm_w && (r->cr0 & CR0_WP))
        return -EFAULT;
    if (w->perm_u && (w->access & GWALK_FETCH) && (r->cr4 & CR4_SMEP))
        return -EFAULT;
    if (w->perm_u && !(w->access & GWALK_FETCH) && (r->cr4 & CR4_SMAP) && !(r->rflags & RFLAGS_AC))
        return -EFAULT;
    return 0;
}

/* 32-bit paging: 4 KiB pages, or 4 MiB pages with CR4.PSE (PSE-36 high bits 13-20). */
static int walk_32(struct walk *w, uint64_t va, uint64_t *pa, int *rsvd)
{
    uint64_t pde, pte;
    uint64_t pd = w->r->cr3 & 0xfffff000ull;
    int rc = read_entry(w, pd + ((va >> 22) & 0x3ff) * 4, 4, &pde);
    if (rc)
        return rc;
    if (!(pde & PTE_P))
        return -EFAULT;
    walk_accumulate(w, pde);
    if ((pde & PTE_PS) && (w->r->cr4 & CR4_PSE)) {
        if (pde & (1ull << 21)) {
            *rsvd = 1;
            return -EINVAL;
        }
        *pa = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32) | (va & 0x3fffff);
        return 0;
    }
    if ((rc = read_entry(w, (pde & 0xfffff000ull) + ((va >> 12) & 0x3ff) * 4, 4, &pte)))
        return rc;
    if (!(pte & PTE_P))
        return -EFAULT;
    walk_accumulate(w, pte);
    *pa = (pte & 0xfffff000ull) | (va & 0xfff);
    return 0;
}

/* Reserved bits of a 64-bit entry at level (4 = PML4 .. 1 = PT) beyond the physical-address width. */
static uint64_t rsvd_bits(const struct walk *w, int level, uint64_t e)
{
    uint64_t rs = RSVD_HIGH | (w->nx_on ? 0 : PTE_NX);
    if (level == 4)
        rs |= PTE_PS;
    else if (level == 3 && (e & PTE_PS))
        rs |= 0x3fffe000ull;        /* 1 GiB page: bits 29:13 */
    else if (level == 2 && (e & PTE_PS))
        rs |= 0x1fe000ull;          /* 2 MiB page: bits 20:13 */
    return rs;
}

/* The PAE and 4-level walk below the top: levels from `level` down to the PT (SDM 3A 4.4.2, 4.5.4). */
static int walk_levels(struct walk *w, uint64_t table, int level, uint64_t va, uint64_t *pa, int *rsvd)
{
    for (; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        uint64_t e;
        int rc = read_entry(w, table + ((va >> shift) & 0x1ff) * 8, 8, &e);
        if (rc)
            return rc;
        if (!(e & PTE_P))
            return -EFAULT;
        if (e & rsvd_bits(w, level, e)) {
            *rsvd = 1;
            return -EINVAL;
        }
        walk_accumulate(w, e);
        if (level == 1 || ((e & PTE_PS) && level <= 3)) {
            uint64_t off = (1ull << shift) - 1;
            *pa = (e & PHYS_MASK & ~off) | (va & off);
            return 0;
        }
        table = e & PHYS_MASK;
    }
    return -EINVAL;
}

/* PAE: four PDPTEs at CR3[31:5]; a PDPTE has no R/W, U/S or XD and reserves bits 1-2, 5-8, 63. */
static int walk_pae(struct walk *w, uint64_t va, uint64_t *pa, int *rsvd)
{
    uint64_t pdpte;
    int rc = read_entry(w, (w->r->cr3 & 0xffffffe0ull) + ((va >> 30) & 3) * 8, 8, &pdpte);
    if (rc)
        return rc;
    if (!(pdpte & PTE_P))
        return -EFAULT;
    if (pdpte & (RSVD_HIGH | PTE_NX | 0x1e6ull)) {
        *rsvd = 1;
        return -EINVAL;
    }
    return walk_levels(w, pdpte & PHYS_MASK, 2, va & 0xffffffffull, pa, rsvd);
}

/* #PF error code for a failed walk (SDM 3A 4.7): I/D only when NX or SMEP is in force. */
static uint32_t walk_errcode(const struct walk *w, int present, int rsvd)
{
    uint32_t err = (uint32_t)w->access & (PFERR_W | PFERR_U | PFERR_I);
    if (!w->nx_on && !(w->r->cr4 & CR4_SMEP))
        err &= ~(uint32_t)PFERR_I;
    if (rsvd)
        err |= PFERR_RSVD | PFERR_P;
    else if (present)
        err |= PFERR_P;
    return err;
}

int guest_walk(const struct guest_regs *r, uint64_t gva, int access, gwalk_read_fn read_gpa, void *ctx,
               uint64_t *gpa_out, uint32_t *pf_err)
{
    struct walk w = { .r = r, .read = read_gpa, .ctx = ctx, .access = access,
                      .perm_w = PTE_W, .perm_u = PTE_U };
    int rc, rsvd = 0, present = 0;
    uint64_t pa = 0;

    if (pf_err)
        *pf_err = 0;
    if (!(r->cr0 & CR0_PG)) {
        *gpa_out = gva & 0xffffffffull;
        return 0;
    }
    if (!(r->cr4 & CR4_PAE)) {
        rc = walk_32(&w, gva & 0xffffffffull, &pa, &rsvd);
    } else {
        w.nx_on = (r->efer & EFER_NXE) != 0;
        if (!(r->efer & EFER_LMA)) {
            rc = walk_pae(&w, gva, &pa, &rsvd);
        } else if (r->cr4 & CR4_LA57) {
            return -ENOTSUP;
        } else if (!canonical(gva)) {
            return -ERANGE;
        } else {
            rc = walk_levels(&w, r->cr3 & PHYS_MASK, 4, gva, &pa, &rsvd);
        }
    }
    if (!rc) {
        present = 1;
        rc = walk_check(&w);
    }
    if (rc == -EFAULT || rc == -EINVAL) {
        if (pf_err)
            *pf_err = walk_errcode(&w, present, rsvd);
        return rc;
    }
    if (rc)
        return rc;
    *gpa_out = pa;
    return 0;
}

/* Fetch privilege: CPL is CS.DPL (attr bits 5-6) once protected mode is on. */
static int fetch_access(const struct guest_regs *r)
{
    int cpl = (r->cr0 & 1) ? (r->cs.attr >> 5) & 3 : 0;
    return GWALK_FETCH | (cpl == 3 ? GWALK_USER : 0);
}

int guest_read_insn(const struct guest_regs *r, gwalk_read_fn read_gpa, void *ctx, uint8_t buf[15],
                    size_t *got, uint32_t *pf_err)
{
    int mode = guest_cpu_mode(r);
    uint64_t ip = mode == 64 ? r->rip : mode == 32 ? (uint32_t)r->rip : (uint16_t)r->rip;
    uint64_t lin = guest_linear(r, SEG_CS, ip);
    size_t n = 0;

    *got = 0;
    if (pf_err)
        *pf_err = 0;
    while (n < INSN_FETCH_MAX) {
        uint64_t gpa, la = mode == 64 ? lin + n : (uint32_t)(lin + n);
        size_t chunk = 0x1000 - (la & 0xfff);
        int rc = guest_walk(r, la, fetch_access(r), read_gpa, ctx, &gpa, n ? NULL : pf_err);
        if (chunk > INSN_FETCH_MAX - n)
            chunk = INSN_FETCH_MAX - n;
        if (!rc)
            rc = read_gpa(ctx, gpa, buf + n, chunk);
        if (rc)
            return n ? 0 : rc;      /* the second page failing leaves a short fetch */
        n += chunk;
        *got = n;
    }
    return 0;
}

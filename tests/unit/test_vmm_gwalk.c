/* Host unit tests of the guest page walker and instruction fetch over fake guest memory. */
#define TEST_SUITE "vmm_gwalk"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "vmm/gwalk.h"
#include "vmm/decode.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"

#define GMEM_SIZE (4u << 20)

static uint8_t *gmem;
static int reads;

static int gmem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    (void)ctx;
    reads++;
    if (gpa >= GMEM_SIZE || len > GMEM_SIZE - gpa)
        return -EIO;
    memcpy(buf, gmem + gpa, len);
    return 0;
}

static void put32(uint64_t gpa, uint32_t v) { memcpy(gmem + gpa, &v, 4); }
static void put64(uint64_t gpa, uint64_t v) { memcpy(gmem + gpa, &v, 8); }

#define P  0x1ull
#define W  0x2ull
#define U  0x4ull
#define PS 0x80ull
#define NX (1ull << 63)

static void mem_reset(struct guest_regs *r)
{
    if (!gmem)
        gmem = malloc(GMEM_SIZE);
    memset(gmem, 0, GMEM_SIZE);
    memset(r, 0, sizeof(*r));
    reads = 0;
}

/* Walk and return rc; *gpa and *err filled. */
static int walk(const struct guest_regs *r, uint64_t va, int acc, uint64_t *gpa, uint32_t *err)
{
    *gpa = 0xdeadbeef;
    return guest_walk(r, va, acc, gmem_read, NULL, gpa, err);
}

TEST(paging_off_is_identity)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    mem_reset(&r);
    CHECK_EQ(walk(&r, 0x12345678, GWALK_WRITE, &gpa, &err), 0);
    CHECK_U64(gpa, 0x12345678);
    r.cr0 = CR0_PE;
    CHECK_EQ(walk(&r, 0x1fffff000ull, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0xfffff000);
    CHECK_EQ(reads, 0);
}

/* 32-bit paging: PD at 0x1000, PT at 0x2000. */
static void setup_32(struct guest_regs *r)
{
    mem_reset(r);
    r->cr0 = CR0_PE | CR0_PG | CR0_WP;
    r->cr3 = 0x1000;
    put32(0x1000 + 1 * 4, 0x2000 | P | W | U);
    put32(0x2000 + 5 * 4, 0x7000 | P | W | U);
    put32(0x2000 + 6 * 4, 0x8000 | P);            /* read-only, supervisor */
}

TEST(paging32_4k)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    setup_32(&r);
    CHECK_EQ(walk(&r, (1u << 22) | (5u << 12) | 0x123, GWALK_WRITE | GWALK_USER, &gpa, &err), 0);
    CHECK_U64(gpa, 0x7123);
    CHECK_EQ(walk(&r, (1u << 22) | (6u << 12) | 0x10, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0x8010);
    CHECK_EQ(walk(&r, (1u << 22) | (6u << 12), GWALK_WRITE, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_W);
    CHECK_EQ(walk(&r, (1u << 22) | (6u << 12), GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_U);
    CHECK_EQ(walk(&r, (1u << 22) | (7u << 12), GWALK_WRITE | GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_W | PFERR_U);                 /* not present */
    CHECK_EQ(walk(&r, 3u << 22, GWALK_READ, &gpa, &err), -EFAULT);
    CHECK_EQ(err, 0);
    CHECK_EQ(walk(&r, (1u << 22) | (6u << 12), GWALK_FETCH, &gpa, &err), 0);   /* no NX here */
    r.cr0 &= ~CR0_WP;                                 /* supervisor may write read-only pages */
    CHECK_EQ(walk(&r, (1u << 22) | (6u << 12), GWALK_WRITE, &gpa, &err), 0);
}

TEST(paging32_4m_pse)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    setup_32(&r);
    put32(0x1000 + 2 * 4, 0x00c00000 | (0x3u << 13) | PS | P | W);   /* PSE-36: bits 33:32 = 3 */
    r.cr4 = CR4_PSE;
    CHECK_EQ(walk(&r, (2u << 22) | 0x12345, GWALK_WRITE, &gpa, &err), 0);
    CHECK_U64(gpa, 0x300c12345ull);
    put32(0x1000 + 2 * 4, 0x00c00000 | (1u << 21) | PS | P);          /* bit 21 reserved */
    CHECK_EQ(walk(&r, 2u << 22, GWALK_READ, &gpa, &err), -EINVAL);
    CHECK_EQ(err, PFERR_P | PFERR_RSVD);
    put32(0x1000 + 2 * 4, 0x2000 | PS | P | W);     /* without CR4.PSE, PS is ignored: a table */
    r.cr4 = 0;
    CHECK_EQ(walk(&r, (2u << 22) | (5u << 12) | 0x9, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0x7009);
}

/* PAE: PDPT at 0x3020, PD at 0x4000, PT at 0x5000. */
static void setup_pae(struct guest_regs *r)
{
    mem_reset(r);
    r->cr0 = CR0_PE | CR0_PG | CR0_WP;
    r->cr4 = CR4_PAE;
    r->cr3 = 0x3020;
    put64(0x3020 + 1 * 8, 0x4000 | P);
    put64(0x4000 + 3 * 8, 0x5000 | P | W | U);
    put64(0x5000 + 7 * 8, 0x9000 | P | W | U);
    put64(0x4000 + 4 * 8, 0x12345600000ull | PS | P | W);
}

TEST(paging_pae)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    uint64_t va = (1u << 30) | (3u << 21) | (7u << 12) | 0x45;
    setup_pae(&r);
    CHECK_EQ(walk(&r, va, GWALK_WRITE | GWALK_USER, &gpa, &err), 0);
    CHECK_U64(gpa, 0x9045);
    CHECK_EQ(walk(&r, (1u << 30) | (4u << 21) | 0x1abcd, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0x1234561abcdull);                 /* 2 MiB page above 4 GiB */
    CHECK_EQ(walk(&r, (1u << 30) | (4u << 21), GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_U);
    CHECK_EQ(walk(&r, 2u << 30, GWALK_READ, &gpa, &err), -EFAULT);   /* PDPTE 2 not present */
    CHECK_EQ(err, 0);
    put64(0x5000 + 7 * 8, 0x9000 | P | W | U | NX);   /* XD without EFER.NXE: reserved */
    CHECK_EQ(walk(&r, va, GWALK_READ, &gpa, &err), -EINVAL);
    CHECK_EQ(err, PFERR_P | PFERR_RSVD);
    r.efer = EFER_NXE;
    CHECK_EQ(walk(&r, va, GWALK_READ, &gpa, &err), 0);
    CHECK_EQ(walk(&r, va, GWALK_FETCH, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_I);
    put64(0x3020 + 1 * 8, 0x4000 | P | W);            /* PDPTE bit 1 is reserved in PAE */
    CHECK_EQ(walk(&r, va, GWALK_READ, &gpa, &err), -EINVAL);
    CHECK_EQ(err, PFERR_P | PFERR_RSVD);
}

/* 4-level: PML4 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000; va in the upper half (PML4 index 256). */
#define LM_BASE 0xffff800000000000ull
static void setup_lm(struct guest_regs *r)
{
    mem_reset(r);
    r->cr0 = CR0_PE | CR0_PG | CR0_WP;
    r->cr4 = CR4_PAE;
    r->efer = EFER_LME | EFER_LMA | EFER_NXE;
    r->cr3 = 0x10000;
    r->cs.attr = 1 << 9;
    put64(0x10000 + 256 * 8, 0x11000 | P | W | U);
    put64(0x11000 + 0 * 8, 0x12000 | P | W | U);
    put64(0x11000 + 1 * 8, 0x40000000ull * 5 | PS | P | W);  /* 1 GiB page */
    put64(0x12000 + 0 * 8, 0x13000 | P | W | U);
    put64(0x12000 + 1 * 8, 0x200000ull * 9 | PS | P | W | U | NX);   /* 2 MiB page, no exec */
    put64(0x13000 + 2 * 8, 0x20000 | P | W | U);
    put64(0x13000 + 3 * 8, 0x21000 | P | W);          /* supervisor */
}

TEST(paging_long_mode_sizes)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    setup_lm(&r);
    CHECK_EQ(walk(&r, LM_BASE + 0x2abc, GWALK_WRITE | GWALK_USER, &gpa, &err), 0);
    CHECK_U64(gpa, 0x20abc);
    CHECK_EQ(walk(&r, LM_BASE + 0x200000 + 0x12345, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0x200000ull * 9 + 0x12345);
    CHECK_EQ(walk(&r, LM_BASE + 0x40000000 + 0x3456789, GWALK_READ, &gpa, &err), 0);
    CHECK_U64(gpa, 0x40000000ull * 5 + 0x3456789);
    CHECK_EQ(walk(&r, LM_BASE + 0x200000, GWALK_FETCH, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_I);
    CHECK_EQ(walk(&r, LM_BASE + 0x4000, GWALK_WRITE, &gpa, &err), -EFAULT);   /* PTE 4 absent */
    CHECK_EQ(err, PFERR_W);
    CHECK_EQ(walk(&r, 0x0000800000000000ull, GWALK_READ, &gpa, &err), -ERANGE);  /* non-canonical */
    CHECK_EQ(walk(&r, 0x1000, GWALK_READ, &gpa, &err), -EFAULT);               /* PML4E 0 absent */
}

TEST(paging_long_mode_protection)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    setup_lm(&r);
    CHECK_EQ(walk(&r, LM_BASE + 0x3000, GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_U);
    put64(0x11000 + 0 * 8, 0x12000 | P | W);          /* U/S clear at the PDPTE covers all below */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_U);
    put64(0x11000 + 0 * 8, 0x12000 | P | U);          /* R/W clear at the PDPTE */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_WRITE | GWALK_USER, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_W | PFERR_U);
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_WRITE, &gpa, &err), -EFAULT);   /* WP=1 */
    put64(0x11000 + 0 * 8, 0x12000 | P | W | U | NX); /* XD at the PDPTE */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_FETCH, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_I);
    put64(0x11000 + 0 * 8, 0x12000 | P | W | U);
    r.cr4 |= CR4_SMEP;                                /* supervisor fetch from a user page */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_FETCH, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_I);
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_READ, &gpa, &err), 0);
    r.cr4 |= CR4_SMAP;                                /* supervisor data access to a user page */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_READ, &gpa, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P);
    r.rflags |= 1u << 18;                             /* ... allowed with RFLAGS.AC */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_READ, &gpa, &err), 0);
}

TEST(paging_long_mode_reserved)
{
    struct guest_regs r;
    uint64_t gpa;
    uint32_t err;
    setup_lm(&r);
    put64(0x13000 + 2 * 8, 0x20000 | (1ull << 50) | P | W | U);   /* above MAXPHYADDR */
    CHECK_EQ(walk(&r, LM_BASE + 0x2000, GWALK_WRITE, &gpa, &err), -EINVAL);
    CHECK_EQ(err, PFERR_P | PFERR_W | PFERR_RSVD);
    put64(0x11000 + 1 * 8, 0x40000000ull * 5 | (1ull << 13) | PS | P);  /* 1 GiB page bit 13 */
    CHECK_EQ(walk(&r, LM_BASE + 0x40000000, GWALK_READ, &gpa, &err), -EINVAL);
    put64(0x12000 + 1 * 8, 0x200000ull * 9 | (1ull << 20) | PS | P);    /* 2 MiB page bit 20 */
    CHECK_EQ(walk(&r, LM_BASE + 0x200000, GWALK_READ, &gpa, &err), -EINVAL);
    put64(0x10000 + 256 * 8, 0x11000 | PS | P | W | U);                /* PS in a PML4E */
    CHECK_EQ(walk(&r, LM_BASE, GWALK_READ, &gpa, &err), -EINVAL);
    CHECK_EQ(err, PFERR_P | PFERR_RSVD);
    r.efer &= ~EFER_NXE;                                               /* XD bit now reserved */
    put64(0x10000 + 256 * 8, 0x11000 | P | W | U);
    CHECK_EQ(walk(&r, LM_BASE + 0x200000, GWALK_READ, &gpa, &err), -EINVAL);
    put64(0x10000 + 256 * 8, 0x7ff000000ull | P);                      /* table outside memory */
    CHECK_EQ(walk(&r, LM_BASE, GWALK_READ, &gpa, &err), -EIO);
}

TEST(fetch_across_page_boundary)
{
    struct guest_regs r;
    uint8_t buf[15];
    size_t got;
    uint32_t err;
    struct insn in;
    setup_lm(&r);
    put64(0x13000 + 4 * 8, 0x30000 | P | W);          /* next page lives elsewhere */
    r.rip = LM_BASE + 0x3ffa;                         /* 6 bytes before the page end */
    const uint8_t insn[] = { 0xc7, 0x80, 0x10, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12 };
    memcpy(gmem + 0x21ffa, insn, 6);
    memcpy(gmem + 0x30000, insn + 6, 4);
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), 0);
    CHECK_EQ(got, 15);
    CHECK_MEM(buf, insn, sizeof(insn));
    CHECK_EQ(insn_decode(buf, got, 64, &in), 0);
    CHECK_EQ(in.len, 10);
    CHECK_U64(in.imm, 0x12345678);
    put64(0x13000 + 4 * 8, 0);                        /* second page unmapped: a short fetch */
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), 0);
    CHECK_EQ(got, 6);
    CHECK_EQ(insn_decode(buf, got, 64, &in), -EAGAIN);
    r.rip = LM_BASE + 0x4000;                         /* first page unmapped */
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), -EFAULT);
    CHECK_EQ(got, 0);
    CHECK_EQ(err, PFERR_I);
    r.rip = LM_BASE + 0x3000;                         /* CPL 3 fetch from a supervisor page */
    r.cs.attr |= 3 << 5;
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), -EFAULT);
    CHECK_EQ(err, PFERR_P | PFERR_U | PFERR_I);
}

TEST(fetch_real_and_protected_mode)
{
    struct guest_regs r;
    uint8_t buf[15];
    size_t got;
    uint32_t err;
    mem_reset(&r);
    r.cs.base = 0x10000;
    r.rip = 0x1fff0;                                  /* IP is 16 bits: 0xfff0 */
    memcpy(gmem + 0x1fff0, "\x89\x00\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90", 15);
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), 0);
    CHECK_EQ(got, 15);
    CHECK_EQ(buf[0], 0x89);
    setup_32(&r);                                     /* 32-bit paging, CS base 0x400000 */
    r.cs.attr = 1 << 10;
    r.cs.base = 1u << 22;
    r.rip = (5u << 12) + 0xff8;
    gmem[0x7ff8] = 0xab;
    gmem[0x8000] = 0xcd;
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), 0);
    CHECK_EQ(got, 15);                                /* continues into page 6 at 0x8000 */
    CHECK_EQ(buf[0], 0xab);
    CHECK_EQ(buf[8], 0xcd);
    put32(0x2000 + 6 * 4, 0);
    CHECK_EQ(guest_read_insn(&r, gmem_read, NULL, buf, &got, &err), 0);
    CHECK_EQ(got, 8);
}

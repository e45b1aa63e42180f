/* Host unit tests of the VMM instruction decoder and emulator with hand-assembled byte sequences. */
#define TEST_SUITE "vmm_decode"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "vmm/decode.h"
#include "kernel/errno.h"

/* Decode from an exact-size heap copy so ASan catches any read past avail. */
static int decode_exact(const uint8_t *b, size_t n, int mode, struct insn *in)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    int rc = insn_decode(copy, n, mode, in);
    free(copy);
    return rc;
}

/* Decode that must succeed with every byte used, and whose every truncation must be -EAGAIN. */
static struct insn decode_ok(int line, int mode, const uint8_t *b, size_t n)
{
    struct insn in;
    int rc = decode_exact(b, n, mode, &in);
    if (rc)
        test_fail(__FILE__, line, "decode returned %d", rc);
    else if (in.len != n)
        test_fail(__FILE__, line, "length %d, expected %zu", in.len, n);
    for (size_t k = 0; k < n; k++) {
        struct insn t;
        int r2 = decode_exact(b, k, mode, &t);
        if (r2 != -EAGAIN)
            test_fail(__FILE__, line, "truncated to %zu bytes: %d, expected -EAGAIN", k, r2);
    }
    return in;
}

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define DECODE(mode, ...) decode_ok(__LINE__, mode, BYTES(__VA_ARGS__))
#define DECODE_RC(mode, ...) ({ struct insn t_; decode_exact(BYTES(__VA_ARGS__), mode, &t_); })

/* Fake device: one register; reads return val, writes record what was written. */
struct fdev {
    uint64_t gpa, val, wval;
    int rsize, wsize, reads, writes, fail;
};

static int fdev_read(void *ctx, uint64_t gpa, int size, uint64_t *val)
{
    struct fdev *d = ctx;
    if (d->fail)
        return -EIO;
    d->gpa = gpa;
    d->rsize = size;
    d->reads++;
    *val = size == 8 ? d->val : d->val & ((1ull << (8 * size)) - 1);
    return 0;
}

static int fdev_write(void *ctx, uint64_t gpa, int size, uint64_t val)
{
    struct fdev *d = ctx;
    if (d->fail)
        return -EIO;
    d->gpa = gpa;
    d->wsize = size;
    d->wval = val;
    d->writes++;
    return 0;
}

static const struct mmio_access_ops fops = { fdev_read, fdev_write };

static void regs_init(struct guest_regs *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < GPR_COUNT; i++)
        r->gpr[i] = 0x1111111111111111ull * (uint64_t)(i + 1);
    r->rip = 0x1000;
    r->rflags = 0x2;
}


TEST(mov_store_r32)
{
    struct insn in = DECODE(64, 0x89, 0x03);           /* mov %eax,(%rbx) */
    struct guest_regs r;
    struct fdev d = { 0 };
    CHECK_EQ(in.op, INSN_MOV);
    CHECK_EQ(in.size, 4);
    CHECK_EQ(in.reg, GPR_RAX);
    CHECK_EQ(in.reg_high, 0);
    CHECK_EQ(in.mem_dst, 1);
    CHECK_EQ(in.mem.base, GPR_RBX);
    CHECK_EQ(in.mem.index, INSN_NOREG);
    regs_init(&r);
    r.gpr[GPR_RAX] = 0x1122334455667788ull;
    CHECK_EQ(insn_emulate(&in, &r, 0xfee00000, &fops, &d), 0);
    CHECK_EQ(d.writes, 1);
    CHECK_EQ(d.reads, 0);
    CHECK_U64(d.gpa, 0xfee00000);
    CHECK_EQ(d.wsize, 4);
    CHECK_U64(d.wval, 0x55667788);
    CHECK_U64(r.rip, 0x1002);
}

TEST(mov_store_imm32_disp8)
{
    struct insn in = DECODE(64, 0xc7, 0x40, 0x10, 0x78, 0x56, 0x34, 0x12);  /* movl $0x12345678,0x10(%rax) */
    struct guest_regs r;
    struct fdev d = { 0 };
    CHECK_EQ(in.op, INSN_MOV);
    CHECK_EQ(in.size, 4);
    CHECK_EQ(in.has_imm, 1);
    CHECK_U64(in.imm, 0x12345678);
    CHECK_EQ(in.mem.base, GPR_RAX);
    CHECK_EQ(in.mem.disp, 0x10);
    regs_init(&r);
    CHECK_EQ(insn_emulate(&in, &r, 0x2000, &fops, &d), 0);
    CHECK_U64(d.wval, 0x12345678);
    CHECK_U64(r.rip, 0x1007);
}

TEST(mov_store_imm_sign_extended_64)
{
    struct insn in = DECODE(64, 0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff);  /* movq $-2,(%rbx) */
    struct guest_regs r;
    struct fdev d = { 0 };
    CHECK_EQ(in.size, 8);
    CHECK_U64(in.imm, 0xfffffffffffffffeull);
    regs_init(&r);
    CHECK_EQ(insn_emulate(&in, &r, 0x2000, &fops, &d), 0);
    CHECK_EQ(d.wsize, 8);
    CHECK_U64(d.wval, 0xfffffffffffffffeull);
    in = DECODE(64, 0xc6, 0x03, 0xab);                 /* movb $0xab,(%rbx) */
    CHECK_EQ(in.size, 1);
    CHECK_EQ(insn_emulate(&in, &r, 0x2000, &fops, &d), 0);
    CHECK_EQ(d.wsize, 1);
    CHECK_U64(d.wval, 0xab);
    in = DECODE(64, 0x66, 0xc7, 0x03, 0x34, 0x12);     /* movw $0x1234,(%rbx) */
    CHECK_EQ(in.size, 2);
    CHECK_U64(in.imm, 0x1234);
}

TEST(mov_load_zero_extends_32_merges_16_8)
{
    struct guest_regs r;
    struct fdev d = { .val = 0xa1b2c3d4e5f60718ull };
    struct insn in = DECODE(64, 0x8b, 0x03);           /* mov (%rbx),%eax */
    regs_init(&r);
    r.gpr[GPR_RAX] = ~0ull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_EQ(d.rsize, 4);
    CHECK_U64(r.gpr[GPR_RAX], 0xe5f60718);
    in = DECODE(64, 0x66, 0x8b, 0x03);                 /* mov (%rbx),%ax */
    r.gpr[GPR_RAX] = ~0ull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xffffffffffff0718ull);
    in = DECODE(64, 0x8a, 0x03);                       /* mov (%rbx),%al */
    r.gpr[GPR_RAX] = ~0ull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xffffffffffffff18ull);
    in = DECODE(64, 0x48, 0x8b, 0x03);                 /* mov (%rbx),%rax */
    CHECK_EQ(in.size, 8);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xa1b2c3d4e5f60718ull);
}

TEST(mov_high_byte_registers)
{
    struct guest_regs r;
    struct fdev d = { .val = 0x5a };
    struct insn in = DECODE(64, 0x88, 0x23);           /* mov %ah,(%rbx) */
    CHECK_EQ(in.reg, GPR_RAX);
    CHECK_EQ(in.reg_high, 1);
    CHECK_EQ(in.size, 1);
    regs_init(&r);
    r.gpr[GPR_RAX] = 0x1234;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(d.wval, 0x12);
    in = DECODE(64, 0x40, 0x88, 0x23);                 /* mov %spl,(%rbx): any REX kills AH */
    CHECK_EQ(in.reg, GPR_RSP);
    CHECK_EQ(in.reg_high, 0);
    in = DECODE(32, 0x8a, 0x3b);                       /* mov (%ebx),%bh */
    CHECK_EQ(in.reg, GPR_RBX);
    CHECK_EQ(in.reg_high, 1);
    r.gpr[GPR_RBX] = 0xffffffffffffffffull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RBX], 0xffffffffffff5affull);
    in = DECODE(64, 0x44, 0x88, 0x23);                 /* mov %r12b,(%rbx) */
    CHECK_EQ(in.reg, 12);
    CHECK_EQ(in.reg_high, 0);
}

TEST(movzx_movsx_movsxd)
{
    struct guest_regs r;
    struct fdev d = { .val = 0xfe };
    struct insn in = DECODE(64, 0x0f, 0xb6, 0x07);     /* movzbl (%rdi),%eax */
    CHECK_EQ(in.op, INSN_MOVZX);
    CHECK_EQ(in.size, 1);
    CHECK_EQ(in.opsize, 4);
    CHECK_EQ(in.mem.base, GPR_RDI);
    regs_init(&r);
    r.gpr[GPR_RAX] = ~0ull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_EQ(d.rsize, 1);
    CHECK_U64(r.gpr[GPR_RAX], 0xfe);
    CHECK_U64(r.rip, 0x1003);
    in = DECODE(64, 0x0f, 0xbe, 0x07);                 /* movsbl (%rdi),%eax */
    CHECK_EQ(in.op, INSN_MOVSX);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xfffffffe);
    in = DECODE(64, 0x66, 0x0f, 0xbe, 0x07);           /* movsbw (%rdi),%ax */
    CHECK_EQ(in.opsize, 2);
    r.gpr[GPR_RAX] = 0x1234567800000000ull;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0x123456780000fffeull);
    d.val = 0x8001;
    in = DECODE(64, 0x48, 0x0f, 0xbf, 0x07);           /* movswq (%rdi),%rax */
    CHECK_EQ(in.size, 2);
    CHECK_EQ(in.opsize, 8);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xffffffffffff8001ull);
    in = DECODE(64, 0x0f, 0xb7, 0x07);                 /* movzwl (%rdi),%eax */
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0x8001);
    d.val = 0x80000000;
    in = DECODE(64, 0x4c, 0x63, 0x07);                 /* movslq (%rdi),%r8 */
    CHECK_EQ(in.op, INSN_MOVSX);
    CHECK_EQ(in.size, 4);
    CHECK_EQ(in.reg, 8);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[8], 0xffffffff80000000ull);
    CHECK_EQ(DECODE_RC(32, 0x63, 0x07), -EINVAL);      /* ARPL outside long mode */
}

TEST(rex_extended_registers_and_sib)
{
    struct insn in = DECODE(64, 0x47, 0x89, 0x0c, 0x9a);   /* mov %r9d,(%r10,%r11,4) */
    struct guest_regs r;
    CHECK_EQ(in.reg, 9);
    CHECK_EQ(in.mem.base, 10);
    CHECK_EQ(in.mem.index, 11);
    CHECK_EQ(in.mem.scale, 4);
    CHECK_EQ(in.size, 4);
    regs_init(&r);
    r.gpr[10] = 0x100000;
    r.gpr[11] = 0x10;
    CHECK_U64(insn_mem_linear(&in, &r), 0x100040);
    in = DECODE(64, 0x48, 0x89, 0x04, 0x24);           /* mov %rax,(%rsp) */
    CHECK_EQ(in.mem.base, GPR_RSP);
    CHECK_EQ(in.mem.seg, SEG_SS);
    in = DECODE(64, 0x41, 0x89, 0x04, 0x24);           /* mov %eax,(%r12) */
    CHECK_EQ(in.mem.base, 12);
    CHECK_EQ(in.mem.seg, SEG_DS);
    in = DECODE(64, 0x41, 0x89, 0x45, 0x08);           /* mov %eax,8(%r13) */
    CHECK_EQ(in.mem.base, 13);
    CHECK_EQ(in.mem.disp, 8);
    in = DECODE(64, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00);  /* mov 0x1000,%eax (SIB, no base) */
    CHECK_EQ(in.mem.base, INSN_NOREG);
    CHECK_EQ(in.mem.index, INSN_NOREG);
    CHECK_EQ(in.mem.rip_rel, 0);
    CHECK_EQ(in.mem.disp, 0x1000);
    in = DECODE(64, 0x8b, 0x44, 0x8b, 0xf0);           /* mov -0x10(%rbx,%rcx,4),%eax */
    CHECK_EQ(in.mem.disp, -16);
    CHECK_EQ(in.mem.index, GPR_RCX);
    in = DECODE(64, 0x48, 0x66, 0x89, 0x03);           /* REX before 66 is ignored: mov %ax,(%rbx) */
    CHECK_EQ(in.size, 2);
    CHECK_EQ(in.rex, 0);
}

TEST(rip_relative)
{
    struct guest_regs r;
    struct insn in = DECODE(64, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);   /* mov 0x100(%rip),%eax */
    CHECK_EQ(in.mem.rip_rel, 1);
    CHECK_EQ(in.mem.base, INSN_NOREG);
    regs_init(&r);
    CHECK_U64(insn_mem_linear(&in, &r), 0x1000 + 6 + 0x100);
    in = DECODE(64, 0xc7, 0x05, 0xf0, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00); /* movl $1,-0x10(%rip) */
    CHECK_EQ(in.len, 10);
    CHECK_U64(insn_mem_linear(&in, &r), 0x1000 + 10 - 0x10);
    in = DECODE(32, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00);   /* 32-bit: disp32 absolute */
    CHECK_EQ(in.mem.rip_rel, 0);
    CHECK_U64(insn_mem_linear(&in, &r), 0x1000);
}

TEST(addressing_16bit)
{
    struct guest_regs r;
    struct insn in = DECODE(16, 0x89, 0x00);           /* mov %ax,(%bx,%si) */
    CHECK_EQ(in.size, 2);
    CHECK_EQ(in.addr_size, 2);
    CHECK_EQ(in.mem.base, GPR_RBX);
    CHECK_EQ(in.mem.index, GPR_RSI);
    regs_init(&r);
    r.ds.base = 0x10000;
    r.ss.base = 0x20000;
    r.gpr[GPR_RBX] = 0xfff0;
    r.gpr[GPR_RSI] = 0x20;
    r.gpr[GPR_RBP] = 0x100;
    r.gpr[GPR_RDI] = 0x2;
    CHECK_U64(insn_mem_linear(&in, &r), 0x10010);       /* 16-bit offset wraps */
    in = DECODE(16, 0x89, 0x43, 0x08);                 /* mov %ax,8(%bp,%di) */
    CHECK_EQ(in.mem.seg, SEG_SS);
    CHECK_U64(insn_mem_linear(&in, &r), 0x2010a);
    in = DECODE(16, 0x8b, 0x06, 0x34, 0x12);           /* mov 0x1234,%ax */
    CHECK_EQ(in.mem.base, INSN_NOREG);
    CHECK_U64(insn_mem_linear(&in, &r), 0x11234);
    in = DECODE(16, 0x8b, 0x87, 0x00, 0x80);           /* mov -0x8000(%bx),%ax */
    CHECK_EQ(in.mem.disp, -0x8000);
    in = DECODE(16, 0x66, 0x89, 0x00);                 /* mov %eax,(%bx,%si) */
    CHECK_EQ(in.size, 4);
    in = DECODE(16, 0x67, 0x89, 0x03);                 /* mov %ax,(%ebx) */
    CHECK_EQ(in.addr_size, 4);
    CHECK_EQ(in.mem.base, GPR_RBX);
    in = DECODE(32, 0x67, 0x8b, 0x00);                 /* mov (%bx,%si),%eax */
    CHECK_EQ(in.addr_size, 2);
    CHECK_EQ(in.mem.index, GPR_RSI);
    in = DECODE(32, 0x66, 0x89, 0x03);                 /* mov %ax,(%ebx) */
    CHECK_EQ(in.size, 2);
    CHECK_EQ(in.addr_size, 4);
    in = DECODE(16, 0x26, 0x89, 0x07);                 /* mov %ax,%es:(%bx) */
    CHECK_EQ(in.seg_override, SEG_ES);
    CHECK_EQ(in.mem.seg, SEG_ES);
}

TEST(rip_wraps_in_16bit_mode)
{
    struct guest_regs r;
    struct fdev d = { 0 };
    struct insn in = DECODE(16, 0x89, 0x07);
    regs_init(&r);
    r.rip = 0xffff;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.rip, 1);
}

TEST(moffs_forms)
{
    struct guest_regs r;
    struct fdev d = { .val = 0xcafef00d };
    struct insn in = DECODE(64, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
    CHECK_EQ(in.op, INSN_MOV);
    CHECK_EQ(in.mem_dst, 0);
    CHECK_EQ(in.reg, GPR_RAX);
    CHECK_EQ(in.size, 4);
    CHECK_U64(in.mem.disp, 0x1122334455667788ull);
    regs_init(&r);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RAX], 0xcafef00d);
    in = DECODE(64, 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11);   /* 32-bit moffs */
    CHECK_U64(in.mem.disp, 0x11223344);
    in = DECODE(64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8);   /* mov %rax,moffs64 */
    CHECK_EQ(in.size, 8);
    CHECK_EQ(in.mem_dst, 1);
    in = DECODE(32, 0xa2, 0x78, 0x56, 0x34, 0x12);     /* mov %al,moffs32 */
    CHECK_EQ(in.size, 1);
    r.gpr[GPR_RAX] = 0x4241;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(d.wval, 0x41);
    in = DECODE(16, 0xa3, 0x34, 0x12);                 /* mov %ax,moffs16 */
    CHECK_EQ(in.size, 2);
    CHECK_U64(in.mem.disp, 0x1234);
    in = DECODE(64, 0x65, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0);   /* %gs:moffs */
    CHECK_EQ(in.mem.seg, SEG_GS);
}

TEST(stos_rep_one_iteration_per_call)
{
    struct guest_regs r;
    struct fdev d = { 0 };
    struct insn in = DECODE(64, 0xf3, 0xaa);           /* rep stosb */
    CHECK_EQ(in.op, INSN_STOS);
    CHECK_EQ(in.rep, INSN_REP);
    CHECK_EQ(in.size, 1);
    regs_init(&r);
    r.gpr[GPR_RCX] = 3;
    r.gpr[GPR_RDI] = 0x5000;
    r.gpr[GPR_RAX] = 0x77;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(insn_emulate(&in, &r, 0x5000 + (uint64_t)i, &fops, &d), 0);
        CHECK_U64(r.rip, 0x1000);          /* re-executed while RCX != 0 */
    }
    CHECK_EQ(insn_emulate(&in, &r, 0x5002, &fops, &d), 0);
    CHECK_U64(r.rip, 0x1002);
    CHECK_EQ(d.writes, 3);
    CHECK_U64(d.wval, 0x77);
    CHECK_U64(r.gpr[GPR_RCX], 0);
    CHECK_U64(r.gpr[GPR_RDI], 0x5003);
    CHECK_EQ(insn_emulate(&in, &r, 0x5003, &fops, &d), 0);   /* count 0: no store */
    CHECK_EQ(d.writes, 3);
    in = DECODE(64, 0x48, 0xab);                       /* stosq, DF=1 */
    CHECK_EQ(in.size, 8);
    CHECK_EQ(in.rep, 0);
    r.rflags |= RFLAGS_DF;
    CHECK_EQ(insn_emulate(&in, &r, 0x5003, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RDI], 0x5003 - 8);
    in = DECODE(64, 0x67, 0xf3, 0x66, 0xab);           /* rep stosw, 32-bit addressing */
    CHECK_EQ(in.size, 2);
    CHECK_EQ(in.addr_size, 4);
    r.rflags &= ~(uint64_t)RFLAGS_DF;
    r.gpr[GPR_RCX] = 0xffffffff00000002ull;
    r.gpr[GPR_RDI] = 0xaaaaaaaafffffffeull;
    CHECK_EQ(insn_emulate(&in, &r, 0x6000, &fops, &d), 0);
    CHECK_U64(r.gpr[GPR_RCX], 1);
    CHECK_U64(r.gpr[GPR_RDI], 0);
    in = DECODE(16, 0xab);                             /* stosw in 16-bit mode */
    CHECK_EQ(in.size, 2);
}

/* Linear-address memory for MOVS: 64 bytes at linear 0x7000 (RAM) and a device word at 0xfe000. */
struct lmem {
    uint8_t ram[64];
    uint64_t dev, last_la;
    int reads, writes;
};

static int lmem_read(void *ctx, uint64_t la, int size, uint64_t *val)
{
    struct lmem *m = ctx;
    m->reads++;
    if (la == 0xfe000) {
        *val = m->dev;
        return 0;
    }
    if (la < 0x7000 || la + (uint64_t)size > 0x7000 + sizeof(m->ram))
        return -EFAULT;
    *val = 0;
    memcpy(val, m->ram + (la - 0x7000), (size_t)size);
    return 0;
}

static int lmem_write(void *ctx, uint64_t la, int size, uint64_t val)
{
    struct lmem *m = ctx;
    m->writes++;
    m->last_la = la;
    if (la == 0xfe000) {
        m->dev = val;
        return 0;
    }
    if (la < 0x7000 || la + (uint64_t)size > 0x7000 + sizeof(m->ram))
        return -EFAULT;
    memcpy(m->ram + (la - 0x7000), &val, (size_t)size);
    return 0;
}

TEST(movs_through_linear_callbacks)
{
    static const struct linear_access_ops lops = { lmem_read, lmem_write };
    struct { struct fdev d; struct lmem m; } both = { 0 };
    struct guest_regs r;
    struct insn in = DECODE(64, 0xf3, 0x48, 0xa5);     /* rep movsq */
    CHECK_EQ(in.op, INSN_MOVS);
    CHECK_EQ(in.rep, INSN_REP);
    CHECK_EQ(in.size, 8);
    regs_init(&r);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &both.d), -ENOTSUP);   /* needs insn_emulate_movs */
    CHECK_U64(r.rip, 0x1000);
    struct insn mov = DECODE(64, 0x89, 0x03);
    CHECK_EQ(insn_emulate_movs(&mov, &r, &lops, &both.m), -EINVAL);

    memset(&both, 0, sizeof(both));
    r.cr0 = 1;
    r.efer = 1 << 10;
    r.cs.attr = 1 << 9;
    r.ds.base = 0x100000;                              /* ignored in 64-bit mode */
    for (int i = 0; i < 16; i++)
        both.m.ram[i] = (uint8_t)(0xa0 + i);
    in = DECODE(64, 0xf3, 0xa5);                       /* rep movsl: RAM -> device (memcpy_toio) */
    r.gpr[GPR_RSI] = 0x7000;
    r.gpr[GPR_RDI] = 0xfe000;
    r.gpr[GPR_RCX] = 2;
    CHECK_EQ(insn_emulate_movs(&in, &r, &lops, &both.m), 0);
    CHECK_U64(both.m.dev, 0xa3a2a1a0);
    CHECK_U64(r.gpr[GPR_RSI], 0x7004);
    CHECK_U64(r.gpr[GPR_RDI], 0xfe004);
    CHECK_U64(r.gpr[GPR_RCX], 1);
    CHECK_U64(r.rip, 0x1000);
    r.gpr[GPR_RDI] = 0xfe000;                          /* pretend a FIFO register: write it again */
    CHECK_EQ(insn_emulate_movs(&in, &r, &lops, &both.m), 0);
    CHECK_U64(both.m.dev, 0xa7a6a5a4);
    CHECK_U64(r.gpr[GPR_RCX], 0);
    CHECK_U64(r.rip, 0x1002);

    in = DECODE(64, 0xa4);                             /* movsb: device -> RAM, DF=1 */
    both.m.dev = 0x5a;
    r.rflags |= RFLAGS_DF;
    r.gpr[GPR_RSI] = 0xfe000;
    r.gpr[GPR_RDI] = 0x7010;
    CHECK_EQ(insn_emulate_movs(&in, &r, &lops, &both.m), 0);
    CHECK_EQ(both.m.ram[0x10], 0x5a);
    CHECK_U64(r.gpr[GPR_RSI], 0xfdfff);
    CHECK_U64(r.gpr[GPR_RDI], 0x700f);
    CHECK_U64(r.rip, 0x1003);

    in = DECODE(64, 0xa4);
    r.gpr[GPR_RSI] = 0x9000;                           /* unmapped source: error, nothing moves */
    struct guest_regs before = r;
    CHECK_EQ(insn_emulate_movs(&in, &r, &lops, &both.m), -EFAULT);
    CHECK_MEM(&r, &before, sizeof(r));
    in = DECODE(32, 0x26, 0xa4);                       /* movsb %es:(%esi),%es:(%edi) */
    CHECK_EQ(in.seg_override, SEG_ES);
    CHECK_EQ(in.size, 1);
}

/* Run an ALU instruction with mem = dev and eax = a; returns the written / register value. */
static uint64_t alu_run(struct insn in, uint64_t dev, uint64_t a, uint64_t fl_in, uint64_t *fl, int *writes)
{
    struct guest_regs r;
    struct fdev d = { .val = dev };
    regs_init(&r);
    r.gpr[GPR_RAX] = a;
    r.rflags = fl_in;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    *fl = r.rflags;
    *writes = d.writes;
    return in.mem_dst ? d.wval : r.gpr[GPR_RAX];
}

TEST(alu_add_sub_flags)
{
    uint64_t fl;
    int w;
    struct insn add = DECODE(64, 0x01, 0x03);          /* add %eax,(%rbx) */
    CHECK_EQ(add.op, INSN_ADD);
    CHECK_EQ(add.mem_dst, 1);
    CHECK_U64(alu_run(add, 0xffffffff, 1, 0x2, &fl, &w), 0);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF | RFLAGS_AF);
    CHECK_EQ(w, 1);
    CHECK_U64(alu_run(add, 0x7fffffff, 1, 0x2, &fl, &w), 0x80000000);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
    struct insn sub = DECODE(64, 0x2b, 0x03);          /* sub (%rbx),%eax */
    CHECK_EQ(sub.op, INSN_SUB);
    CHECK_EQ(sub.mem_dst, 0);
    CHECK_U64(alu_run(sub, 2, 0xffffffff00000001ull, 0x2, &fl, &w), 0xffffffff);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_CF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
    CHECK_EQ(w, 0);
    CHECK_U64(alu_run(sub, 1, 0x80000000, 0x2, &fl, &w), 0x7fffffff);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_OF | RFLAGS_AF | RFLAGS_PF);
    struct insn cmp = DECODE(64, 0x83, 0x3b, 0x05);    /* cmpl $5,(%rbx) */
    CHECK_EQ(cmp.op, INSN_CMP);
    CHECK_U64(cmp.imm, 5);
    alu_run(cmp, 5, 0, 0x2 | RFLAGS_CF, &fl, &w);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_ZF | RFLAGS_PF);
    CHECK_EQ(w, 0);
    alu_run(cmp, 4, 0, 0x2, &fl, &w);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_CF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF);
    struct insn adc = DECODE(64, 0x11, 0x03);          /* adc %eax,(%rbx) */
    CHECK_U64(alu_run(adc, 0xfffffffe, 1, 0x2 | RFLAGS_CF, &fl, &w), 0);
    CHECK(fl & RFLAGS_CF);
    CHECK(fl & RFLAGS_ZF);
    struct insn sbb = DECODE(64, 0x19, 0x03);          /* sbb %eax,(%rbx) */
    CHECK_U64(alu_run(sbb, 1, 0, 0x2 | RFLAGS_CF, &fl, &w), 0);
    CHECK_U64(fl & (RFLAGS_CF | RFLAGS_ZF), RFLAGS_ZF);
    struct insn add8 = DECODE(64, 0x80, 0x03, 0x80);   /* addb $0x80,(%rbx) */
    CHECK_EQ(add8.size, 1);
    CHECK_U64(alu_run(add8, 0x80, 0, 0x2, &fl, &w), 0);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_CF | RFLAGS_OF | RFLAGS_ZF | RFLAGS_PF);
    struct insn addq = DECODE(64, 0x48, 0x83, 0x03, 0xff);   /* addq $-1,(%rbx) */
    CHECK_U64(addq.imm, ~0ull);
    CHECK_U64(alu_run(addq, 1, 0, 0x2, &fl, &w), 0);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_CF | RFLAGS_ZF | RFLAGS_PF | RFLAGS_AF);
}

TEST(alu_logic_ops)
{
    uint64_t fl;
    int w;
    struct insn in = DECODE(64, 0x81, 0x0b, 0x00, 0x00, 0x01, 0x00);   /* orl $0x10000,(%rbx) */
    CHECK_EQ(in.op, INSN_OR);
    CHECK_U64(alu_run(in, 0x3, 0, 0x2 | RFLAGS_CF | RFLAGS_OF, &fl, &w), 0x10003);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_PF);
    in = DECODE(64, 0x80, 0x23, 0x0f);                 /* andb $0xf,(%rbx) */
    CHECK_EQ(in.op, INSN_AND);
    CHECK_U64(alu_run(in, 0xf0, 0, 0x2, &fl, &w), 0);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_ZF | RFLAGS_PF);
    in = DECODE(64, 0x33, 0x03);                       /* xor (%rbx),%eax */
    CHECK_EQ(in.op, INSN_XOR);
    CHECK_U64(alu_run(in, 0x80000001, 0xffffffffffffffffull, 0x2, &fl, &w), 0x7ffffffe);
    CHECK_U64(fl & RFLAGS_ARITH, 0);
    in = DECODE(64, 0x00, 0x23);                       /* add %ah,(%rbx) */
    CHECK_EQ(in.reg_high, 1);
    CHECK_U64(alu_run(in, 0x01, 0x0200, 0x2, &fl, &w), 0x03);
    in = DECODE(32, 0x81, 0x23, 0xff, 0x00, 0x00, 0x00);   /* andl $0xff,(%ebx) */
    CHECK_EQ(in.len, 6);
    in = DECODE(16, 0x81, 0x27, 0xff, 0x00);           /* andw $0xff,(%bx) */
    CHECK_EQ(in.len, 4);
    CHECK_EQ(in.size, 2);
}

TEST(test_xchg_bt)
{
    uint64_t fl;
    int w;
    struct insn in = DECODE(64, 0x85, 0x03);           /* test %eax,(%rbx) */
    CHECK_EQ(in.op, INSN_TEST);
    alu_run(in, 0xf0, 0x0f, 0x2 | RFLAGS_CF, &fl, &w);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_ZF | RFLAGS_PF);
    CHECK_EQ(w, 0);
    in = DECODE(64, 0xf7, 0x03, 0x00, 0x00, 0x00, 0x80);   /* testl $0x80000000,(%rbx) */
    CHECK_U64(in.imm, 0xffffffff80000000ull);
    alu_run(in, 0x80000000, 0, 0x2, &fl, &w);
    CHECK_U64(fl & RFLAGS_ARITH, RFLAGS_SF | RFLAGS_PF);
    in = DECODE(64, 0xf6, 0x03, 0x01);                 /* testb $1,(%rbx) */
    CHECK_EQ(in.size, 1);
    CHECK_EQ(DECODE_RC(64, 0xf7, 0x13), -EINVAL);     /* not (%rbx) unsupported */

    struct guest_regs r;
    struct fdev d = { .val = 0xabcd };
    in = DECODE(64, 0x87, 0x03);                       /* xchg %eax,(%rbx) */
    CHECK_EQ(in.op, INSN_XCHG);
    regs_init(&r);
    r.gpr[GPR_RAX] = 0x1234;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(d.wval, 0x1234);
    CHECK_U64(r.gpr[GPR_RAX], 0xabcd);

    d.val = 0x20;
    in = DECODE(64, 0x0f, 0xba, 0x23, 0x05);           /* btl $5,(%rbx) */
    CHECK_EQ(in.op, INSN_BT);
    r.rflags = 0x2;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK(r.rflags & RFLAGS_CF);
    in = DECODE(64, 0x0f, 0xba, 0x33, 0x05);           /* btrl $5,(%rbx) */
    d.writes = 0;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_EQ(d.writes, 1);
    CHECK_U64(d.wval, 0);
    in = DECODE(64, 0x0f, 0xab, 0x03);                 /* btsl %eax,(%rbx) with eax = 33 -> bit 1 */
    r.gpr[GPR_RAX] = 33;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), 0);
    CHECK_U64(d.wval, 0x22);
    CHECK(!(r.rflags & RFLAGS_CF));
    in = DECODE(64, 0x0f, 0xa3, 0x03);                 /* btl %eax,(%rbx) */
    CHECK_EQ(in.op, INSN_BT);
    in = DECODE(64, 0x0f, 0xbb, 0x03);                 /* btcl %eax,(%rbx) */
    CHECK_EQ(in.op, INSN_BTC);
    in = DECODE(64, 0x0f, 0xba, 0x3b, 0x01);           /* btcl $1,(%rbx) */
    CHECK_EQ(in.op, INSN_BTC);
    CHECK_EQ(DECODE_RC(64, 0x0f, 0xba, 0x03, 0x01), -EINVAL);   /* /0 undefined */
}

TEST(lock_prefix_rules)
{
    struct insn in = DECODE(64, 0xf0, 0x01, 0x03);     /* lock add %eax,(%rbx) */
    CHECK_EQ(in.lock, 1);
    DECODE(64, 0xf0, 0x87, 0x03);                      /* lock xchg */
    DECODE(64, 0xf0, 0x0f, 0xab, 0x03);                /* lock bts */
    DECODE(64, 0xf0, 0x83, 0x0b, 0x01);                /* lock orl $1 */
    CHECK_EQ(DECODE_RC(64, 0xf0, 0x03, 0x03), -EINVAL);    /* add to a register */
    CHECK_EQ(DECODE_RC(64, 0xf0, 0x89, 0x03), -EINVAL);    /* mov */
    CHECK_EQ(DECODE_RC(64, 0xf0, 0x39, 0x03), -EINVAL);    /* cmp */
    CHECK_EQ(DECODE_RC(64, 0xf0, 0x85, 0x03), -EINVAL);    /* test */
    CHECK_EQ(DECODE_RC(64, 0xf0, 0x0f, 0xa3, 0x03), -EINVAL);  /* bt */
}

TEST(malformed_and_unsupported)
{
    CHECK_EQ(DECODE_RC(32, 0x41, 0x89, 0x03), -EINVAL);    /* REX byte is INC %ecx in 32-bit mode */
    CHECK_EQ(DECODE_RC(64, 0x89, 0xc3), -EINVAL);          /* mod=3: register to register */
    CHECK_EQ(DECODE_RC(64, 0x0f, 0xb6, 0xc0), -EINVAL);
    CHECK_EQ(DECODE_RC(64, 0x90), -EINVAL);                /* nop */
    CHECK_EQ(DECODE_RC(64, 0x0f, 0x0b), -EINVAL);          /* ud2 */
    CHECK_EQ(DECODE_RC(64, 0x82, 0x03, 0x01), -EINVAL);    /* 82 is invalid in 64-bit mode */
    DECODE(32, 0x82, 0x03, 0x01);                          /* ... an alias of 80 elsewhere */
    CHECK_EQ(DECODE_RC(64, 0xc7, 0x0b, 1, 2, 3, 4), -EINVAL);  /* c7 /1 */
    CHECK_EQ(DECODE_RC(64, 0x01, 0x03), 0);
    CHECK_EQ(DECODE_RC(8, 0x89, 0x03), -EINVAL);           /* bad mode */
    struct insn t;
    CHECK_EQ(insn_decode(NULL, 0, 64, &t), -EAGAIN);
    CHECK_EQ(decode_exact((const uint8_t *)"", 0, 64, &t), -EAGAIN);

    uint8_t b[20];
    memset(b, 0x66, 16);
    b[16] = 0x89;
    b[17] = 0x03;
    CHECK_EQ(decode_exact(b, 18, 64, &t), -EINVAL);         /* 16 prefixes */
    CHECK_EQ(decode_exact(b, 15, 64, &t), -EINVAL);         /* 15 prefixes: already too long */
    CHECK_EQ(decode_exact(b, 14, 64, &t), -EAGAIN);         /* 14 prefixes: could still fit */
    /* ds: x5 + movl $imm32,disp32(%eax) = 15 bytes: fine; one more prefix makes 16. */
    const uint8_t ok15[] = { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x80, 1, 0, 0, 0, 2, 0, 0, 0 };
    CHECK_EQ(decode_exact(ok15, sizeof(ok15), 32, &t), 0);
    CHECK_EQ(t.len, 15);
    const uint8_t bad16[] = { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x80, 1, 0, 0, 0, 2, 0, 0, 0 };
    CHECK_EQ(decode_exact(bad16, sizeof(bad16), 32, &t), -EINVAL);
}

TEST(segment_override_linear_64)
{
    struct guest_regs r;
    struct insn in = DECODE(64, 0x64, 0x8b, 0x03);     /* mov %fs:(%rbx),%eax */
    CHECK_EQ(in.seg_override, SEG_FS);
    CHECK_EQ(in.mem.seg, SEG_FS);
    regs_init(&r);
    r.cr0 = 1;
    r.efer = 1 << 10;
    r.cs.attr = 1 << 9;
    r.fs.base = 0x7f0000000000ull;
    r.ds.base = 0x5555;                                /* ignored in 64-bit mode */
    r.gpr[GPR_RBX] = 0x10;
    CHECK_U64(insn_mem_linear(&in, &r), 0x7f0000000010ull);
    in = DECODE(64, 0x3e, 0x8b, 0x03);
    CHECK_U64(insn_mem_linear(&in, &r), 0x10);
}

TEST(device_error_leaves_registers)
{
    struct guest_regs r, before;
    struct fdev d = { .fail = 1 };
    struct insn in = DECODE(64, 0x8b, 0x03);
    regs_init(&r);
    before = r;
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), -EIO);
    CHECK_MEM(&r, &before, sizeof(r));
    in = DECODE(64, 0x01, 0x03);
    CHECK_EQ(insn_emulate(&in, &r, 0x3000, &fops, &d), -EIO);
    CHECK_MEM(&r, &before, sizeof(r));
}

TEST(cpu_mode_from_registers)
{
    struct guest_regs r;
    memset(&r, 0, sizeof(r));
    CHECK_EQ(guest_cpu_mode(&r), 16);
    r.cs.attr = 1 << 10;
    CHECK_EQ(guest_cpu_mode(&r), 16);                  /* real mode ignores CS.D */
    r.cr0 = 1;
    CHECK_EQ(guest_cpu_mode(&r), 32);
    r.cs.attr = 0;
    CHECK_EQ(guest_cpu_mode(&r), 16);
    r.efer = 1 << 10;
    r.cs.attr = 1 << 9;
    CHECK_EQ(guest_cpu_mode(&r), 64);
    r.cs.attr = 1 << 10;
    CHECK_EQ(guest_cpu_mode(&r), 32);                  /* compatibility mode */
}

#if defined(__x86_64__)
/* The host CPU as the reference for RFLAGS: run the real instruction on registers (below the red zone). */
#define HW_ASM(insn, sfx, a, b, fin, fo) \
    __asm__ volatile("lea -128(%%rsp),%%rsp\n\tpush %[fi]\n\tpopf\n\t" insn " %" sfx "[bv],%" sfx "[av]\n\t" \
                     "pushf\n\tpop %[fo]\n\tlea 128(%%rsp),%%rsp" \
                     : [av] "+r"(a), [fo] "=&r"(fo) : [bv] "r"(b), [fi] "r"(fin) : "cc", "memory")
#define HW_SIZES(insn, size, a, b, fin, fo) do { \
    switch (size) { \
    case 1: HW_ASM(insn "b", "b", a, b, fin, fo); break; \
    case 2: HW_ASM(insn "w", "w", a, b, fin, fo); break; \
    case 4: HW_ASM(insn "l", "k", a, b, fin, fo); break; \
    default: HW_ASM(insn "q", "q", a, b, fin, fo); break; \
    } } while (0)

static uint64_t hw_alu(int op, int size, uint64_t a, uint64_t b, uint64_t fin, uint64_t *fout)
{
    uint64_t fo = 0;
    switch (op) {
    case INSN_ADD: HW_SIZES("add", size, a, b, fin, fo); break;
    case INSN_OR:  HW_SIZES("or", size, a, b, fin, fo); break;
    case INSN_ADC: HW_SIZES("adc", size, a, b, fin, fo); break;
    case INSN_SBB: HW_SIZES("sbb", size, a, b, fin, fo); break;
    case INSN_AND: HW_SIZES("and", size, a, b, fin, fo); break;
    case INSN_SUB: HW_SIZES("sub", size, a, b, fin, fo); break;
    case INSN_XOR: HW_SIZES("xor", size, a, b, fin, fo); break;
    case INSN_CMP: HW_SIZES("cmp", size, a, b, fin, fo); break;
    default:       HW_SIZES("test", size, a, b, fin, fo); break;
    }
    *fout = fo;
    return a;
}

static uint64_t pick_value(uint64_t *seed)
{
    static const uint64_t edge[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
                                     0x80000000, 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull,
                                     ~0ull, 0x0f, 0x10 };
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t r = *seed >> 11;
    return (r & 3) ? edge[(r >> 2) % (sizeof(edge) / sizeof(edge[0]))] ^ ((r >> 8) & 1) : *seed;
}

TEST(alu_flags_match_host_cpu)
{
    uint64_t seed = 12345;
    int mismatches = 0;
    for (int op = INSN_ADD; op <= INSN_TEST; op++) {
        for (int size = 1; size <= 8; size *= 2) {
            uint8_t b[3];
            int n = 0;
            if (size == 2)
                b[n++] = 0x66;
            if (size == 8)
                b[n++] = 0x48;
            b[n++] = op == INSN_TEST ? (size == 1 ? 0x84 : 0x85) : (uint8_t)((op - INSN_ADD) * 8 + (size > 1));
            b[n++] = 0x03;                                 /* op %al/%ax/%eax/%rax,(%rbx) */
            struct insn in = decode_ok(__LINE__, 64, b, (size_t)n);
            CHECK_EQ(in.op, op);
            for (int i = 0; i < 400; i++) {
                uint64_t a = pick_value(&seed), v = pick_value(&seed), fin = 0x2 | (pick_value(&seed) & 1);
                uint64_t hw_fl, emu_fl, undef = (op == INSN_OR || op == INSN_AND || op == INSN_XOR ||
                                                 op == INSN_TEST) ? RFLAGS_AF : 0;
                int w;
                uint64_t hw = hw_alu(op, size, v, a, fin, &hw_fl);
                uint64_t emu = alu_run(in, v, a, fin, &emu_fl, &w);
                uint64_t m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
                int bad = (hw_fl & RFLAGS_ARITH & ~undef) != (emu_fl & RFLAGS_ARITH & ~undef);
                if (op != INSN_CMP && op != INSN_TEST)
                    bad |= (hw & m) != (emu & m);
                if (bad && mismatches++ < 5)
                    test_fail(__FILE__, __LINE__, "op %d size %d mem %#llx reg %#llx cf %d: hw %#llx fl %#llx, "
                              "emulated %#llx fl %#llx", op, size, (unsigned long long)v,
                              (unsigned long long)a, (int)(fin & 1), (unsigned long long)hw,
                              (unsigned long long)hw_fl, (unsigned long long)emu, (unsigned long long)emu_fl);
            }
        }
    }
    CHECK_EQ(mismatches, 0);
}
#endif

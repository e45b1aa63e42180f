/* Emulates a decoded MMIO instruction against a device: register merge rules, RFLAGS, RIP (SDM 1 ch. 3). */
#include "vmm/decode.h"
#include "kernel/errno.h"


static uint64_t size_mask(int size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }
static uint64_t msb(uint64_t v, int size) { return (v >> (8 * size - 1)) & 1; }

static uint64_t sign_extend(uint64_t v, int size)
{
    v &= size_mask(size);
    return msb(v, size) ? v | ~size_mask(size) : v;
}

/* Read a register operand of size bytes (high selects bits 15:8 of registers 0-3). */
static uint64_t reg_read(const struct guest_regs *r, int reg, int high, int size)
{
    uint64_t v = r->gpr[reg & 15];
    if (high)
        return (v >> 8) & 0xff;
    return v & size_mask(size);
}

/* Write with x86 semantics: 8/16-bit writes merge, 32-bit writes zero bits 63:32, 64-bit replace. */
static void reg_write(struct guest_regs *r, int reg, int high, int size, uint64_t val)
{
    uint64_t *g = &r->gpr[reg & 15];
    if (high)
        *g = (*g & ~0xff00ull) | ((val & 0xff) << 8);
    else if (size == 4)
        *g = val & 0xffffffffull;
    else
        *g = (*g & ~size_mask(size)) | (val & size_mask(size));
}

/* SF, ZF, PF of a result; PF looks at the low byte only. */
static uint64_t flags_szp(uint64_t res, int size)
{
    uint64_t f = 0;
    uint8_t lo = (uint8_t)res;
    lo ^= lo >> 4;
    lo ^= lo >> 2;
    lo ^= lo >> 1;
    if (!(lo & 1))
        f |= RFLAGS_PF;
    if (!(res & size_mask(size)))
        f |= RFLAGS_ZF;
    if (msb(res, size))
        f |= RFLAGS_SF;
    return f;
}

/* Compute a op b at size bytes; replaces the arithmetic flags in *rflags (SDM 1 appendix A). */
static uint64_t alu_compute(int op, uint64_t a, uint64_t b, int size, uint64_t *rflags)
{
    uint64_t m = size_mask(size), cin = *rflags & RFLAGS_CF, res, f = 0;
    a &= m;
    b &= m;
    switch (op) {
    case INSN_ADD: case INSN_ADC:
        res = (a + b + (op == INSN_ADC ? cin : 0)) & m;
        if (msb((a & b) | ((a | b) & ~res), size))
            f |= RFLAGS_CF;
        if (msb((a ^ res) & (b ^ res), size))
            f |= RFLAGS_OF;
        f |= ((a ^ b ^ res) & 0x10) ? RFLAGS_AF : 0;
        break;
    case INSN_SUB: case INSN_SBB: case INSN_CMP:
        res = (a - b - (op == INSN_SBB ? cin : 0)) & m;
        if (msb((~a & b) | ((~a | b) & res), size))
            f |= RFLAGS_CF;
        if (msb((a ^ b) & (a ^ res), size))
            f |= RFLAGS_OF;
        f |= ((a ^ b ^ res) & 0x10) ? RFLAGS_AF : 0;
        break;
    case INSN_OR:  res = a | b; break;
    case INSN_XOR: res = a ^ b; break;
    default:       res = a & b; break;   /* AND, TEST: CF = OF = 0, AF left clear (undefined) */
    }
    *rflags = (*rflags & ~(uint64_t)RFLAGS_ARITH) | f | flags_szp(res, size);
    return res;
}

static void rip_advance(const struct insn *in, struct guest_regs *r)
{
    uint64_t rip = r->rip + in->len;
    r->rip = in->mode == 64 ? rip : in->mode == 32 ? (uint32_t)rip : (uint16_t)rip;
}

/* The source operand of a reg/imm form. */
static uint64_t src_value(const struct insn *in, const struct guest_regs *r)
{
    if (in->has_imm)
        return in->imm;
    return reg_read(r, in->reg, in->reg_high, in->opsize);
}

static int emulate_mov(const struct insn *in, struct guest_regs *r, uint64_t gpa,
                       const struct mmio_access_ops *ops, void *ctx)
{
    uint64_t v;
    int rc;
    if (in->mem_dst)
        return ops->write(ctx, gpa, in->size, src_value(in, r) & size_mask(in->size));
    if ((rc = ops->read(ctx, gpa, in->size, &v)))
        return rc;
    v &= size_mask(in->size);
    if (in->op == INSN_MOVSX)
        v = sign_extend(v, in->size);
    reg_write(r, in->reg, in->reg_high, in->opsize, v);
    return 0;
}

/* ALU rows, groups 1 and 3 TEST: read the device, compute, write back unless CMP/TEST. */
static int emulate_alu(const struct insn *in, struct guest_regs *r, uint64_t gpa,
                       const struct mmio_access_ops *ops, void *ctx)
{
    uint64_t v, a, b, res, fl = r->rflags;
    int rc = ops->read(ctx, gpa, in->size, &v);
    if (rc)
        return rc;
    a = in->mem_dst ? v : src_value(in, r);
    b = in->mem_dst ? src_value(in, r) : v;
    res = alu_compute(in->op, a, b, in->size, &fl);
    if (in->op != INSN_CMP && in->op != INSN_TEST) {
        if (in->mem_dst)
            rc = ops->write(ctx, gpa, in->size, res);
        else
            reg_write(r, in->reg, in->reg_high, in->opsize, res);
    }
    if (!rc)
        r->rflags = fl;
    return rc;
}

static int emulate_xchg(const struct insn *in, struct guest_regs *r, uint64_t gpa,
                        const struct mmio_access_ops *ops, void *ctx)
{
    uint64_t v;
    int rc = ops->read(ctx, gpa, in->size, &v);
    if (!rc)
        rc = ops->write(ctx, gpa, in->size, src_value(in, r));
    if (!rc)
        reg_write(r, in->reg, in->reg_high, in->opsize, v);
    return rc;
}

/*
 * BT/BTS/BTR/BTC: the bit offset is taken modulo the operand width. For a register offset beyond the
 * operand the hardware addresses a different word, which is the one the exit reports as gpa.
 */
static int emulate_bt(const struct insn *in, struct guest_regs *r, uint64_t gpa,
                      const struct mmio_access_ops *ops, void *ctx)
{
    uint64_t v, bit;
    int rc = ops->read(ctx, gpa, in->size, &v);
    if (rc)
        return rc;
    bit = 1ull << (src_value(in, r) & (8u * in->size - 1));
    if (in->op == INSN_BTS)
        rc = ops->write(ctx, gpa, in->size, (v | bit) & size_mask(in->size));
    else if (in->op == INSN_BTR)
        rc = ops->write(ctx, gpa, in->size, v & ~bit & size_mask(in->size));
    else if (in->op == INSN_BTC)
        rc = ops->write(ctx, gpa, in->size, (v ^ bit) & size_mask(in->size));
    if (!rc)
        r->rflags = (r->rflags & ~(uint64_t)RFLAGS_CF) | ((v & bit) ? RFLAGS_CF : 0);
    return rc;
}

/* Step an index register of a string op by the element size, backwards when DF is set. */
static void string_step(const struct insn *in, struct guest_regs *r, int reg)
{
    uint64_t step = (r->rflags & RFLAGS_DF) ? -(uint64_t)in->size : in->size;
    reg_write(r, reg, 0, in->addr_size, reg_read(r, reg, 0, in->addr_size) + step);
}

/* One element of (REP) STOS or MOVS; returns 1 when RIP must stay (more iterations left). */
static int emulate_string(const struct insn *in, struct guest_regs *r, uint64_t gpa,
                          const struct mmio_access_ops *ops, const struct linear_access_ops *lops, void *ctx)
{
    int as = in->addr_size, rc;
    uint64_t count = reg_read(r, GPR_RCX, 0, as), v;

    if (in->rep && count == 0)
        return 0;
    if (in->op == INSN_STOS) {
        rc = ops->write(ctx, gpa, in->size, reg_read(r, GPR_RAX, 0, in->size));
    } else {
        /* MOVS: source seg:rSI (DS unless overridden), destination ES:rDI; either may be the device. */
        int seg = in->seg_override != SEG_NONE ? in->seg_override : SEG_DS;
        uint64_t src = guest_linear(r, seg, reg_read(r, GPR_RSI, 0, as));
        uint64_t dst = guest_linear(r, SEG_ES, reg_read(r, GPR_RDI, 0, as));
        rc = lops->read(ctx, src, in->size, &v);
        if (!rc)
            rc = lops->write(ctx, dst, in->size, v & size_mask(in->size));
        if (!rc)
            string_step(in, r, GPR_RSI);
    }
    if (rc)
        return rc;
    string_step(in, r, GPR_RDI);
    if (!in->rep)
        return 0;
    reg_write(r, GPR_RCX, 0, as, count - 1);
    return count - 1 != 0;
}

int insn_emulate(const struct insn *in, struct guest_regs *regs, uint64_t gpa,
                 const struct mmio_access_ops *ops, void *ctx)
{
    int rc;
    switch (in->op) {
    case INSN_MOV: case INSN_MOVZX: case INSN_MOVSX:
        rc = emulate_mov(in, regs, gpa, ops, ctx);
        break;
    case INSN_ADD: case INSN_OR: case INSN_ADC: case INSN_SBB: case INSN_AND: case INSN_SUB:
    case INSN_XOR: case INSN_CMP: case INSN_TEST:
        rc = emulate_alu(in, regs, gpa, ops, ctx);
        break;
    case INSN_XCHG:
        rc = emulate_xchg(in, regs, gpa, ops, ctx);
        break;
    case INSN_BT: case INSN_BTS: case INSN_BTR: case INSN_BTC:
        rc = emulate_bt(in, regs, gpa, ops, ctx);
        break;
    case INSN_STOS:
        rc = emulate_string(in, regs, gpa, ops, NULL, ctx);
        if (rc == 1)
            return 0;           /* more iterations: the guest re-executes the instruction */
        break;
    default:
        return -ENOTSUP;        /* MOVS needs insn_emulate_movs; nothing else is decoded */
    }
    if (rc)
        return rc;
    rip_advance(in, regs);
    return 0;
}

int insn_emulate_movs(const struct insn *in, struct guest_regs *regs, const struct linear_access_ops *ops,
                      void *ctx)
{
    int rc;
    if (in->op != INSN_MOVS)
        return -EINVAL;
    rc = emulate_string(in, regs, 0, NULL, ops, ctx);
    if (rc == 1)
        return 0;
    if (!rc)
        rip_advance(in, regs);
    return rc;
}

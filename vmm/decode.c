/* x86 instruction decoder for the memory-operand forms guests use on MMIO registers (SDM 2A ch. 2). */
#include "vmm/decode.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"

/* Decoder cursor plus the prefix state that shapes operand and address sizes. */
struct dctx {
    const uint8_t *b;
    size_t avail, pos;
    int mode;
    uint8_t opsz, adsz, rex;
};

#define REX_W(c) (((c)->rex >> 3) & 1)
#define REX_R(c) (((c)->rex >> 2) & 1)
#define REX_X(c) (((c)->rex >> 1) & 1)
#define REX_B(c) ((c)->rex & 1)

/* Next byte: -EINVAL past the 15-byte architectural limit, -EAGAIN past what the caller gave. */
static int fetch(struct dctx *c, uint8_t *v)
{
    if (c->pos >= INSN_MAX_LEN)
        return -EINVAL;
    if (c->pos >= c->avail)
        return -EAGAIN;
    *v = c->b[c->pos++];
    return 0;
}

/* n little-endian bytes, sign-extended to 64 bits when sext is set. */
static int fetch_imm(struct dctx *c, int n, int sext, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++) {
        uint8_t byte;
        int rc = fetch(c, &byte);
        if (rc)
            return rc;
        x |= (uint64_t)byte << (8 * i);
    }
    if (sext && n < 8 && (x >> (8 * n - 1)) & 1)
        x |= ~0ull << (8 * n);
    *v = x;
    return 0;
}

static int seg_of_prefix(uint8_t p)
{
    switch (p) {
    case 0x26: return SEG_ES;
    case 0x2e: return SEG_CS;
    case 0x36: return SEG_SS;
    case 0x3e: return SEG_DS;
    case 0x64: return SEG_FS;
    default:   return SEG_GS;   /* 0x65 */
    }
}

/* Legacy prefixes and REX (SDM 2A 2.1, 2.2.1): stores the opcode byte that follows them in *opc. */
static int decode_prefixes(struct dctx *c, struct insn *out, uint8_t *opc)
{
    int has66 = 0, has67 = 0;
    for (;;) {
        uint8_t p;
        int rc = fetch(c, &p);
        if (rc)
            return rc;
        if (c->mode == 64 && (p & 0xf0) == 0x40) {
            c->rex = p;         /* only the last REX counts, and only right before the opcode */
            continue;
        }
        if (p == 0x66)
            has66 = 1;
        else if (p == 0x67)
            has67 = 1;
        else if (p == 0xf0)
            out->lock = 1;
        else if (p == 0xf2 || p == 0xf3)
            out->rep = p == 0xf3 ? INSN_REP : INSN_REPNE;
        else if (p == 0x26 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0x64 || p == 0x65)
            out->seg_override = (uint8_t)seg_of_prefix(p);
        else {
            *opc = p;
            break;
        }
        c->rex = 0;             /* a legacy prefix after REX cancels it */
    }
    out->rex = c->rex;
    if (c->mode == 64) {
        c->opsz = REX_W(c) ? 8 : has66 ? 2 : 4;
        c->adsz = has67 ? 4 : 8;
    } else if (c->mode == 32) {
        c->opsz = has66 ? 2 : 4;
        c->adsz = has67 ? 2 : 4;
    } else {
        c->opsz = has66 ? 4 : 2;
        c->adsz = has67 ? 4 : 2;
    }
    out->addr_size = c->adsz;
    return 0;
}

/* 16-bit ModRM addressing (SDM 2A table 2-1): base/index pairs by r/m. */
static int decode_mem16(struct dctx *c, struct insn *out, int mod, int rm)
{
    static const uint8_t base[8] = { GPR_RBX, GPR_RBX, GPR_RBP, GPR_RBP, INSN_NOREG, INSN_NOREG,
                                     GPR_RBP, GPR_RBX };
    static const uint8_t index[8] = { GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI, GPR_RSI, GPR_RDI,
                                      INSN_NOREG, INSN_NOREG };
    uint64_t disp = 0;
    int rc = 0;

    out->mem.base = base[rm];
    out->mem.index = index[rm];
    if (mod == 0 && rm == 6) {
        out->mem.base = INSN_NOREG;
        rc = fetch_imm(c, 2, 1, &disp);
    } else if (mod == 1) {
        rc = fetch_imm(c, 1, 1, &disp);
    } else if (mod == 2) {
        rc = fetch_imm(c, 2, 1, &disp);
    }
    out->mem.disp = (int64_t)disp;
    if (out->mem.base == GPR_RBP)
        out->mem.seg = SEG_SS;
    return rc;
}

/* 32/64-bit ModRM + SIB addressing (SDM 2A tables 2-2, 2-3; RIP-relative 2.2.1.6). */
static int decode_mem32(struct dctx *c, struct insn *out, int mod, int rm)
{
    uint64_t disp = 0;
    int rc = 0, base = rm;

    if (rm == 4) {
        uint8_t sib;
        if ((rc = fetch(c, &sib)))
            return rc;
        int idx = ((sib >> 3) & 7) | (REX_X(c) << 3);
        out->mem.index = idx == 4 ? INSN_NOREG : (uint8_t)idx;
        out->mem.scale = (uint8_t)(1 << (sib >> 6));
        base = sib & 7;
        if (base == 5 && mod == 0) {
            out->mem.base = INSN_NOREG;
            rc = fetch_imm(c, 4, 1, &disp);
            out->mem.disp = (int64_t)disp;
            return rc;
        }
    } else if (rm == 5 && mod == 0) {
        out->mem.base = INSN_NOREG;
        out->mem.rip_rel = c->mode == 64;
        rc = fetch_imm(c, 4, 1, &disp);
        out->mem.disp = (int64_t)disp;
        return rc;
    }
    out->mem.base = (uint8_t)(base | (REX_B(c) << 3));
    if (out->mem.base == GPR_RSP || out->mem.base == GPR_RBP)   /* not r12/r13: they default to DS */
        out->mem.seg = SEG_SS;
    if (mod == 1)
        rc = fetch_imm(c, 1, 1, &disp);
    else if (mod == 2)
        rc = fetch_imm(c, 4, 1, &disp);
    out->mem.disp = (int64_t)disp;
    return rc;
}

/* ModRM with a memory operand: *reg gets the reg field extended by REX.R; mod=3 is -EINVAL. */
static int decode_modrm(struct dctx *c, struct insn *out, int *reg)
{
    uint8_t m;
    int rc = fetch(c, &m);
    if (rc)
        return rc;
    int mod = m >> 6, rm = m & 7;
    if (mod == 3)
        return -EINVAL;         /* register operand: not a memory access */
    *reg = ((m >> 3) & 7) | (REX_R(c) << 3);
    out->mem.seg = SEG_DS;
    out->mem.scale = 1;
    out->mem.index = INSN_NOREG;
    rc = c->adsz == 2 ? decode_mem16(c, out, mod, rm) : decode_mem32(c, out, mod, rm);
    if (out->seg_override != SEG_NONE)
        out->mem.seg = out->seg_override;
    return rc;
}

/* Register operand from a ModRM reg field: without any REX, byte regs 4-7 are AH, CH, DH, BH. */
static void set_reg(struct dctx *c, struct insn *out, int reg, int byte)
{
    if (byte && !c->rex && reg >= 4 && reg < 8) {
        out->reg = (uint8_t)(reg - 4);
        out->reg_high = 1;
    } else {
        out->reg = (uint8_t)reg;
    }
}

/* Immediate of an Ib (byte op or sign-extended), Iz (16 or 32 bits, sign-extended for 64) operand. */
static int decode_imm(struct dctx *c, struct insn *out, int n)
{
    out->has_imm = 1;
    out->reg = INSN_NOREG;
    return fetch_imm(c, n, 1, &out->imm);
}

static int iz_len(struct dctx *c) { return c->opsz == 2 ? 2 : 4; }

/* Forms with ModRM and a register operand: op r/m,reg (mem_dst) or op reg,r/m. */
static int form_rm_reg(struct dctx *c, struct insn *out, int op, int byte, int mem_dst)
{
    int reg, rc = decode_modrm(c, out, &reg);
    if (rc)
        return rc;
    out->op = (uint8_t)op;
    out->size = out->opsize = byte ? 1 : c->opsz;
    out->mem_dst = (uint8_t)mem_dst;
    set_reg(c, out, reg, byte);
    return 0;
}

/* Forms with ModRM, a /digit opcode extension and an immediate. ops[digit] of 0 is unsupported. */
static int form_group_imm(struct dctx *c, struct insn *out, const uint8_t ops[8], int size, int immlen)
{
    int reg, rc = decode_modrm(c, out, &reg);
    if (rc)
        return rc;
    if (!ops[reg & 7])
        return -EINVAL;
    out->op = ops[reg & 7];
    out->size = out->opsize = (uint8_t)size;
    out->mem_dst = 1;
    return decode_imm(c, out, immlen);
}

/* MOV AL/eAX <-> moffs (A0-A3): the address is an addr_size absolute offset. */
static int form_moffs(struct dctx *c, struct insn *out, uint8_t opc)
{
    uint64_t off;
    int rc = fetch_imm(c, c->adsz, 0, &off);
    if (rc)
        return rc;
    out->op = INSN_MOV;
    out->size = out->opsize = (opc & 1) ? c->opsz : 1;
    out->mem_dst = opc >= 0xa2;
    out->reg = GPR_RAX;
    out->mem.base = out->mem.index = INSN_NOREG;
    out->mem.scale = 1;
    out->mem.disp = (int64_t)off;
    out->mem.seg = out->seg_override != SEG_NONE ? out->seg_override : SEG_DS;
    return 0;
}

/* STOS/MOVS: memory operand ES:[rDI] (no override on the destination), REP recorded. */
static int form_string(struct dctx *c, struct insn *out, int op, int byte)
{
    out->op = (uint8_t)op;
    out->size = out->opsize = byte ? 1 : c->opsz;
    out->mem_dst = 1;
    out->reg = GPR_RAX;
    out->mem.base = GPR_RDI;
    out->mem.index = INSN_NOREG;
    out->mem.scale = 1;
    out->mem.seg = SEG_ES;
    return 0;
}

/* Two-byte opcodes 0F xx: MOVZX, MOVSX, BT family. */
static int decode_0f(struct dctx *c, struct insn *out)
{
    static const uint8_t grp8[8] = { 0, 0, 0, 0, INSN_BT, INSN_BTS, INSN_BTR, INSN_BTC };
    uint8_t opc;
    int rc = fetch(c, &opc), reg;
    if (rc)
        return rc;
    switch (opc) {
    case 0xb6: case 0xb7: case 0xbe: case 0xbf:
        if ((rc = decode_modrm(c, out, &reg)))
            return rc;
        out->op = opc < 0xbe ? INSN_MOVZX : INSN_MOVSX;
        out->size = (opc & 1) ? 2 : 1;
        out->opsize = c->opsz;
        out->reg = (uint8_t)reg;
        return 0;
    case 0xa3: return form_rm_reg(c, out, INSN_BT, 0, 1);
    case 0xab: return form_rm_reg(c, out, INSN_BTS, 0, 1);
    case 0xb3: return form_rm_reg(c, out, INSN_BTR, 0, 1);
    case 0xbb: return form_rm_reg(c, out, INSN_BTC, 0, 1);
    case 0xba: return form_group_imm(c, out, grp8, c->opsz, 1);
    default:   return -EINVAL;
    }
}

/* MOVSXD (63 /r, 64-bit mode only): with REX.W sign-extends 32 to 64, else a plain load. */
static int form_movsxd(struct dctx *c, struct insn *out)
{
    int reg, rc;
    if (c->mode != 64)
        return -EINVAL;         /* ARPL outside long mode */
    if ((rc = decode_modrm(c, out, &reg)))
        return rc;
    out->op = c->opsz == 8 ? INSN_MOVSX : INSN_MOV;
    out->size = c->opsz == 8 ? 4 : c->opsz;
    out->opsize = c->opsz;
    out->reg = (uint8_t)reg;
    return 0;
}

/* One-byte opcode map, restricted to the supported memory forms. */
static int decode_opcode(struct dctx *c, struct insn *out, uint8_t opc)
{
    static const uint8_t grp1[8] = { INSN_ADD, INSN_OR, INSN_ADC, INSN_SBB, INSN_AND, INSN_SUB,
                                     INSN_XOR, INSN_CMP };
    static const uint8_t grp_mov[8] = { INSN_MOV };
    static const uint8_t grp3[8] = { INSN_TEST };

    if (opc < 0x40 && (opc & 7) < 4)        /* ALU rows: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev */
        return form_rm_reg(c, out, INSN_ADD + (opc >> 3), !(opc & 1), !(opc & 2));
    switch (opc) {
    case 0x0f: return decode_0f(c, out);
    case 0x63: return form_movsxd(c, out);
    case 0x80: return form_group_imm(c, out, grp1, 1, 1);
    case 0x82: return c->mode == 64 ? -EINVAL : form_group_imm(c, out, grp1, 1, 1);
    case 0x81: return form_group_imm(c, out, grp1, c->opsz, iz_len(c));
    case 0x83: return form_group_imm(c, out, grp1, c->opsz, 1);
    case 0x84: case 0x85: return form_rm_reg(c, out, INSN_TEST, opc == 0x84, 1);
    case 0x86: case 0x87: return form_rm_reg(c, out, INSN_XCHG, opc == 0x86, 1);
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        return form_rm_reg(c, out, INSN_MOV, !(opc & 1), !(opc & 2));
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: return form_moffs(c, out, opc);
    case 0xa4: case 0xa5: return form_string(c, out, INSN_MOVS, opc == 0xa4);
    case 0xaa: case 0xab: return form_string(c, out, INSN_STOS, opc == 0xaa);
    case 0xc6: return form_group_imm(c, out, grp_mov, 1, 1);
    case 0xc7: return form_group_imm(c, out, grp_mov, c->opsz, iz_len(c));
    case 0xf6: return form_group_imm(c, out, grp3, 1, 1);
    case 0xf7: return form_group_imm(c, out, grp3, c->opsz, iz_len(c));
    default:   return -EINVAL;
    }
}

/* LOCK is legal only on read-modify-write forms with a memory destination (SDM 2A 'LOCK'). */
static int lock_ok(const struct insn *in)
{
    switch (in->op) {
    case INSN_ADD: case INSN_OR: case INSN_ADC: case INSN_SBB: case INSN_AND: case INSN_SUB:
    case INSN_XOR:
        return in->mem_dst;
    case INSN_XCHG: case INSN_BTS: case INSN_BTR: case INSN_BTC:
        return 1;
    default:
        return 0;
    }
}

int insn_decode(const uint8_t *bytes, size_t avail, int mode, struct insn *out)
{
    struct dctx c = { .b = bytes, .avail = bytes ? avail : 0, .mode = mode };
    uint8_t opc;
    int rc;

    memset(out, 0, sizeof(*out));
    out->reg = INSN_NOREG;
    out->seg_override = SEG_NONE;
    out->mem.base = out->mem.index = INSN_NOREG;
    if (mode != 16 && mode != 32 && mode != 64)
        return -EINVAL;
    out->mode = (uint8_t)mode;
    if ((rc = decode_prefixes(&c, out, &opc)))
        return rc;
    if ((rc = decode_opcode(&c, out, opc)))
        return rc;
    if (out->lock && !lock_ok(out))
        return -EINVAL;
    if (out->op != INSN_STOS && out->op != INSN_MOVS)
        out->rep = 0;           /* F2/F3 on other forms are ignored hints (e.g. XACQUIRE/XRELEASE) */
    out->len = (uint8_t)c.pos;
    return 0;
}

uint64_t insn_mem_linear(const struct insn *in, const struct guest_regs *regs)
{
    const struct insn_mem *m = &in->mem;
    uint64_t ea = (uint64_t)m->disp;
    uint64_t amask = in->addr_size == 8 ? ~0ull : (1ull << (8 * in->addr_size)) - 1;

    if (m->rip_rel)
        ea += regs->rip + in->len;
    if (m->base != INSN_NOREG)
        ea += regs->gpr[m->base & 15];
    if (m->index != INSN_NOREG)
        ea += regs->gpr[m->index & 15] * m->scale;
    return guest_linear(regs, m->seg, ea & amask);
}

/* x86 instruction decoder and emulator for the memory-operand forms guests use on MMIO registers. */
#ifndef SHOAL_VMM_DECODE_H
#define SHOAL_VMM_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "vmm/regs.h"
#include "vmm/gwalk.h"

#define INSN_MAX_LEN 15

enum insn_op {
    INSN_MOV = 1,   /* mov r/m,reg / reg,r/m / r/m,imm / moffs */
    INSN_MOVZX,     /* reg(opsize) <- zero-extended mem(size) */
    INSN_MOVSX,     /* reg(opsize) <- sign-extended mem(size), includes MOVSXD */
    INSN_ADD, INSN_OR, INSN_ADC, INSN_SBB, INSN_AND, INSN_SUB, INSN_XOR, INSN_CMP,  /* ALU row order */
    INSN_TEST,
    INSN_XCHG,
    INSN_BT, INSN_BTS, INSN_BTR, INSN_BTC,
    INSN_STOS,      /* ES:[rDI] <- AL/AX/EAX/RAX */
    INSN_MOVS,      /* ES:[rDI] <- seg:[rSI]; mem describes the destination */
};

#define INSN_REP    1   /* F3 on a string op */
#define INSN_REPNE  2   /* F2 on a string op */

/* Memory operand: linear = seg base + (base + index * scale + disp) at addr_size (or rip-relative). */
struct insn_mem {
    uint8_t base;       /* GPR index, or INSN_NOREG */
    uint8_t index;      /* GPR index, or INSN_NOREG */
    uint8_t scale;      /* 1, 2, 4, 8 */
    uint8_t rip_rel;    /* disp is relative to the next instruction's RIP */
    uint8_t seg;        /* enum seg_reg actually used (override or default) */
    int64_t disp;       /* sign-extended displacement or moffs (zero-extended) */
};
#define INSN_NOREG 0xff

struct insn {
    uint8_t len;        /* bytes, 1..15 */
    uint8_t mode;       /* 16, 32 or 64 */
    uint8_t op;         /* enum insn_op */
    uint8_t size;       /* bytes of the memory access: 1, 2, 4, 8 */
    uint8_t opsize;     /* bytes of the register operand / result (MOVZX/MOVSX: destination width) */
    uint8_t addr_size;  /* 2, 4, 8 */
    uint8_t reg;        /* register operand GPR index, or INSN_NOREG when the source is an immediate */
    uint8_t reg_high;   /* reg names AH/CH/DH/BH (bits 15:8 of reg 0-3) */
    uint8_t mem_dst;    /* the memory operand is the first (destination) operand */
    uint8_t has_imm;
    uint8_t rep;        /* 0, INSN_REP, INSN_REPNE (string ops only) */
    uint8_t lock;
    uint8_t seg_override; /* enum seg_reg of a segment prefix, or SEG_NONE */
    uint8_t rex;        /* the REX byte in effect, or 0 */
    uint64_t imm;       /* immediate, sign- or zero-extended to 64 bits as the instruction defines */
    struct insn_mem mem;
};

/*
 * Decode one instruction from bytes[0..avail) in the given mode (16, 32, 64). Never reads past avail.
 * Returns 0 with *out filled; -EAGAIN when avail ends before the instruction does (and it could still
 * be a supported one); -EINVAL for anything unsupported or malformed (unknown opcode, register-only
 * ModRM, LOCK where #UD, REX outside 64-bit mode, more than 15 bytes).
 */
int insn_decode(const uint8_t *bytes, size_t avail, int mode, struct insn *out);

/* Linear address of the memory operand of in under regs (RIP-relative uses rip + len). */
uint64_t insn_mem_linear(const struct insn *in, const struct guest_regs *regs);

struct mmio_access_ops {
    int (*read)(void *ctx, uint64_t gpa, int size, uint64_t *val);
    int (*write)(void *ctx, uint64_t gpa, int size, uint64_t val);
};

/* Guest linear-address accessors for MOVS: device or RAM, through the guest's page tables. */
struct linear_access_ops {
    int (*read)(void *ctx, uint64_t linear, int size, uint64_t *val);
    int (*write)(void *ctx, uint64_t linear, int size, uint64_t val);
};

/*
 * Emulate a decoded instruction whose memory operand is the device at gpa: performs the read and/or
 * write through ops, updates the destination register (x86 merge/zero-extend rules), RFLAGS for the
 * ALU ops, TEST, CMP and BT*, and advances RIP by in->len. REP STOS runs one iteration per call:
 * it stores once, steps rDI by DF, decrements rCX, and leaves RIP in place while rCX is still non-zero
 * so the guest re-executes the instruction (a zero count just advances RIP). Returns 0, the device
 * callback's negative errno (registers untouched), or -ENOTSUP for forms it cannot emulate (MOVS:
 * see insn_emulate_movs).
 */
int insn_emulate(const struct insn *in, struct guest_regs *regs, uint64_t gpa,
                 const struct mmio_access_ops *ops, void *ctx);

/*
 * Emulate one element of a (REP) MOVS whose source seg:rSI or destination ES:rDI is a device: reads the
 * source and writes the destination through ops at their linear addresses (the caller walks the guest's
 * page tables, dispatches to RAM or device, and injects any #PF, returning its error), steps rSI/rDI by
 * DF, and with REP decrements rCX, leaving RIP in place while rCX is non-zero. Returns 0, ops' negative
 * errno (registers untouched), or -EINVAL when in is not a MOVS.
 */
int insn_emulate_movs(const struct insn *in, struct guest_regs *regs, const struct linear_access_ops *ops,
                      void *ctx);
#endif

/* iSCSI PDU basic header segment (BHS): opcodes, flags, and encode/decode of the 48-byte header (RFC 7143 11). */
#ifndef SHOAL_ISCSI_PDU_H
#define SHOAL_ISCSI_PDU_H
#include <stddef.h>
#include <stdint.h>
#include "kernel/byteorder.h"          /* get_be32 and friends: every BHS field is big-endian */

#define ISCSI_BHS_LEN     48
#define ISCSI_DIGEST_LEN  4
#define ISCSI_RSVD_TAG    0xffffffffu

/* Initiator opcodes (RFC 7143 11.1.1). */
#define ISCSI_OP_NOP_OUT     0x00
#define ISCSI_OP_SCSI_CMD    0x01
#define ISCSI_OP_LOGIN_REQ   0x03
#define ISCSI_OP_TEXT_REQ    0x04
#define ISCSI_OP_LOGOUT_REQ  0x06
/* Target opcodes. */
#define ISCSI_OP_NOP_IN      0x20
#define ISCSI_OP_SCSI_RSP    0x21
#define ISCSI_OP_TMF_RSP     0x22
#define ISCSI_OP_LOGIN_RSP   0x23
#define ISCSI_OP_TEXT_RSP    0x24
#define ISCSI_OP_DATA_IN     0x25
#define ISCSI_OP_LOGOUT_RSP  0x26
#define ISCSI_OP_R2T         0x31
#define ISCSI_OP_ASYNC       0x32
#define ISCSI_OP_REJECT      0x3f
#define ISCSI_OP_IMMEDIATE   0x40     /* I bit in byte 0 of initiator PDUs */

/* Byte-1 flags. */
#define ISCSI_F_FINAL        0x80
#define ISCSI_F_CONT         0x40     /* Text/Login C bit */
#define ISCSI_F_READ         0x40     /* SCSI command R bit */
#define ISCSI_F_ATTR_SIMPLE  0x01
#define ISCSI_F_LOGIN_TRANSIT 0x80
#define ISCSI_F_DATA_ACK     0x40     /* Data-In A bit */
#define ISCSI_F_OVERFLOW     0x04     /* Data-In/SCSI Response O bit */
#define ISCSI_F_UNDERFLOW    0x02     /* Data-In/SCSI Response U bit */
#define ISCSI_F_STATUS       0x01     /* Data-In S bit */

/* Login stages (CSG/NSG). */
#define ISCSI_STAGE_SECURITY 0
#define ISCSI_STAGE_OPER     1
#define ISCSI_STAGE_FFP      3

/*
 * A BHS decoded into named fields. Only the fields the opcode defines are meaningful; the same
 * struct serves every opcode so one encoder and one decoder cover them all. Field names follow
 * RFC 7143; "sn1/sn2/sn3" hold the three sequence numbers at bytes 24/28/32 (CmdSN/ExpStatSN for
 * initiator PDUs; StatSN/ExpCmdSN/MaxCmdSN for target PDUs).
 */
struct iscsi_pdu {
    uint8_t opcode;         /* without the I bit */
    uint8_t immediate;      /* I bit (initiator PDUs) */
    uint8_t flags;          /* byte 1 */
    uint8_t b2, b3;         /* byte 2/3: version max/min, response, status, reject reason... */
    uint8_t ahs_len;        /* TotalAHSLength in 4-byte words */
    uint32_t dlen;          /* DataSegmentLength (24 bits) */
    uint8_t lun[8];         /* bytes 8-15: LUN, or ISID(6)+TSIH(2) for login */
    uint32_t itt;           /* bytes 16-19 */
    uint32_t w20;           /* bytes 20-23: TTT, EDTL, CID<<16 ... */
    uint32_t sn1, sn2, sn3; /* bytes 24-35 */
    uint32_t w36, w40, w44; /* bytes 36-47: DataSN/R2TSN/ExpDataSN, BufferOffset, residuals/DDTL */
    uint8_t cdb[16];        /* SCSI Command: bytes 32-47 (overlaps sn3/w36/w40/w44) */
};

/* Encode p into bhs[48]. SCSI Command PDUs take bytes 32-47 from cdb, others from sn3/w36/w40/w44. */
void iscsi_pdu_encode(const struct iscsi_pdu *p, uint8_t bhs[ISCSI_BHS_LEN]);
/* Decode bhs[48] into p. Returns 0, or -EPROTO for an opcode the initiator never receives
 * (p is still filled, so a caller can log it). */
int iscsi_pdu_decode(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_pdu *p);
/* Bytes of padding that follow a data segment of len bytes (to a 4-byte boundary). */
static inline uint32_t iscsi_pad(uint32_t len) { return (4 - (len & 3)) & 3; }

/* RFC 1982 serial number arithmetic on 32-bit sequence numbers: a < b, a <= b. */
static inline int sn_lt(uint32_t a, uint32_t b) { return a != b && (uint32_t)(b - a) < 0x80000000u; }
static inline int sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }

/* Encode a LUN number (0..16383) in SAM single-level format (SAM-5 4.7: peripheral or flat). */
void iscsi_lun_encode(uint32_t lun, uint8_t out[8]);
#endif

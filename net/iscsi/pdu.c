/* iSCSI BHS encode/decode: every opcode shares the 48-byte layout of RFC 7143 11.2.1. */
#include "net/iscsi/pdu.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

void iscsi_pdu_encode(const struct iscsi_pdu *p, uint8_t b[ISCSI_BHS_LEN])
{
    memset(b, 0, ISCSI_BHS_LEN);
    b[0] = (uint8_t)((p->opcode & 0x3f) | (p->immediate ? ISCSI_OP_IMMEDIATE : 0));
    b[1] = p->flags;
    b[2] = p->b2;
    b[3] = p->b3;
    b[4] = p->ahs_len;
    b[5] = (uint8_t)(p->dlen >> 16); b[6] = (uint8_t)(p->dlen >> 8); b[7] = (uint8_t)p->dlen;
    memcpy(b + 8, p->lun, 8);
    put_be32(b + 16, p->itt);
    put_be32(b + 20, p->w20);
    put_be32(b + 24, p->sn1);
    put_be32(b + 28, p->sn2);
    if (p->opcode == ISCSI_OP_SCSI_CMD) {
        memcpy(b + 32, p->cdb, 16);     /* RFC 7143 11.3: CDB at bytes 32-47 */
        return;
    }
    put_be32(b + 32, p->sn3);
    put_be32(b + 36, p->w36);
    put_be32(b + 40, p->w40);
    put_be32(b + 44, p->w44);
}

int iscsi_pdu_decode(const uint8_t b[ISCSI_BHS_LEN], struct iscsi_pdu *p)
{
    memset(p, 0, sizeof(*p));
    p->opcode = b[0] & 0x3f;
    p->immediate = (b[0] & ISCSI_OP_IMMEDIATE) != 0;
    p->flags = b[1];
    p->b2 = b[2];
    p->b3 = b[3];
    p->ahs_len = b[4];
    p->dlen = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    memcpy(p->lun, b + 8, 8);
    p->itt = get_be32(b + 16);
    p->w20 = get_be32(b + 20);
    p->sn1 = get_be32(b + 24);
    p->sn2 = get_be32(b + 28);
    p->sn3 = get_be32(b + 32);
    p->w36 = get_be32(b + 36);
    p->w40 = get_be32(b + 40);
    p->w44 = get_be32(b + 44);
    memcpy(p->cdb, b + 32, 16);
    switch (p->opcode) {
    case ISCSI_OP_NOP_IN: case ISCSI_OP_SCSI_RSP: case ISCSI_OP_TMF_RSP: case ISCSI_OP_LOGIN_RSP:
    case ISCSI_OP_TEXT_RSP: case ISCSI_OP_DATA_IN: case ISCSI_OP_LOGOUT_RSP: case ISCSI_OP_R2T:
    case ISCSI_OP_ASYNC: case ISCSI_OP_REJECT:
        return 0;
    default:
        return -EPROTO;
    }
}

void iscsi_lun_encode(uint32_t lun, uint8_t out[8])
{
    memset(out, 0, 8);
    if (lun < 256) {
        out[1] = (uint8_t)lun;                       /* peripheral device addressing */
    } else {
        out[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f)); /* flat space addressing */
        out[1] = (uint8_t)lun;
    }
}

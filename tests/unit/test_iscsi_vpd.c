/* Unit tests: INQUIRY VPD page 0x83 designator decoding (SPC-4 7.8.6) on hand-built pages, good and malformed. */
#define TEST_SUITE "iscsi_vpd"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "net/iscsi/vpd.h"
#include "kernel/errno.h"

/* A page like tgtd's: T10 vendor id (ASCII, LU), NAA IEEE registered extended (binary, LU),
 * EUI-64 (binary, LU), SCSI name string (UTF-8, target, iSCSI protocol with PIV). */
static const uint8_t page83[] = {
    0x00, 0x83, 0x00, 0x4c,
    0x02, 0x01, 0x00, 0x10,  'I', 'E', 'T', ' ', ' ', ' ', ' ', ' ', 'd', 'i', 's', 'k', '1', ' ', ' ', ' ',
    0x01, 0x03, 0x00, 0x10,  0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x01, 0x02, 0x00, 0x08,  0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55,
    0x53, 0xa8, 0x00, 0x14,  'i', 'q', 'n', '.', '2', '0', '2', '6', '-', '0', '1', '.', 'x', ':', 't', 0, 0, 0, 0, 0,
};

/* The page in a heap block of exactly its size, so ASan flags any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
    uint8_t *p = malloc(n);
    memcpy(p, src, n);
    return p;
}

TEST(decodes_all_designator_fields)
{
    struct iscsi_desig d[8];
    CHECK_EQ(sizeof(page83), 80);
    CHECK_EQ(iscsi_vpd83_parse(page83, sizeof(page83), d, 8), 4);
    CHECK_EQ(d[0].type, VPD_DT_T10);
    CHECK_EQ(d[0].code_set, VPD_CS_ASCII);
    CHECK_EQ(d[0].assoc, VPD_AS_LU);
    CHECK_EQ(d[0].len, 16);
    CHECK_EQ(d[1].type, VPD_DT_NAA);
    CHECK_EQ(d[1].code_set, VPD_CS_BINARY);
    CHECK_EQ(d[2].type, VPD_DT_EUI64);
    CHECK_EQ(d[3].type, VPD_DT_SCSI_NAME);
    CHECK_EQ(d[3].code_set, VPD_CS_UTF8);
    CHECK_EQ(d[3].assoc, VPD_AS_TARGET);
    CHECK_EQ(d[3].proto, 5);            /* iSCSI (SPC-4 table 362) */
    CHECK_EQ(d[3].piv, 1);
    CHECK_STR(iscsi_desig_type_name(d[1].type), "NAA");
    CHECK_STR(iscsi_desig_code_set_name(d[3].code_set), "UTF-8");
    CHECK_STR(iscsi_desig_assoc_name(d[3].assoc), "target");
}

TEST(formats_each_designator_type)
{
    struct iscsi_desig d[8];
    char s[80];
    CHECK_EQ(iscsi_vpd83_parse(page83, sizeof(page83), d, 8), 4);
    iscsi_desig_format(&d[0], s, sizeof(s));
    CHECK_STR(s, "t10.IET     disk1");
    iscsi_desig_format(&d[1], s, sizeof(s));
    CHECK_STR(s, "naa.60000000000000000000000000010001");
    iscsi_desig_format(&d[2], s, sizeof(s));
    CHECK_STR(s, "eui.001122fffe334455");
    iscsi_desig_format(&d[3], s, sizeof(s));
    CHECK_STR(s, "iqn.2026-01.x:t");
    CHECK_EQ(iscsi_desig_format(&d[1], s, 9), 8);   /* truncated, still terminated */
    CHECK_STR(s, "naa.6000");
}

TEST(pick_prefers_naa_else_first)
{
    struct iscsi_desig d[8];
    int n = iscsi_vpd83_parse(page83, sizeof(page83), d, 8);
    CHECK(iscsi_desig_pick(d, n) == &d[1]);
    CHECK(iscsi_desig_pick(&d[2], 2) == &d[2]);      /* EUI-64 and name: no NAA, the first wins */
    CHECK(iscsi_desig_pick(d, 0) == NULL);
}

TEST(designator_past_page_end_rejected)
{
    /* Page length says 12 bytes; the one descriptor claims 32 bytes of designator. */
    static const uint8_t bad[] = { 0x00, 0x83, 0x00, 0x0c, 0x01, 0x03, 0x00, 0x20,
                                   0x60, 0, 0, 0, 0, 0, 0, 1 };
    struct iscsi_desig d[4];
    uint8_t *p = exact_copy(bad, sizeof(bad));
    CHECK_EQ(iscsi_vpd83_parse(p, sizeof(bad), d, 4), -EPROTO);
    free(p);
    /* A descriptor header cut by the page end (2 of its 4 bytes) is malformed too. */
    static const uint8_t cut[] = { 0x00, 0x83, 0x00, 0x02, 0x01, 0x03 };
    p = exact_copy(cut, sizeof(cut));
    CHECK_EQ(iscsi_vpd83_parse(p, sizeof(cut), d, 4), -EPROTO);
    free(p);
}

TEST(page_length_past_buffer_never_read)
{
    /* Page length 0xff00 but only 40 bytes arrived: the whole first descriptor counts, the cut one does not. */
    uint8_t *p = exact_copy(page83, 40);
    struct iscsi_desig d[4];
    p[2] = 0xff;
    p[3] = 0x00;
    CHECK_EQ(iscsi_vpd83_parse(p, 40, d, 4), 1);
    CHECK_EQ(d[0].type, VPD_DT_T10);
    free(p);
}

TEST(wrong_page_or_short_header_rejected)
{
    static const uint8_t vpd80[] = { 0x00, 0x80, 0x00, 0x00 };
    struct iscsi_desig d[1];
    CHECK_EQ(iscsi_vpd83_parse(vpd80, sizeof(vpd80), d, 1), -EPROTO);
    CHECK_EQ(iscsi_vpd83_parse(page83, 3, d, 1), -EPROTO);
    CHECK_EQ(iscsi_vpd83_parse(page83, 4, d, 1), 0);   /* cut to its header: nothing whole arrived */
}

TEST(counts_beyond_max_without_storing)
{
    struct iscsi_desig d[2];
    d[1].len = 0xee;
    CHECK_EQ(iscsi_vpd83_parse(page83, sizeof(page83), d, 1), 4);
    CHECK_EQ(d[1].len, 0xee);
}

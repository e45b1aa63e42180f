/* SCSI INQUIRY VPD page 0x83 (device identification, SPC-4 7.8.6): designator decoding for the LUN probe. */
#ifndef SHOAL_ISCSI_VPD_H
#define SHOAL_ISCSI_VPD_H
#include <stddef.h>
#include <stdint.h>

/* Designator types (SPC-4 table 603) and code sets (table 600) the formatter knows by name. */
enum { VPD_DT_VENDOR = 0, VPD_DT_T10 = 1, VPD_DT_EUI64 = 2, VPD_DT_NAA = 3, VPD_DT_REL_PORT = 4,
       VPD_DT_TPG = 5, VPD_DT_LUG = 6, VPD_DT_MD5 = 7, VPD_DT_SCSI_NAME = 8 };
enum { VPD_CS_BINARY = 1, VPD_CS_ASCII = 2, VPD_CS_UTF8 = 3 };
/* Associations (SPC-4 table 602). */
enum { VPD_AS_LU = 0, VPD_AS_PORT = 1, VPD_AS_TARGET = 2 };

/* One designation descriptor; data points into the page passed to iscsi_vpd83_parse. */
struct iscsi_desig {
    uint8_t proto, code_set, piv, assoc, type;
    uint8_t len;
    const uint8_t *data;
};

/*
 * Decode the designation descriptors of a VPD 0x83 page; got = bytes actually received. Stores at most
 * max of them in out[] and returns how many the page holds (>= 0). A page the allocation length cut
 * short (PAGE LENGTH past got) yields the descriptors that arrived whole. Returns -EPROTO for a page
 * that is not 0x83 or shorter than its header, or when a complete page has a descriptor running past
 * the page end; never reads page[got] or beyond.
 */
int iscsi_vpd83_parse(const uint8_t *page, uint32_t got, struct iscsi_desig *out, int max);

/*
 * Printable form of d into buf[len] (always NUL-terminated when len > 0): "naa.<hex>", "eui.<hex>",
 * "t10.<ascii>", the SCSI name string itself, else "type<N>.<hex or ascii>". Non-printable ASCII becomes
 * '?'. Returns the length written.
 */
size_t iscsi_desig_format(const struct iscsi_desig *d, char *buf, size_t len);

/* The designator that names a LUN best: the first NAA, else the first one; NULL when n <= 0. */
const struct iscsi_desig *iscsi_desig_pick(const struct iscsi_desig *d, int n);

/* Short names for logs: "NAA", "EUI-64", "T10", "SCSI name", ...; "binary"/"ASCII"/"UTF-8"; "LU"/"port"/"target". */
const char *iscsi_desig_type_name(uint8_t type);
const char *iscsi_desig_code_set_name(uint8_t cs);
const char *iscsi_desig_assoc_name(uint8_t assoc);
#endif

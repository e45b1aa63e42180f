/* SCSI INQUIRY VPD page 0x83 (device identification): bounds-checked designator decoding and formatting. */
#include "net/iscsi/vpd.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"

int iscsi_vpd83_parse(const uint8_t *page, uint32_t got, struct iscsi_desig *out, int max)
{
    uint32_t end, off = 4;
    int n = 0, complete;
    if (!page || got < 4 || page[1] != 0x83)
        return -EPROTO;
    /* SPC-4 7.8.6: PAGE LENGTH (bytes 2-3) counts the descriptors after the 4-byte header. */
    end = 4u + get_be16(page + 2);
    complete = end <= got;
    if (!complete)
        end = got;
    while (off < end) {
        /* Descriptor: proto|code set, PIV|assoc|type, reserved, length, designator (SPC-4 table 599). */
        if (end - off < 4 || page[off + 3] > end - off - 4) {
            if (complete)
                return -EPROTO;         /* runs past the page its own header declared */
            break;                      /* cut by the allocation length: keep the whole ones */
        }
        if (n < max && out) {
            struct iscsi_desig *d = &out[n];
            d->proto = page[off] >> 4;
            d->code_set = page[off] & 0x0f;
            d->piv = page[off + 1] >> 7;
            d->assoc = (page[off + 1] >> 4) & 3;
            d->type = page[off + 1] & 0x0f;
            d->len = page[off + 3];
            d->data = page + off + 4;
        }
        n++;
        off += 4u + page[off + 3];
    }
    return n;
}

static size_t fmt_put(char *buf, size_t len, size_t at, char c)
{
    if (at + 1 < len)
        buf[at++] = c;
    return at;
}

static size_t fmt_str(char *buf, size_t len, size_t at, const char *s)
{
    while (*s)
        at = fmt_put(buf, len, at, *s++);
    return at;
}

static size_t fmt_hex(char *buf, size_t len, size_t at, const uint8_t *p, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (uint32_t i = 0; i < n; i++) {
        at = fmt_put(buf, len, at, hex[p[i] >> 4]);
        at = fmt_put(buf, len, at, hex[p[i] & 15]);
    }
    return at;
}

/* Text designators: stop at the first NUL (SCSI name strings are NUL-padded), drop trailing blanks. */
static size_t fmt_text(char *buf, size_t len, size_t at, const uint8_t *p, uint32_t n)
{
    uint32_t k = 0;
    while (k < n && p[k])
        k++;
    while (k && p[k - 1] == ' ')
        k--;
    for (uint32_t i = 0; i < k; i++)
        at = fmt_put(buf, len, at, p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?');
    return at;
}

size_t iscsi_desig_format(const struct iscsi_desig *d, char *buf, size_t len)
{
    size_t at = 0;
    int text = d->code_set == VPD_CS_ASCII || d->code_set == VPD_CS_UTF8;
    if (!len)
        return 0;
    if (d->type == VPD_DT_NAA || d->type == VPD_DT_EUI64) {
        at = fmt_str(buf, len, at, d->type == VPD_DT_NAA ? "naa." : "eui.");
        at = fmt_hex(buf, len, at, d->data, d->len);
    } else if (d->type == VPD_DT_SCSI_NAME && text) {
        at = fmt_text(buf, len, at, d->data, d->len);
    } else {
        if (d->type == VPD_DT_T10) {
            at = fmt_str(buf, len, at, "t10.");
        } else {
            at = fmt_str(buf, len, at, "type");
            at = fmt_put(buf, len, at, (char)('0' + d->type / 10));
            at = fmt_put(buf, len, at, (char)('0' + d->type % 10));
            at = fmt_put(buf, len, at, '.');
        }
        at = text ? fmt_text(buf, len, at, d->data, d->len) : fmt_hex(buf, len, at, d->data, d->len);
    }
    buf[at] = 0;
    return at;
}

const struct iscsi_desig *iscsi_desig_pick(const struct iscsi_desig *d, int n)
{
    for (int i = 0; i < n; i++)
        if (d[i].type == VPD_DT_NAA)
            return &d[i];
    return n > 0 ? &d[0] : NULL;
}

const char *iscsi_desig_type_name(uint8_t type)
{
    static const char *const names[] = { "vendor", "T10", "EUI-64", "NAA", "rel-port", "port-group",
                                         "LU-group", "MD5", "SCSI name", "proto-port", "UUID" };
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "reserved";
}

const char *iscsi_desig_code_set_name(uint8_t cs)
{
    return cs == VPD_CS_BINARY ? "binary" : cs == VPD_CS_ASCII ? "ASCII" : cs == VPD_CS_UTF8 ? "UTF-8" : "reserved";
}

const char *iscsi_desig_assoc_name(uint8_t assoc)
{
    return assoc == VPD_AS_LU ? "LU" : assoc == VPD_AS_PORT ? "port" : assoc == VPD_AS_TARGET ? "target" : "reserved";
}

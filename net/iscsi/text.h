/* iSCSI text key=value lists (RFC 7143 6.1): build, iterate and validate login/text data segments. */
#ifndef SHOAL_ISCSI_TEXT_H
#define SHOAL_ISCSI_TEXT_H
#include <stddef.h>
#include <stdint.h>

#define ISCSI_KEY_MAX    63      /* RFC 7143 6.1: key names at most 63 bytes */
#define ISCSI_VALUE_MAX  8191    /* RFC 7143 6.1: values at most 8192 bytes with the NUL */

/* A buffer that key=value pairs are appended to. */
struct iscsi_text_buf {
    char *buf;
    size_t cap, len;
    int overflow;            /* set when an append did not fit */
};

/* Append "key=value\0". Returns 0, or -ENOSPC (and sets overflow) when it does not fit. */
int iscsi_text_add(struct iscsi_text_buf *t, const char *key, const char *value);

/* Iteration state over a received data segment. */
struct iscsi_text_iter {
    const char *data;
    size_t len, pos;
};

/*
 * Next pair of data[0..len): on success stores pointers into a NUL-terminated copy-free view (key is
 * written to keybuf, value points into data) and returns 1; returns 0 at the end; returns -EBADMSG
 * for a malformed pair (no '=', empty or overlong key, overlong value, missing NUL terminator).
 * Padding NULs between/after pairs are skipped.
 */
int iscsi_text_next(struct iscsi_text_iter *it, char keybuf[ISCSI_KEY_MAX + 1], const char **value);
/* Check the whole segment: 0 when every pair is well formed, else -EBADMSG. */
int iscsi_text_validate(const char *data, size_t len);
#endif

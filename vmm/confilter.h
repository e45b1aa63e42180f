/* Guest text on the operator's terminal: control characters and escape sequences filtered out. */
#ifndef SHOAL_VMM_CONFILTER_H
#define SHOAL_VMM_CONFILTER_H
#include <stdint.h>

/* Where the filter is inside an escape sequence (ECMA-48 5.3-5.6); zero-initialised = plain text. */
struct con_filter {
    uint8_t state;
};

/*
 * Feed one byte of guest text. Returns the byte to show, or -1 for nothing: printable ASCII, '\n' and
 * '\t' pass; other C0 controls, DEL and '\r' are dropped; bytes from 0x80 (C1 controls, UTF-8) show as
 * '?'; ESC sequences (CSI, OSC/DCS/APC/PM/SOS strings up to BEL, ST or a newline, two-byte escapes)
 * are dropped whole.
 */
int con_filter_byte(struct con_filter *f, uint8_t c);
#endif

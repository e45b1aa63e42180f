/* Filter of guest text for the operator's terminal: drops control characters and escape sequences. */
#include "vmm/confilter.h"

#define ESC 0x1b
#define BEL 0x07

enum { TEXT, ESCAPE, ESC_INTER, CSI, STRING, STRING_ESC };

/* Plain text: printable ASCII, newline and tab; C1 and UTF-8 bytes as '?'; the rest nothing. */
static int text_byte(struct con_filter *f, uint8_t c)
{
    if (c == ESC) {
        f->state = ESCAPE;
        return -1;
    }
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
        return c;
    return c >= 0x80 ? '?' : -1;
}

/* After ESC (ECMA-48 5.3): CSI, a control string (OSC, DCS, SOS, PM, APC), or an escape sequence of
 * intermediates (0x20-0x2F) and one final byte. A control byte ends it and counts as text. */
static int escape_byte(struct con_filter *f, uint8_t c)
{
    if (c < 0x20 || c > 0x7e) {
        f->state = TEXT;
        return text_byte(f, c);
    }
    if (f->state == ESCAPE && c == '[')
        f->state = CSI;
    else if (f->state == ESCAPE && (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_'))
        f->state = STRING;
    else
        f->state = c < 0x30 ? ESC_INTER : TEXT;
    return -1;
}

/* CSI parameters and intermediates (0x20-0x3F) up to a final byte 0x40-0x7E (ECMA-48 5.4). */
static int csi_byte(struct con_filter *f, uint8_t c)
{
    if (c < 0x20 || c > 0x7e) {
        f->state = TEXT;
        return text_byte(f, c);
    }
    if (c >= 0x40)
        f->state = TEXT;
    return -1;
}

/* A control string runs to BEL or ST (ESC \); a newline also ends it so one bad sequence cannot hide
 * the rest of the guest's output. */
static int string_byte(struct con_filter *f, uint8_t c)
{
    if (f->state == STRING_ESC && c != '\\') {
        f->state = ESCAPE;
        return escape_byte(f, c);
    }
    if (c == '\n') {
        f->state = TEXT;
        return c;
    }
    if (c == BEL || f->state == STRING_ESC)
        f->state = TEXT;
    else if (c == ESC)
        f->state = STRING_ESC;
    return -1;
}

int con_filter_byte(struct con_filter *f, uint8_t c)
{
    switch (f->state) {
    case ESCAPE:
    case ESC_INTER:
        return escape_byte(f, c);
    case CSI:
        return csi_byte(f, c);
    case STRING:
    case STRING_ESC:
        return string_byte(f, c);
    default:
        f->state = TEXT;
        return text_byte(f, c);
    }
}

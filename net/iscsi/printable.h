/* Text from a network peer made safe for the operator's terminal (vendor strings, target names, login values). */
#ifndef SHOAL_ISCSI_PRINTABLE_H
#define SHOAL_ISCSI_PRINTABLE_H
#include <stddef.h>

/*
 * Copy src[0..n) (it stops early at a NUL) into dst[cap] with every byte outside printable ASCII
 * (0x20..0x7e), and the backslash itself, written as "\xNN": no control character, escape sequence
 * (ESC, CSI 0x9b, OSC), BEL, DEL or stray UTF-8 byte from a peer reaches a terminal. Truncates at a whole
 * character or escape; always NUL-terminates when cap > 0. Returns dst.
 */
char *iscsi_printable(char *dst, size_t cap, const char *src, size_t n);
#endif

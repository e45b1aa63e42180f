/* Peer text made safe for a terminal: everything but printable ASCII shown as \xNN. */
#include "net/iscsi/printable.h"

char *iscsi_printable(char *dst, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t at = 0;
    if (!cap)
        return dst;
    for (size_t i = 0; i < n && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        int plain = c >= 0x20 && c < 0x7f && c != '\\';
        size_t need = plain ? 1 : 4;
        if (at + need >= cap)
            break;
        if (plain) {
            dst[at++] = (char)c;
            continue;
        }
        dst[at++] = '\\';
        dst[at++] = 'x';
        dst[at++] = hex[c >> 4];
        dst[at++] = hex[c & 15];
    }
    dst[at] = 0;
    return dst;
}

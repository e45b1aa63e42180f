/* mbedTLS's memory accounting on shoal (net/tls/port.c): what TLS holds from the kernel heap. */
#ifndef SHOAL_TLS_PORT_H
#define SHOAL_TLS_PORT_H
#include <stddef.h>

struct tls_heap_stats {
    size_t in_use;      /* bytes mbedTLS holds now */
    size_t peak;        /* most it held at once since boot or the last tls_heap_reset_peak() */
};
/* Copy the counters into *st. */
void tls_heap_get_stats(struct tls_heap_stats *st);
/* Start a new peak measurement from what is in use now. */
void tls_heap_reset_peak(void);
#endif

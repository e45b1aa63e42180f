/* Freestanding <stdlib.h> for lwIP: only atoi (netif_find), provided by net/port/sys_arch.c. */
#ifndef SHOAL_LWIP_STDLIB_H
#define SHOAL_LWIP_STDLIB_H
#include <stddef.h>
int shoal_lwip_atoi(const char *s);
#define atoi shoal_lwip_atoi
#endif

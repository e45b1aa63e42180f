/* Freestanding <stdio.h> for lwIP: empty (diagnostics go through LWIP_PLATFORM_DIAG to the kernel log). */
#ifndef SHOAL_LWIP_STDIO_H
#define SHOAL_LWIP_STDIO_H
#endif

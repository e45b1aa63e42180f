/* Freestanding <string.h> for lwIP: the kernel's own routines (kernel/kstring.c). */
#ifndef SHOAL_LWIP_STRING_H
#define SHOAL_LWIP_STRING_H
#include "kernel/kstring.h"
#endif

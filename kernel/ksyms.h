/* Kernel symbol table (generated at link time) for symbolic backtraces. */
#ifndef SHOAL_KSYMS_H
#define SHOAL_KSYMS_H
#include <stdint.h>

/* Name of the function containing addr and the offset into it, or NULL when unknown. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);
#endif

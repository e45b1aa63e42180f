/* Freestanding string and memory routines (same prototypes as ISO C, so host builds use libc's). */
#ifndef SHOAL_KSTRING_H
#define SHOAL_KSTRING_H
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *hay, const char *needle);
char *strncpy(char *dst, const char *src, size_t n);

/* Copy at most size-1 bytes of src into dst and NUL-terminate (size > 0); returns strlen(src). */
size_t kstrlcpy(char *dst, const char *src, size_t size);

/*
 * Parse an unsigned number in base 10, or 16 with a 0x prefix, with an optional K/M/G/T suffix when
 * allow_suffix is set (binary multiples). Returns 0 and stores it in *out, or -EINVAL for anything
 * malformed (empty, trailing junk) and -ERANGE on overflow.
 */
int kstrtou64(const char *s, uint64_t *out, int allow_suffix);
#endif

/* printf-family formatting: %d %i %u %x %X %o %p %s %c %% with flags - 0 + space #, width, precision, h hh l ll z t j. */
#ifndef SHOAL_PRINTF_H
#define SHOAL_PRINTF_H
#include <stdarg.h>
#include <stddef.h>

/*
 * Format into buf (at most size bytes including the NUL; buf may be NULL when size is 0).
 * Returns the length the full output would have had, like C99 vsnprintf; never writes past size.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Format and write to the console (and the log ring at level INFO via the console sink). Returns length. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* How many messages so far had a format starting "error: " (the shell's own line is then left out). */
unsigned kprintf_error_lines(void);
#endif

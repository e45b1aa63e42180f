/* The serial console: the host's one text channel for output and shell input. */
#ifndef SHOAL_CONSOLE_H
#define SHOAL_CONSOLE_H
#include <stddef.h>

/* Bring up COM1 at 115200 so the first message can be printed; `console=` may move it later. */
void console_early_init(void);
/* Write n bytes to the console, turning \n into \r\n. */
void console_write(const char *s, size_t n);
/* Next input byte or -1 when none is waiting (never blocks). */
int console_getc(void);
/* Describe the console in buf ("ttyS0 at 0x3f8, 115200 baud"). */
void console_describe(char *buf, size_t size);
#endif

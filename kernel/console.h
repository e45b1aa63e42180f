/* The serial console: the host's one text channel for output and shell input. */
#ifndef SHOAL_CONSOLE_H
#define SHOAL_CONSOLE_H
#include <stddef.h>

/* Bring up COM1 at 115200 so the first message can be printed; `console=` may move it later. */
void console_early_init(void);
/* Write n bytes to the console, turning \n into \r\n. */
void console_write(const char *s, size_t n);
/*
 * Copy console output into buf[size] as well (the management API runs shell commands and returns what
 * they print). echo 0 keeps it off the serial line. Output past size is dropped (counted). Not nested:
 * a second begin while one is active returns -EBUSY; 0 otherwise.
 */
int console_capture_begin(char *buf, size_t size, int echo);
/* End the capture: NUL-terminates buf and returns the bytes kept (output dropped for room is not). */
size_t console_capture_end(void);
/* Next input byte or -1 when none is waiting (never blocks). */
int console_getc(void);
/* Describe the console in buf ("ttyS0 at 0x3f8, 115200 baud"). */
void console_describe(char *buf, size_t size);
#endif

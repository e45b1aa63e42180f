/* Host stand-ins for the kernel's services (console, time, heap) so portable sources run in tests and tools. */
#ifndef SHOAL_HOST_SHIM_H
#define SHOAL_HOST_SHIM_H
#include <stddef.h>

/* Console output is kept in a buffer (and echoed to stderr when SHOAL_TEST_VERBOSE is set). */
const char *host_console_text(void);
void host_console_clear(void);
/* Print console output to stderr as well (tools want their log messages visible). */
void host_console_echo(int on);
#endif

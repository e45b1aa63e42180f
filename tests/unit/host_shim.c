/* Host stand-ins for the kernel's services: console capture (kprintf comes from kernel/printf.c), monotonic time, heap over malloc. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tests/unit/host_shim.h"
#include "kernel/printf.h"
#include "kernel/param.h"

static char capture[1 << 16];
static size_t cap_len;
static int echo = -1;

void host_console_echo(int on) { echo = on; }

void console_write(const char *s, size_t n);
void console_write(const char *s, size_t n)
{
    if (echo < 0)
        echo = getenv("SHOAL_TEST_VERBOSE") != NULL;
    if (echo)
        fwrite(s, 1, n, stderr);
    for (size_t i = 0; i < n; i++) {
        if (cap_len + 1 >= sizeof(capture)) {      /* keep the newest half */
            memmove(capture, capture + sizeof(capture) / 2, sizeof(capture) / 2);
            cap_len -= sizeof(capture) / 2;
        }
        capture[cap_len++] = s[i];
    }
    capture[cap_len] = 0;
}

const char *host_console_text(void) { return capture; }
void host_console_clear(void) { cap_len = 0; capture[0] = 0; }

uint64_t time_ns(void);
uint64_t time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void arch_timer_program(uint64_t ns);
void arch_timer_program(uint64_t ns) { (void)ns; }

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);
void *kmalloc(size_t size) { return size ? malloc(size) : NULL; }
void *kzalloc(size_t size) { return size ? calloc(1, size) : NULL; }
void kfree(void *p) { free(p); }

/* shell.c's `help params` reads the linker table; host builds have none. */
int params_table(const struct boot_param *const **out)
{
    *out = NULL;
    return 0;
}

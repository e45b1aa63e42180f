/* panic(): report a broken hypervisor invariant with a backtrace and stop this CPU. */
#include <stdarg.h>
#include <stdint.h>
#include "kernel/kernel.h"
#include "kernel/printf.h"
#include "arch/x86/traps.h"

void panic(const char *fmt, ...)
{
    va_list ap;
    uint64_t rbp;
    __asm__ volatile("cli; mov %%rbp, %0" : "=r"(rbp));
    kprintf("\n*** PANIC: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    backtrace_print((uint64_t)(uintptr_t)__builtin_return_address(0), rbp);
    kprintf("CPU stopped.\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

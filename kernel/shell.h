/* The serial shell: one table of commands, dispatched by name from the console line editor. */
#ifndef SHOAL_SHELL_H
#define SHOAL_SHELL_H
#include <stdint.h>

struct shell_cmd {
    const char *name;
    const char *usage;                 /* arguments, e.g. "[NAME]" */
    const char *help;                  /* one line for `help` */
    int (*run)(int argc, char **argv); /* 0 on success; negative errno prints a one-line error */
};

#define SHELL_MAX_CMDS 64

/* Register a command from any subsystem at link time; shell_init() adds it to the table. */
#define SHELL_COMMAND(name_, usage_, help_, fn_) \
    static const struct shell_cmd cmd_##fn_ = { name_, usage_, help_, fn_ }; \
    static const struct shell_cmd *const cmd_ptr_##fn_ \
        __attribute__((used, section("shell_cmds"))) = &cmd_##fn_

/* Add cmd to the table. Returns 0, -EEXIST for a duplicate name, -ENOSPC when full, -EINVAL for no name. */
int shell_register(const struct shell_cmd *cmd);
/* Find a command by exact name, or NULL. */
const struct shell_cmd *shell_find(const char *name);
/* Forget every registered command (tests). */
void shell_reset(void);
/*
 * Split line and run the command it names. Returns the command's result, 0 for an empty line,
 * -ENOENT for an unknown command (after printing a one-line error).
 */
int shell_exec(char *line);
/* Register the linker-collected commands (duplicates rejected with a warning). */
void shell_init(void);
/* Read console input forever, editing lines and running them. Never returns. */
void shell_loop(void) __attribute__((noreturn));
/* Print a command's usage line as a one-line error; returns -EINVAL for the caller to pass on. */
int shell_usage(const char *name);
/*
 * Divert console input: while set, every input byte goes to fn instead of the line editor (a guest
 * console attached with `vm console`). fn returns nonzero to detach; the prompt then comes back.
 */
void shell_divert_input(int (*fn)(int c, void *arg), void *arg);

/* Let the shell loop call fn on every idle turn (I/O polling); at most 8 hooks. */
int shell_add_poll(void (*fn)(void));
/*
 * Like shell_add_poll, for pollers that say whether they did work (nonzero) or found nothing (0).
 * When every poller is of this kind and none did work, the loop sleeps until the next interrupt.
 * At most 16; returns 0 or -ENOSPC.
 */
int shell_add_poller(int (*fn)(void));
/*
 * Register a check that work waits for the poll loop: fn returns SHELL_WAIT_FRAME for a frame from the host
 * NIC (it may wake a halted vCPU), SHELL_WAIT_HANDED for work another CPU handed over (it waits for this
 * CPU), else 0. It is asked at every VM exit on the boot CPU, so it must read memory only. At most 4; 0 or
 * -ENOSPC.
 */
#define SHELL_WAIT_FRAME  1
#define SHELL_WAIT_HANDED 2
int shell_add_waiting(int (*fn)(void));
/* The highest answer of the registered checks (see shell_add_waiting): 0 when nothing waits. */
int shell_io_waiting(void);
/* Time the shell loop has spent halted with nothing to do (the CPU's idle time), in ns. */
uint64_t shell_idle_ns(void);
#endif

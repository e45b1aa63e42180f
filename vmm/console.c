/* Guest serial consoles: a ring of output per VM, `vm console` (attach, Ctrl-] detaches) and `vm log`. */
#include "vmm/vm.h"
#include "kernel/shell.h"
#include "kernel/console.h"
#include "kernel/printf.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/init.h"

#define RING_SIZE  (64 * 1024)
#define CTRL_RBRACKET 0x1d

struct vm_console {
    char ring[RING_SIZE];
    uint64_t head;                 /* bytes ever written */
    char line[160];
    int linelen;
};

static struct vm *attached;

static void console_free(struct vm *vm, void *arg)
{
    (void)arg;
    if (attached == vm) {
        attached = NULL;
        shell_divert_input(NULL, NULL);
        kprintf("\n[vm %s destroyed: console detached]\nshoal> ", vm->name);
    }
    kfree(vm->console);
    vm->console = NULL;
}

static struct vm_console *get(struct vm *vm)
{
    if (!vm->console && (vm->console = kzalloc(sizeof(*vm->console))))
        vm_on_destroy(vm, console_free, NULL);
    return vm->console;
}

void vm_console_out(struct vm *vm, char c)
{
    struct vm_console *con = get(vm);
    if (!con)
        return;
    con->ring[con->head++ % RING_SIZE] = c;
    if (attached == vm) {
        console_write(&c, 1);
        return;
    }
    /* Not attached: whole lines, prefixed, so guests do not garble the shell. */
    if (c == '\n' || con->linelen == (int)sizeof(con->line)) {
        kprintf("[%s] %.*s\n", vm->name, con->linelen, con->line);
        con->linelen = 0;
    } else if (c != '\r') {
        con->line[con->linelen++] = c;
    }
}

static int attach_input(int c, void *arg)
{
    struct vm *vm = arg;
    if (c == CTRL_RBRACKET || attached != vm) {
        attached = NULL;
        kprintf("\n[detached from %s]", vm->name);
        return 1;
    }
    if (vm->console_rx)
        vm->console_rx(vm->console_dev, (char)c);
    return 0;
}

/* A VM that stops (poweroff, fault) while attached gives the shell back at once: otherwise the keys typed
 * next would still go to its dead UART and shoal's shell would seem not to echo. */
static int console_poll(void)
{
    if (!attached || attached->state != VM_STOPPED)
        return 0;
    kprintf("\n[vm %s stopped: console detached]\nshoal> ", attached->name);
    attached = NULL;
    shell_divert_input(NULL, NULL);
    return 1;
}

static int console_init(void)
{
    return shell_add_poller(console_poll);
}
INIT_HOOK(INIT_VMM, console_init);

int vm_console_attach(struct vm *vm)
{
    if (!vm->console_rx) {
        kprintf("error: vm %s has no serial console\n", vm->name);
        return -ENODEV;
    }
    attached = vm;
    kprintf("[attached to %s's console: Ctrl-] detaches]\n", vm->name);
    shell_divert_input(attach_input, vm);
    return 0;
}

int vm_console_log(struct vm *vm)
{
    struct vm_console *con = vm->console;
    uint64_t start;
    if (!con) {
        kprintf("(vm %s has printed nothing)\n", vm->name);
        return 0;
    }
    start = con->head > RING_SIZE ? con->head - RING_SIZE : 0;
    for (uint64_t i = start; i < con->head; i++)
        console_write(&con->ring[i % RING_SIZE], 1);
    if (con->head && con->ring[(con->head - 1) % RING_SIZE] != '\n')
        kprintf("\n");
    return 0;
}

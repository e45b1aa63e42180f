/* Guest consoles: a log ring and a bounded output queue per VM, drained from the main loop; `vm console`, `vm log`. */
#include "vmm/vm.h"
#include "vmm/confilter.h"
#include "kernel/shell.h"
#include "kernel/console.h"
#include "kernel/printf.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/init.h"

#define RING_SIZE     (64 * 1024)   /* `vm log`: the guest's raw serial output */
#define QUEUE_SIZE    (32 * 1024)   /* waiting for the host console */
#define DRAIN_TURN    1024          /* bytes written to the host console per main-loop turn, all VMs */
#define DRAIN_VM      256           /* ... and per VM in one go, round robin */
#define CTRL_RBRACKET 0x1d

/* A filtered line being assembled, shown as "[vm] line". */
struct con_line {
    char buf[160];
    int len;
    struct con_filter filter;
};

struct vm_console {
    char ring[RING_SIZE];
    uint64_t head;                 /* bytes ever written */
    struct con_line uart, hcall;   /* the serial line's text and the hypercall console's, apart */
    char queue[QUEUE_SIZE];        /* bytes for the host console, oldest at qhead */
    uint32_t qhead, qlen;
    uint64_t dropped;              /* bytes the full queue refused, not yet reported */
};

static struct vm *attached;
static int drain_cursor;

/* Queue bytes for the host console, all or nothing (lines stay whole); what does not fit is dropped and
 * counted. Never blocks. */
static void enqueue(struct vm_console *con, const char *s, size_t n)
{
    if (n > QUEUE_SIZE - con->qlen) {
        con->dropped += n;
        return;
    }
    for (size_t i = 0; i < n; i++)
        con->queue[(con->qhead + con->qlen++) % QUEUE_SIZE] = s[i];
}

/* Write up to max queued bytes of vm to the host console (then the drop note, once empty). */
static uint32_t drain(struct vm *vm, uint32_t max)
{
    struct vm_console *con = vm->console;
    uint32_t done = 0;
    while (con && con->qlen && done < max) {
        uint32_t n = QUEUE_SIZE - con->qhead;
        n = n < con->qlen ? n : con->qlen;
        n = n < max - done ? n : max - done;
        console_write(con->queue + con->qhead, n);
        con->qhead = (con->qhead + n) % QUEUE_SIZE;
        con->qlen -= n;
        done += n;
    }
    if (con && !con->qlen && con->dropped) {
        kprintf("[%s: %llu bytes dropped]\n", vm->name, (unsigned long long)con->dropped);
        con->dropped = 0;
    }
    return done;
}

void vm_console_flush(struct vm *vm)
{
    while (vm->console && (vm->console->qlen || vm->console->dropped))
        drain(vm, QUEUE_SIZE);
}

static void console_free(struct vm *vm, void *arg)
{
    (void)arg;
    vm_console_flush(vm);
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

/* One byte of guest text, filtered, into whole "[vm] ..." lines so guests do not garble the shell. */
static void line_byte(struct vm *vm, struct vm_console *con, struct con_line *l, char c)
{
    int f = con_filter_byte(&l->filter, (uint8_t)c);
    if (f < 0)
        return;
    if (f != '\n' && l->len < (int)sizeof(l->buf)) {
        l->buf[l->len++] = (char)f;
        return;
    }
    char out[VM_NAME_MAX + sizeof(l->buf) + 4];
    int n = ksnprintf(out, sizeof(out), "[%s] %.*s\n", vm->name, l->len, l->buf);
    enqueue(con, out, (size_t)n);
    l->len = 0;
    if (f != '\n')
        l->buf[l->len++] = (char)f;
}

void vm_console_out(struct vm *vm, char c)
{
    struct vm_console *con = get(vm);
    if (!con)
        return;
    con->ring[con->head++ % RING_SIZE] = c;
    if (attached == vm)
        enqueue(con, &c, 1);          /* attached: raw bytes, escapes included (README) */
    else
        line_byte(vm, con, &con->uart, c);
}

void vm_console_put(struct vm *vm, const char *s, size_t n)
{
    struct vm_console *con = get(vm);
    for (size_t i = 0; con && i < n; i++)
        line_byte(vm, con, &con->hcall, s[i]);
}

static int attach_input(int c, void *arg)
{
    struct vm *vm = arg;
    if (c == CTRL_RBRACKET || attached != vm) {
        attached = NULL;
        kprintf("\n[detached from %s]", vm->name);
        return 1;
    }
    if (vm->console_in.rx)
        vm->console_in.rx(vm->console_in.dev, (char)c);
    return 0;
}

/* Round robin over the VMs, DRAIN_VM bytes each, at most DRAIN_TURN a turn: a chatty guest delays the
 * others' output by one turn at most and the shell by the time DRAIN_TURN bytes take on the UART. */
static int drain_all(void)
{
    uint32_t budget = DRAIN_TURN, before;
    do {
        before = budget;
        for (int k = 0; k < VM_MAX && budget; k++) {
            struct vm *vm = vm_slot((drain_cursor + k) % VM_MAX);
            if (vm)
                budget -= drain(vm, budget < DRAIN_VM ? budget : DRAIN_VM);
        }
        drain_cursor = (drain_cursor + 1) % VM_MAX;
    } while (budget && budget != before);
    return budget != DRAIN_TURN;
}

/* A VM that stops (poweroff, fault) while attached gives the shell back at once: otherwise the keys typed
 * next would still go to its dead UART and shoal's shell would seem not to echo. */
static int console_poll(void)
{
    int busy = drain_all();
    if (!attached || attached->state != VM_STOPPED)
        return busy;
    vm_console_flush(attached);
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
    if (!vm->console_in.rx) {
        kprintf("error: vm %s has no serial console\n", vm->name);
        return -ENODEV;
    }
    vm_console_flush(vm);
    attached = vm;
    kprintf("[attached to %s's console: Ctrl-] detaches]\n", vm->name);
    shell_divert_input(attach_input, vm);
    return 0;
}

/* `vm log` shows the ring through a fresh filter: the operator did not attach to this. */
int vm_console_log(struct vm *vm)
{
    struct vm_console *con = vm->console;
    struct con_filter f = { 0 };
    int last = '\n';
    if (!con) {
        kprintf("(vm %s has printed nothing)\n", vm->name);
        return 0;
    }
    for (uint64_t i = con->head > RING_SIZE ? con->head - RING_SIZE : 0; i < con->head; i++) {
        int c = con_filter_byte(&f, (uint8_t)con->ring[i % RING_SIZE]);
        if (c >= 0) {
            char ch = (char)c;
            console_write(&ch, 1);
            last = c;
        }
    }
    if (last != '\n')
        kprintf("\n");
    return 0;
}

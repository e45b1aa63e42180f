/* Virtual machines and vCPUs: lifecycle, memory, device registration, events, statistics. */
#ifndef SHOAL_VMM_VM_H
#define SHOAL_VMM_VM_H
#include <stdint.h>
#include <stddef.h>
#include "arch/x86/hvm.h"
#include "vmm/regs.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define VM_MAX        16
#define VCPU_MAX      4
#define VM_NAME_MAX   16
#define VM_PIO_MAX    32
#define VM_MMIO_MAX   16
#define CHUNK_SIZE    (2ull << 20)

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPED };

struct vm;
struct snap;

/*
 * One entry of a VM's device registry (vmm/devreg.c): every device (interrupt chips, legacy devices,
 * virtio, test devices) and every destroy-time cleanup registers one. A NULL hook is skipped.
 * snapshot/post_restore serve migration; quiesce stops a device starting new work and returns how many
 * of its requests are still in flight (0: idle); reset puts it in its power-on state and cancels what
 * it had in flight (nothing of it may reach guest RAM afterwards); destroy frees it.
 */
struct vm_dev {
    const char *name;
    void (*snapshot)(void *dev, struct snap *s);
    void (*post_restore)(struct vm *vm, void *dev);
    int (*quiesce)(struct vm *vm, void *dev);
    void (*reset)(struct vm *vm, void *dev);
    void (*destroy)(struct vm *vm, void *dev);
    void *dev;
};

struct vcpu {
    struct vm *vm;
    int id;
    struct hvm_vcpu *hw;
    struct xstate *fpu;              /* x87/SSE/AVX registers while another vCPU owns the hardware's */
    struct guest_regs regs;          /* GPRs, RIP, RFLAGS always current; the rest after vcpu_sync_full */
    int full_valid;                  /* regs holds the full state */
    int halted;
    int wait_sipi;                   /* after INIT: halted until a startup IPI */
    uint64_t irq_pending[4];         /* 256-bit vector bitmap (VMs without an interrupt chip) */
    void *lapic;                     /* the vCPU's local APIC model, when the VM has one */
    struct hvm_event exc;            /* pending exception */
    int exc_pending;
    uint64_t tsc_offset;             /* guest TSC - host TSC (0 unless the vCPU was restored from a record) */
    uint64_t run_ns;                 /* time spent in the guest */
    int home;                        /* the CPU that runs it and holds its hardware state (0: the boot CPU) */
    int pin;                         /* the CPU vm create cpus= put it on (-1: any; the balancer moves it) */
    volatile int move_to;            /* the CPU it goes to once off its own (-1: none): sched_move */
    volatile int on_cpu;             /* the CPU inside a slice of it now, -1 between slices */
    int last_cpu;                    /* where its last slice ran (-1: never) */
    uint64_t moves;                  /* how often it changed CPU */
    uint64_t moved_ns;               /* when it last did */
    volatile int in_guest;           /* in guest mode now (or about to enter) */
    volatile uint32_t entries;       /* bumped before each entry: vm_tlb_shootdown waits for it to change */
    uint64_t wake_ns;                /* when it was woken from HLT (0: not waiting to run) */
    int wake_local;                  /* 1: by its own CPU (a timer there, a vCPU there), 0: by another */
    int put_pending;                 /* regs to be loaded by its own CPU before its next entry */
    int sipi_pending;                /* a startup IPI from another CPU, applied by its own CPU */
    uint8_t sipi_vector;
    uint64_t exits[EXIT_CODE_COUNT];
};

/* Device callbacks see offsets from the range's base; return 0 or negative errno (stops the VM). */
struct pio_range {
    uint16_t base, count;
    int (*in)(void *dev, uint16_t off, int size, uint32_t *val);
    int (*out)(void *dev, uint16_t off, int size, uint32_t val);
    void *dev;
};

struct mmio_range {
    uint64_t base, len;
    int (*read)(void *dev, uint64_t off, int size, uint64_t *val);
    int (*write)(void *dev, uint64_t off, int size, uint64_t val);
    void *dev;
};

struct mem_chunk {
    uint64_t hpa;                    /* 2 MiB-aligned chunk, or 0 when made of pages */
    uint64_t *pages;                 /* 512 page addresses when hpa == 0 */
};

struct vm {
    char name[VM_NAME_MAX];
    int id;
    int slot;                         /* its index in the VM table (vm_slot) */
    enum vm_state state;
    char stop_reason[192];
    int exit_code;
    uint64_t mem_size;
    struct mem_chunk *chunks;
    int nchunks;
    struct gmem_lease *lease;        /* RAM holds of requests still at a disk (vmm/gmem.c) */
    struct dirty_log *dirty;         /* pages written since the last collect, while tracked (vmm/dirty.c) */
    struct hvm_vm *hw;
    struct vcpu *vcpu[VCPU_MAX];
    int nvcpus;
    struct pio_range pio[VM_PIO_MAX];
    int npio;
    struct mmio_range mmio[VM_MMIO_MAX];
    int nmmio;
    uint64_t exits_total, rate_exits, rate_ns, exits_per_sec;
    uint64_t started_ns;             /* first `vm start` */
    uint64_t rate_run_ns, cpu_permille;   /* guest time at the last rate update; share of the last window */
    const char *guest;               /* what it runs, as `vm list` shows it */
    const struct vm_platform *platform;   /* its platform's hooks (vmm/platform.h); NULL: none */
    void *platform_data;             /* that platform's record of this VM */
    const struct irq_chip *irqchip;  /* interrupt routing (NULL: test guests' direct vectors) */
    struct vcpu *running;            /* the vCPU whose exits are being handled (MMIO of per-CPU devices) */
    struct vm_console_in {           /* the guest UART's receive side, when it has one (vm_console_set_input) */
        void (*rx)(void *dev, char c);
        void *dev;
    } console_in;
    struct vm_console *console;       /* output ring (vmm/console.c) */
    struct vm_dev *devs;              /* the device registry, in registration order (vmm/devreg.c) */
    int ndevs, devs_cap;
    struct {                          /* accesses where nothing is mapped (vmm/io_exit.c) */
        uint64_t reads, writes;
        uint64_t log_ns;              /* when the last rate-limited line about them was printed */
        uint32_t logged, quiet;       /* lines printed; accesses not printed since */
    } unassigned;
    void *mig;                        /* the migration session moving it (vmm/mig/): start and stop refused */
    unsigned throttle_pct;            /* share of its CPU time it is held off (sched_throttle), 0..99 */
    int held;                         /* its vCPUs stay on the CPU vm_gather brought them to, until what
                                         gathered them (vm move, a migration) fails or ends */
    char create_args[384];            /* `vm create`'s arguments after the name, NUL-separated (vm move) */
    int create_argc;
};

/* Register a device (a copy of *d) with vm; the table grows as needed. 0, -EINVAL without a name, -ENOMEM. */
int vm_dev_register(struct vm *vm, const struct vm_dev *d);
/* A device's state: size zeroed bytes, registered with vm as *reg describes (its dev is the new state, whatever
 * reg->dev holds). NULL with *rc set (-ENOMEM, or vm_dev_register's error), nothing left behind. */
void *vm_dev_new(struct vm *vm, size_t size, const struct vm_dev *reg, int *rc);
/* A destroy hook for state that holds nothing else: frees dev. */
void vm_dev_free(struct vm *vm, void *dev);
/* Run fn(vm, arg) when vm is destroyed (before its memory and vCPUs go): a registry entry with only a
 * destroy hook. -ENOMEM when the table cannot grow. */
int vm_on_destroy(struct vm *vm, void (*fn)(struct vm *vm, void *arg), void *arg);
/*
 * A guest-requested reset: reset every device (power-on state, in-flight requests cancelled so that
 * nothing they complete reaches guest RAM), then ask each to quiesce. Returns how many requests are still
 * in flight: the caller keeps the VM paused and calls again until 0 before reloading guest memory.
 */
int vm_reset_devices(struct vm *vm);
/* Every vCPU back to regs, nothing pending; application processors wait for INIT/SIPI (a platform reset). */
void vm_reset_vcpus(struct vm *vm, const struct guest_regs *regs);
/* Walk the destroy hooks, newest first, and free the registry (vm_destroy does this). */
void vm_destroy_devices(struct vm *vm);

/*
 * Create a VM named name with mem_size bytes of RAM (rounded up to 2 MiB) and nvcpus vCPUs whose
 * first state is regs. Returns the VM, or NULL with *err set (-EEXIST name taken, -ENOMEM, -ENOSPC
 * too many VMs, -EINVAL bad name or sizes, -ENODEV no virtualization).
 */
struct vm *vm_create(const char *name, uint64_t mem_size, int nvcpus, const struct guest_regs *regs, int *err);
/* Stop the VM (if running) and free everything it holds. A VM placed on other CPUs is first taken back from
 * them; one a CPU does not give back within 10 s is kept, stopped, with an error logged (never freed while
 * another CPU may still touch it). */
void vm_destroy(struct vm *vm);
/* Let a created or paused VM run. -EINVAL (and nothing changes) when it has stopped for good. */
int vm_start(struct vm *vm);
struct vm *vm_find(const char *name);
/* The state's name as `vm list` shows it ("created", "running", "paused", "stopped"). */
const char *vm_state_name(enum vm_state s);
/* The i-th slot (may be NULL), for listings. */
struct vm *vm_slot(int i);
/* vm's platform record when vm runs platform p, else NULL. */
static inline void *vm_platform_data(const struct vm *vm, const struct vm_platform *p)
{
    return vm->platform == p ? vm->platform_data : NULL;
}
/* The guest asked for a reset: 1 when its platform takes it (reboots it), 0 when it has none (the caller
 * stops the VM with its own reason). */
static inline int vm_platform_reset(struct vm *vm)
{
    if (!vm->platform || !vm->platform->reset)
        return 0;
    vm->platform->reset(vm);
    return 1;
}
/* Mark the VM stopped with a reason (printed once, with a register dump when dump is set). */
void vm_stop(struct vm *vm, int dump, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Guest memory: the only way to touch it. NULL unless [gpa, gpa+len) is RAM and contiguous on the host.
 * gpa_ptr is for reading; whoever writes through a pointer takes it from gpa_ptr_w, which marks the
 * pages dirty for migration (and marks them again with gmem_mark_dirty when it writes later, e.g. a disk
 * read completing into them).
 */
void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len);
void *gpa_ptr_w(struct vm *vm, uint64_t gpa, size_t len);
/* Copy from/to guest RAM across pages (gpa_write marks the pages dirty). 0, or -EFAULT when any byte is
 * outside RAM. */
int gpa_read(struct vm *vm, uint64_t gpa, void *buf, size_t len);
int gpa_write(struct vm *vm, uint64_t gpa, const void *buf, size_t len);
/* The hypervisor wrote [gpa, gpa+len) of guest RAM: set those pages in the dirty log (vmm/dirty.c; a
 * test of one pointer when tracking is off). */
void gmem_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len);
/*
 * A request that writes straight into guest pages (a zero-copy disk read) holds the VM's RAM while it is
 * at the disk: gmem_hold takes a hold (NULL when the VM has no RAM), gmem_unhold gives it back. RAM freed
 * by gmem_free while holds remain goes back to the page allocator, scrubbed, when the last one is given
 * back, so a late completion never writes into pages another tenant or the host already has.
 */
struct gmem_lease *gmem_hold(struct vm *vm);
void gmem_unhold(struct gmem_lease *lease);
/* Allocate and map the VM's RAM (2 MiB chunks where possible). 0 or -ENOMEM. */
int gmem_alloc(struct vm *vm, uint64_t size);
void gmem_free(struct vm *vm);
/* Host physical address backing gpa, or 0 (tests and migration). */
uint64_t gpa_to_hpa(struct vm *vm, uint64_t gpa);

/* Register a port range or MMIO range; -EEXIST on overlap, -ENOSPC when the table is full. */
int vm_register_pio(struct vm *vm, const struct pio_range *r);
int vm_register_mmio(struct vm *vm, const struct mmio_range *r);
struct pio_range *vm_find_pio(struct vm *vm, uint16_t port);
struct mmio_range *vm_find_mmio(struct vm *vm, uint64_t gpa);

/* Store the hardware's x87/SSE/AVX and debug registers in v->fpu when v owns them (before saving v). */
void vcpu_flush_xstate(struct vcpu *v);
/* On v's CPU, before v moves to another: its x87/SSE/AVX registers and its backend state (VMCS: VMCLEAR)
 * go back to memory, so that the next CPU can load them. */
void vcpu_leave_cpu(struct vcpu *v);
/* Forget v as the owner of the hardware's x87/SSE/AVX registers: before freeing v. */
void vcpu_drop_xstate(struct vcpu *v);
/* Raise an external interrupt vector on vcpu (wakes it from HLT). Safe from timer callbacks. */
void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
/* Something for v became deliverable (its LAPIC accepted an interrupt): end HLT if the guest can take it. */
void vcpu_kick(struct vcpu *v);
/* 1 when an interrupt is waiting for v (whether or not the guest can take it now). */
int vcpu_irq_waiting(struct vcpu *v);
/* INIT: v waits for a startup IPI (SDM 3A 8.4.4). */
void vcpu_init_signal(struct vcpu *v);
/* Startup IPI: v starts in real mode at vector * 4 KiB (CS = vector << 8, IP = 0), if it waits for one. */
void vcpu_sipi(struct vcpu *v, uint8_t vector);
/* Queue an exception for the next entry. */
void vcpu_queue_exception(struct vcpu *v, uint8_t vector, int has_error, uint32_t error);
/* Load the full register state from the backend into v->regs (segments, control registers). */
void vcpu_sync_full(struct vcpu *v);
/* Write v->regs' full state back to the backend. */
void vcpu_put_full(struct vcpu *v);
/* Run v until it halts, stops or slice_ns passes. */
void vcpu_run_slice(struct vcpu *v, uint64_t slice_ns);
/* Print the register dump used when a VM is stopped (the registers only from the CPU that runs it). */
void vcpu_dump(struct vcpu *v);
/* regs is v's whole state now: load it into the backend here, or, when v runs on another CPU, have that CPU
 * load it before v's next entry. */
void vcpu_put_later(struct vcpu *v);
/* Wait (the big lock let go meanwhile) until no CPU is inside a slice of vm's vCPUs; the caller stopped or
 * paused vm. 0, or -EBUSY after 10 s. */
int vm_wait_off_cpus(struct vm *vm);
/* Run the vCPUs of vm on CPUs cpus[0..n) (vCPU i on cpus[i % n]), before it first runs. 0, or -EINVAL for a
 * CPU that is not online, -EBUSY once it has run. */
int vm_place(struct vm *vm, const int *cpus, int n);
/* Pin a running or new VM's vCPUs: vCPU i to cpus[i % n] (each moves there after its slice), or, with n 0,
 * to none (the balancer places them). 0, -EINVAL for a CPU that is not online, -EBUSY when vm is held
 * (vm_gather). */
int vm_pin(struct vm *vm, const int *cpus, int n);
/* Whether a vCPU of vm runs on a CPU other than the caller's (its hardware state is out of reach here). */
int vm_runs_elsewhere(const struct vm *vm);
/*
 * Bring vm's vCPUs to the calling CPU and keep them there (the balancer leaves a held VM alone): what needs
 * their hardware state here (saving it, migrating it) calls this first. 0, or -EBUSY with an error line
 * naming what when a vCPU is pinned elsewhere (cpus=) or did not come within 2 s.
 */
int vm_gather(struct vm *vm, const char *what);
/*
 * After protection was added to vm's second-level tables: returns once no vCPU of vm can still use a
 * translation cached before (each one in guest mode on another CPU was made to exit; its next entry there
 * flushes, as every entry after a change does: the backends' wp_gen). The big lock is let go while
 * waiting. 0, or -ETIMEDOUT when a CPU did not answer in 1 s (the change must not count as done).
 */
int vm_tlb_shootdown(struct vm *vm);

/* Exit dispatch: handle ex for v. 0 to continue, 1 to leave the slice, negative to stop the VM (reason set). */
int exit_dispatch(struct vcpu *v, struct vm_exit *ex);
const char *exit_name(int code);

/*
 * Guest console output never waits for the host UART: it goes to a per-VM queue (32 KiB) that the main
 * loop drains at a bounded rate; what overflows is dropped and reported as "[vm: N bytes dropped]".
 * Text is filtered (vmm/confilter.h) and shown in whole lines "[vm] ..." unless the shell is attached.
 */
/* Hypercall print: queued line by line, prefixed with the VM name. */
void vm_console_put(struct vm *vm, const char *s, size_t n);
/* A byte from the guest's serial console (its UART's transmitter): kept raw in the VM's ring (`vm log`),
 * queued raw when the shell is attached to it (`vm console`), else filtered into "[vm] ..." lines. */
void vm_console_out(struct vm *vm, char c);
/* Write everything vm has queued now (before a message that must follow it, and before it goes). */
void vm_console_flush(struct vm *vm);
/* `vm console`: divert the shell's input to the guest UART until Ctrl-]. 0 or -ENODEV (no UART). */
int vm_console_attach(struct vm *vm);
/* `vm log`: print the VM's console ring. */
int vm_console_log(struct vm *vm);
#endif

/* The VMM core as a host process over a scripted backend: exit dispatch, device windows, the device
 * registry, the platform hooks and event delivery (vmm/vm.c, vcpu.c, exit.c, iomap.c, io_exit.c, msr.c). */
#define TEST_SUITE "vmm-exits"
#include "tests/unit/test.h"
#include "tests/unit/hvm_fake.h"
#include "tests/unit/host_shim.h"
#include "vmm/exits.h"
#include "kernel/errno.h"
#include <stdlib.h>
#include <string.h>

/* CPUID and XSETBV read host control registers (ring 0 only): counted stand-ins, so dispatch is what is
 * tested here; their own logic runs under the emulator tiers. */
static int cpuid_calls, xsetbv_calls;
int exit_cpuid(struct vcpu *v, struct vm_exit *ex) { cpuid_calls++; vcpu_skip(v, ex); return 0; }
int exit_xsetbv(struct vcpu *v, struct vm_exit *ex) { xsetbv_calls++; vcpu_skip(v, ex); return 0; }
uint64_t cpuid_guest_xcr0(struct vcpu *v) { (void)v; return 1; }
/* The console rings (vmm/console.c) hang off the shell: a stopped VM's last words go nowhere here. */
void vm_console_flush(struct vm *vm) { (void)vm; }
void vm_console_put(struct vm *vm, const char *s, size_t n) { (void)vm; (void)s; (void)n; }

#define RFLAGS_IF_BIT (1ull << 9)

/* A 32-bit flat protected-mode vCPU at RIP 0x1000 (no paging: linear = guest-physical). */
static struct guest_regs flat32(void)
{
    struct guest_regs r;
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = 0x1000;
    r.cr0 = 0x11;
    r.xcr0 = 1;
    r.cs = (struct seg){ 0x08, 0xC9B, 0xffffffffu, 0 };
    r.ds = r.es = r.ss = r.fs = r.gs = (struct seg){ 0x10, 0xC93, 0xffffffffu, 0 };
    r.tr = (struct seg){ 0, 0x8B, 0x67, 0 };
    return r;
}

static struct vm *make_vm(const char *name)
{
    struct guest_regs r = flat32();
    int err = 0;
    struct vm *vm = vm_create(name, 2ull << 20, 1, &r, &err);
    CHECK(vm != NULL);
    CHECK_EQ(err, -EINVAL);                  /* vm_create presets it and leaves it on success */
    if (vm)
        vm_start(vm);
    return vm;
}

static struct vm_exit io_exit(uint16_t port, int size, int in)
{
    struct vm_exit ex = { .code = EXIT_IO, .inst_len = 1 };
    ex.io.port = port;
    ex.io.size = (uint8_t)size;
    ex.io.in = (uint8_t)in;
    return ex;
}

/* One slice: run until the scripted exits are used up. The fake then reports host interrupts (EXIT_NONE),
 * which end a slice only for a vCPU that must leave its CPU: this one is asked to move for the slice. */
static void run(struct vcpu *v)
{
    int to = v->move_to;
    v->move_to = 0;
    vcpu_run_slice(v, 1000000000ull);
    v->move_to = to;
}

/* A port device: remembers the last write, answers reads with a fixed pattern. */
struct port_dev { uint16_t off; int size; uint32_t val; int writes, reads; };
static int port_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct port_dev *d = dev;
    d->reads++;
    d->off = off;
    d->size = size;
    *val = 0x89abcdefu;
    return 0;
}
static int port_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct port_dev *d = dev;
    d->writes++;
    d->off = off;
    d->size = size;
    d->val = val;
    return 0;
}

TEST(port_io_reaches_the_registered_device_and_moves_rip)
{
    struct vm *vm = make_vm("pio");
    struct port_dev d = { 0 };
    struct pio_range r = { 0x500, 4, port_in, port_out, &d };
    struct vcpu *v = vm->vcpu[0];
    CHECK_EQ(vm_register_pio(vm, &r), 0);
    v->regs.gpr[GPR_RAX] = 0xffffffff1234abcdull;
    hvm_fake_exit(v->hw, io_exit(0x502, 2, 0));         /* out dx, ax */
    hvm_fake_exit(v->hw, io_exit(0x501, 1, 1));         /* in al, dx */
    run(v);
    CHECK_EQ(d.writes, 1);
    CHECK_EQ(d.off, 1);                                 /* offsets from the window's base */
    CHECK_U64(d.val, 0xabcd);                           /* only the access's width */
    CHECK_EQ(d.reads, 1);
    CHECK_U64(v->regs.gpr[GPR_RAX], 0xffffffff1234abefull);   /* AL replaced, the rest kept */
    CHECK_U64(v->regs.rip, 0x1002);
    CHECK_EQ(v->exits[EXIT_IO], 2);
    CHECK_EQ(vm->state, VM_RUNNING);
    vm_destroy(vm);
}

/* I/O waiting for the boot CPU's poll loop ends the slice at the next exit; the later exits wait their turn. */
TEST(a_slice_ends_at_the_first_exit_once_io_waits)
{
    struct vm *vm = make_vm("ioyield");
    struct port_dev d = { 0 };
    struct pio_range r = { 0x500, 4, port_in, port_out, &d };
    struct vcpu *v = vm->vcpu[0];
    CHECK_EQ(vm_register_pio(vm, &r), 0);
    for (int i = 0; i < 3; i++)
        hvm_fake_exit(v->hw, io_exit(0x500, 1, 0));
    hvm_fake_io_waiting = 1;
    run(v);
    CHECK_EQ(d.writes, 1);
    hvm_fake_io_waiting = 0;
    run(v);
    CHECK_EQ(d.writes, 3);
    CHECK_EQ(vm->state, VM_RUNNING);
    vm_destroy(vm);
}

/* An interrupt that wakes a vCPU of this CPU from HLT is noted for wake-up preemption; one for a halted vCPU
 * whose interrupts are masked, for a runnable one or for a running one is not. The slice ends at the first
 * exit after the scheduler says so. */
TEST(a_slice_ends_for_a_woken_vcpu_and_events_are_noted)
{
    struct vm *vm = make_vm("wakeup");
    struct port_dev d = { 0 };
    struct pio_range r = { 0x500, 4, port_in, port_out, &d };
    struct vcpu *v = vm->vcpu[0];
    CHECK_EQ(vm_register_pio(vm, &r), 0);
    hvm_fake_noted = NULL;
    v->on_cpu = -1;
    v->halted = 1;
    v->regs.rflags &= ~RFLAGS_IF;
    vcpu_raise_irq(v, 0x30);                            /* masked: HLT goes on */
    CHECK(hvm_fake_noted == NULL);
    v->regs.rflags |= RFLAGS_IF;
    vcpu_raise_irq(v, 0x31);                            /* wakes it: noted */
    CHECK(hvm_fake_noted == v);
    hvm_fake_noted = NULL;
    vcpu_raise_irq(v, 0x32);                            /* runnable already: it keeps its place */
    CHECK(hvm_fake_noted == NULL);
    v->halted = 1;
    v->on_cpu = 0;                                      /* running (its HLT being handled): nothing to do */
    vcpu_raise_irq(v, 0x33);
    CHECK(hvm_fake_noted == NULL);
    v->on_cpu = -1;
    for (int i = 0; i < 3; i++)
        hvm_fake_exit(v->hw, io_exit(0x500, 1, 0));
    hvm_fake_preempt = 1;
    run(v);
    CHECK_EQ(d.writes, 1);
    hvm_fake_preempt = 0;
    run(v);
    CHECK_EQ(d.writes, 3);
    vm_destroy(vm);
}

/* A port whose writes play another CPU asking the vCPU to leave (a move) while its slice runs. */
static struct vcpu *leaver;
static int leave_out(void *dev, uint16_t off, int size, uint32_t val)
{
    (void)dev; (void)off; (void)size; (void)val;
    leaver->move_to = 1;
    return 0;
}

/* A host interrupt (a timer tick, a kick) does not end the slice by itself: the exits after it are handled
 * in the same slice, which ends when its time is up. One that finds the vCPU asked to move does end it. */
TEST(a_host_interrupt_alone_does_not_end_the_slice)
{
    struct vm *vm = make_vm("tick");
    struct port_dev d = { 0 };
    struct pio_range r = { 0x500, 4, port_in, port_out, &d };
    struct vcpu *v = vm->vcpu[0];
    CHECK_EQ(vm_register_pio(vm, &r), 0);
    hvm_fake_exit(v->hw, io_exit(0x500, 1, 0));
    hvm_fake_exit(v->hw, (struct vm_exit){ .code = EXIT_NONE });
    hvm_fake_exit(v->hw, io_exit(0x500, 1, 0));
    vcpu_run_slice(v, 20000000ull);                     /* then host interrupts until 20 ms are up */
    CHECK_EQ(d.writes, 2);
    CHECK_EQ(vm->state, VM_RUNNING);
    struct pio_range lr = { 0x600, 1, port_in, leave_out, &d };
    CHECK_EQ(vm_register_pio(vm, &lr), 0);
    leaver = v;
    hvm_fake_exit(v->hw, io_exit(0x600, 1, 0));         /* asked to move ... */
    hvm_fake_exit(v->hw, (struct vm_exit){ .code = EXIT_NONE });   /* ... and kicked: the slice ends */
    hvm_fake_exit(v->hw, io_exit(0x500, 1, 0));
    vcpu_run_slice(v, 20000000ull);
    CHECK_EQ(d.writes, 2);
    v->move_to = -1;
    run(v);                                             /* the next slice takes the rest */
    CHECK_EQ(d.writes, 3);
    vm_destroy(vm);
}

TEST(unclaimed_ports_read_all_ones_and_32_bit_reads_zero_the_upper_half)
{
    struct vm *vm = make_vm("pio-none");
    struct vcpu *v = vm->vcpu[0];
    v->regs.gpr[GPR_RAX] = 0x1111111122222222ull;
    hvm_fake_exit(v->hw, io_exit(0x80, 2, 1));
    run(v);
    CHECK_U64(v->regs.gpr[GPR_RAX], 0x111111112222ffffull);
    hvm_fake_exit(v->hw, io_exit(0x80, 4, 1));
    run(v);
    CHECK_U64(v->regs.gpr[GPR_RAX], 0xffffffffull);
    hvm_fake_exit(v->hw, io_exit(0x80, 1, 0));         /* writes are dropped */
    run(v);
    CHECK_EQ(vm->state, VM_RUNNING);
    vm_destroy(vm);
}

TEST(string_port_io_stops_the_vm_with_a_reason)
{
    struct vm *vm = make_vm("pio-str");
    struct vm_exit ex = io_exit(0x3f8, 1, 0);
    ex.io.string = 1;
    hvm_fake_exit(vm->vcpu[0]->hw, ex);
    run(vm->vcpu[0]);
    CHECK_EQ(vm->state, VM_STOPPED);
    CHECK(strstr(vm->stop_reason, "string port I/O") != NULL);
    vm_destroy(vm);
}

static int refuse_out(void *dev, uint16_t off, int size, uint32_t val)
{
    (void)dev; (void)off; (void)size; (void)val;
    return -EINVAL;
}

TEST(a_device_refusing_an_access_stops_its_vm)
{
    struct vm *vm = make_vm("pio-refuse");
    struct pio_range r = { 0x600, 1, NULL, refuse_out, NULL };
    CHECK_EQ(vm_register_pio(vm, &r), 0);
    hvm_fake_exit(vm->vcpu[0]->hw, io_exit(0x600, 1, 0));
    run(vm->vcpu[0]);
    CHECK_EQ(vm->state, VM_STOPPED);
    CHECK(strstr(vm->stop_reason, "refused a 1-byte write") != NULL);
    vm_destroy(vm);
}

TEST(overlapping_windows_are_refused)
{
    struct vm *vm = make_vm("overlap");
    struct pio_range a = { 0x500, 8, NULL, NULL, NULL }, b = { 0x507, 2, NULL, NULL, NULL };
    struct pio_range c = { 0x508, 2, NULL, NULL, NULL };
    struct mmio_range m = { 0xd0000000, 0x1000, NULL, NULL, NULL }, n = { 0xd0000ff8, 0x10, NULL, NULL, NULL };
    CHECK_EQ(vm_register_pio(vm, &a), 0);
    CHECK_EQ(vm_register_pio(vm, &b), -EEXIST);
    CHECK_EQ(vm_register_pio(vm, &c), 0);               /* adjacent is fine */
    CHECK_EQ(vm_register_mmio(vm, &m), 0);
    CHECK_EQ(vm_register_mmio(vm, &n), -EEXIST);
    CHECK(vm_find_pio(vm, 0x507) != NULL);
    CHECK(vm_find_pio(vm, 0x50a) == NULL);
    vm_destroy(vm);
}

/* An MMIO window: the last access's offset, size and value. */
struct mmio_dev { uint64_t off, val; int size, writes; };
static int mmio_wr(void *dev, uint64_t off, int size, uint64_t val)
{
    struct mmio_dev *d = dev;
    d->off = off;
    d->size = size;
    d->val = val;
    d->writes++;
    return 0;
}

TEST(a_nested_page_fault_on_a_window_decodes_and_emulates_the_write)
{
    struct vm *vm = make_vm("mmio");
    struct vcpu *v = vm->vcpu[0];
    struct mmio_dev d = { 0 };
    struct mmio_range m = { 0xd0000000, 0x1000, NULL, mmio_wr, &d };
    static const uint8_t mov[] = { 0x89, 0x03 };        /* mov [ebx], eax */
    struct vm_exit ex = { .code = EXIT_NPF };
    CHECK_EQ(vm_register_mmio(vm, &m), 0);
    CHECK_EQ(gpa_write(vm, 0x1000, mov, sizeof(mov)), 0);
    v->regs.gpr[GPR_RAX] = 0xcafef00d;
    v->regs.gpr[GPR_RBX] = 0xd0000010;
    ex.npf.gpa = 0xd0000010;
    ex.npf.write = 1;
    hvm_fake_exit(v->hw, ex);
    run(v);
    CHECK_EQ(d.writes, 1);
    CHECK_U64(d.off, 0x10);
    CHECK_EQ(d.size, 4);
    CHECK_U64(d.val, 0xcafef00d);
    CHECK_U64(v->regs.rip, 0x1002);                     /* the decoded length: an NPF gives none */
    CHECK_EQ(vm->state, VM_RUNNING);
    vm_destroy(vm);
}

TEST(unassigned_space_reads_all_ones_and_fetches_from_it_stop_the_vm)
{
    struct vm *vm = make_vm("unassigned");
    struct vcpu *v = vm->vcpu[0];
    static const uint8_t load[] = { 0x8b, 0x03 };       /* mov eax, [ebx] */
    struct vm_exit ex = { .code = EXIT_NPF };
    CHECK_EQ(gpa_write(vm, 0x1000, load, sizeof(load)), 0);
    v->regs.gpr[GPR_RBX] = 0xe0000000;
    ex.npf.gpa = 0xe0000000;
    hvm_fake_exit(v->hw, ex);
    run(v);
    CHECK_U64(v->regs.gpr[GPR_RAX], 0xffffffffull);
    CHECK_EQ(vm->unassigned.reads, 1);
    ex.npf.fetch = 1;
    hvm_fake_exit(v->hw, ex);
    run(v);
    CHECK_EQ(vm->state, VM_STOPPED);
    CHECK(strstr(vm->stop_reason, "instruction fetch from unassigned GPA") != NULL);
    vm_destroy(vm);
}

TEST(unknown_msrs_raise_gp_and_known_ones_read_back)
{
    struct vm *vm = make_vm("msr");
    struct vcpu *v = vm->vcpu[0];
    struct vm_exit rd = { .code = EXIT_MSR_READ, .inst_len = 2 };
    struct hvm_vcpu *hw = v->hw;
    v->regs.gpr[GPR_RCX] = 0x12345678;                  /* no such MSR */
    hvm_fake_exit(hw, rd);
    run(v);
    CHECK_U64(v->regs.rip, 0x1000);                     /* a fault: RIP stays on the instruction */
    CHECK_EQ(hw->ndelivered, 1);
    CHECK_EQ(hw->delivered[0].vector, 13);
    CHECK_EQ(hw->delivered[0].type, EVENT_EXCEPTION);
    v->regs.gpr[GPR_RCX] = 0x277;                       /* PAT: its power-on value */
    hvm_fake_exit(hw, rd);
    run(v);
    CHECK_U64(v->regs.gpr[GPR_RAX], 0x00070406ull);
    CHECK_U64(v->regs.gpr[GPR_RDX], 0x00070406ull);
    CHECK_U64(v->regs.rip, 0x1002);
    vm_destroy(vm);
}

TEST(every_exit_code_reaches_its_handler_and_is_counted)
{
    struct vm *vm = make_vm("dispatch");
    struct vcpu *v = vm->vcpu[0];
    struct vm_exit cpuid = { .code = EXIT_CPUID, .inst_len = 2 }, xsetbv = { .code = EXIT_XSETBV, .inst_len = 3 };
    struct vm_exit invd = { .code = EXIT_INVD, .inst_len = 2 }, vminsn = { .code = EXIT_VMINSN, .inst_len = 3 };
    cpuid_calls = xsetbv_calls = 0;
    hvm_fake_exit(v->hw, cpuid);
    hvm_fake_exit(v->hw, xsetbv);
    hvm_fake_exit(v->hw, invd);
    run(v);
    CHECK_EQ(cpuid_calls, 1);
    CHECK_EQ(xsetbv_calls, 1);
    CHECK_U64(v->regs.rip, 0x1000 + 2 + 3 + 2);
    hvm_fake_exit(v->hw, vminsn);                       /* VMX/SVM are hidden: #UD, RIP unchanged */
    run(v);
    CHECK_U64(v->regs.rip, 0x1007);
    CHECK_EQ(v->hw->ndelivered, 1);
    CHECK_EQ(v->hw->delivered[0].vector, 6);
    CHECK_EQ(v->exits[EXIT_CPUID], 1);
    CHECK_EQ(v->exits[EXIT_VMINSN], 1);
    CHECK_EQ(vm->exits_total, (uint64_t)v->hw->runs);
    vm_destroy(vm);
}

TEST(unknown_exits_and_failed_entries_stop_the_vm_with_the_reason)
{
    struct vm *a = make_vm("unknown"), *b = make_vm("failentry");
    struct vm_exit unk = { .code = EXIT_CR_ACCESS, .raw = 0x1c };
    struct vm_exit fail = { .code = EXIT_FAIL_ENTRY, .raw = 0x21 };
    struct vm_exit wild = { .code = (enum vm_exit_code)(EXIT_CODE_COUNT + 5) };
    fail.fail.why = "invalid guest state";
    hvm_fake_exit(a->vcpu[0]->hw, unk);
    hvm_fake_exit(b->vcpu[0]->hw, fail);
    run(a->vcpu[0]);
    run(b->vcpu[0]);
    CHECK_EQ(a->state, VM_STOPPED);
    CHECK(strstr(a->stop_reason, "unhandled exit cr-access") != NULL);
    CHECK(strstr(b->stop_reason, "VM entry failed: invalid guest state") != NULL);
    CHECK_EQ(a->vcpu[0]->hw->runs, 1);                 /* nothing runs after the stop */
    vm_destroy(a);
    a = make_vm("wild");
    hvm_fake_exit(a->vcpu[0]->hw, wild);               /* a code past the table: counted as unknown */
    run(a->vcpu[0]);
    CHECK_EQ(a->state, VM_STOPPED);
    CHECK_EQ(a->vcpu[0]->exits[EXIT_UNKNOWN], 1);
    vm_destroy(a);
    vm_destroy(b);
}

/* A platform for the hook tests: counts resets and hypercalls. */
static int resets, hypercalls;
static void fake_reset(struct vm *vm) { (void)vm; resets++; }
static int fake_hypercall(struct vcpu *v, struct vm_exit *ex)
{
    hypercalls++;
    vcpu_skip(v, ex);
    v->regs.gpr[GPR_RAX] = 42;
    return 0;
}
static const struct vm_platform fake_platform = { .name = "fake", .reset = fake_reset, .hypercall = fake_hypercall };

TEST(hypercalls_are_ud_without_a_platform_that_has_them)
{
    struct vm *vm = make_vm("hc-none");
    struct vcpu *v = vm->vcpu[0];
    struct vm_exit hc = { .code = EXIT_HYPERCALL, .inst_len = 3 };
    v->regs.gpr[GPR_RAX] = 7;
    hvm_fake_exit(v->hw, hc);
    run(v);
    CHECK_U64(v->regs.rip, 0x1000);                     /* what the instruction does outside a hypervisor */
    CHECK_U64(v->regs.gpr[GPR_RAX], 7);
    CHECK_EQ(v->hw->ndelivered, 1);
    CHECK_EQ(v->hw->delivered[0].vector, 6);
    vm->platform = &fake_platform;
    hypercalls = 0;
    hvm_fake_exit(v->hw, hc);
    run(v);
    CHECK_EQ(hypercalls, 1);
    CHECK_U64(v->regs.gpr[GPR_RAX], 42);
    CHECK_U64(v->regs.rip, 0x1003);
    vm->platform = NULL;
    vm_destroy(vm);
}

TEST(a_triple_fault_resets_through_the_platform_or_stops)
{
    struct vm *vm = make_vm("shutdown");
    struct vm_exit sd = { .code = EXIT_SHUTDOWN };
    vm->platform = &fake_platform;
    resets = 0;
    hvm_fake_exit(vm->vcpu[0]->hw, sd);
    run(vm->vcpu[0]);
    CHECK_EQ(resets, 1);
    CHECK_EQ(vm->state, VM_RUNNING);
    vm->platform = NULL;
    hvm_fake_exit(vm->vcpu[0]->hw, sd);
    run(vm->vcpu[0]);
    CHECK_EQ(vm->state, VM_STOPPED);
    CHECK(strstr(vm->stop_reason, "triple fault") != NULL);
    vm_destroy(vm);
}

TEST(an_interrupt_waits_for_the_window_and_the_highest_goes_first)
{
    struct vm *vm = make_vm("irq");
    struct vcpu *v = vm->vcpu[0];
    struct hvm_vcpu *hw = v->hw;
    struct vm_exit win = { .code = EXIT_INTR_WINDOW };
    v->regs.rflags |= RFLAGS_IF_BIT;
    vcpu_raise_irq(v, 0x30);
    vcpu_raise_irq(v, 0x41);
    hw->irq_ready = 0;                                  /* e.g. an interrupt shadow */
    hvm_fake_exit(hw, win);
    run(v);
    CHECK_EQ(hw->ndelivered, 0);
    CHECK_EQ(hw->window, 1);                            /* still asking: the guest cannot take it yet */
    hw->irq_ready = 1;
    run(v);                                             /* injects 0x41 before the entry */
    CHECK_EQ(hw->window, 0);
    CHECK_EQ(hw->ndelivered, 1);
    CHECK_EQ(hw->delivered[0].vector, 0x41);
    CHECK_EQ(hw->delivered[0].type, EVENT_EXTINT);
    CHECK(vcpu_irq_waiting(v));                         /* 0x30 still waits */
    run(v);
    CHECK_EQ(hw->ndelivered, 2);
    CHECK_EQ(hw->delivered[1].vector, 0x30);
    CHECK(!vcpu_irq_waiting(v));
    vm_destroy(vm);
}

TEST(a_pending_exception_goes_before_interrupts)
{
    struct vm *vm = make_vm("exc");
    struct vcpu *v = vm->vcpu[0];
    struct hvm_vcpu *hw = v->hw;
    v->regs.rflags |= RFLAGS_IF_BIT;
    hw->irq_ready = 1;
    vcpu_raise_irq(v, 0x50);
    vcpu_queue_exception(v, 14, 1, 2);
    run(v);
    CHECK_EQ(hw->ndelivered, 1);
    CHECK_EQ(hw->delivered[0].vector, 14);
    CHECK_EQ(hw->delivered[0].has_error, 1);
    CHECK_EQ(hw->delivered[0].error, 2);
    run(v);
    CHECK_EQ(hw->ndelivered, 2);
    CHECK_EQ(hw->delivered[1].vector, 0x50);
    vm_destroy(vm);
}

TEST(hlt_sleeps_until_an_unmasked_interrupt_arrives)
{
    struct vm *vm = make_vm("hlt");
    struct vcpu *v = vm->vcpu[0];
    struct vm_exit hlt = { .code = EXIT_HLT, .inst_len = 1 };
    v->regs.rflags &= ~RFLAGS_IF_BIT;
    hvm_fake_exit(v->hw, hlt);
    run(v);
    CHECK_EQ(v->halted, 1);
    vcpu_raise_irq(v, 0x40);                            /* masked: it stays asleep */
    CHECK_EQ(v->halted, 1);
    v->regs.rflags |= RFLAGS_IF_BIT;
    vcpu_kick(v);
    CHECK_EQ(v->halted, 0);
    v->hw->irq_ready = 1;
    run(v);                                             /* the waiting 0x40 is delivered */
    CHECK_EQ(v->hw->delivered[0].vector, 0x40);
    hvm_fake_exit(v->hw, hlt);                          /* HLT with an interrupt waiting falls through */
    vcpu_raise_irq(v, 0x41);
    v->hw->irq_ready = 0;
    run(v);
    CHECK_EQ(v->halted, 0);
    vm_destroy(vm);
}

/* Destroy order across a registry that outgrows its first allocation. */
static int order[64], norder;
static void note_destroy(struct vm *vm, void *arg)
{
    (void)vm;
    order[norder++] = (int)(intptr_t)arg;
}

TEST(the_registry_grows_and_destroys_newest_first)
{
    struct vm *vm = make_vm("registry");
    struct vm_dev nameless = { 0 };
    long pages = hvm_fake_pages;
    norder = 0;
    for (int i = 0; i < 40; i++)
        CHECK_EQ(vm_on_destroy(vm, note_destroy, (void *)(intptr_t)i), 0);
    CHECK_EQ(vm->ndevs, 40);
    CHECK_EQ(vm_dev_register(vm, &nameless), -EINVAL);
    CHECK(pages > 0);
    vm_destroy(vm);
    CHECK_EQ(norder, 40);
    for (int i = 0; i < 40; i++)
        CHECK_EQ(order[i], 39 - i);
    CHECK_EQ(hvm_fake_pages, 0);                        /* guest RAM went back */
}

TEST(vm_create_refuses_bad_names_sizes_and_duplicates)
{
    struct guest_regs r = flat32();
    int err = 0;
    struct vm *a = vm_create("dup", 2ull << 20, 1, &r, &err);
    CHECK(a != NULL);
    CHECK(vm_create("dup", 2ull << 20, 1, &r, &err) == NULL);
    CHECK_EQ(err, -EEXIST);
    CHECK(vm_create("bad name", 2ull << 20, 1, &r, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(vm_create("big", 65ull << 30, 1, &r, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    CHECK(vm_create("cpus", 2ull << 20, VCPU_MAX + 1, &r, &err) == NULL);
    CHECK_EQ(err, -EINVAL);
    vm_destroy(a);
    CHECK_EQ(hvm_fake_pages, 0);
}

/* Another CPU answering a kick the way vcpu_run_slice does: its vCPU leaves guest mode. */
static struct vcpu *kicked_vcpu;
static int kicks_seen;
static void leave_guest(int cpu)
{
    kicks_seen++;
    if (kicked_vcpu && kicked_vcpu->on_cpu == cpu) {
        kicked_vcpu->in_guest = 0;
        kicked_vcpu->entries++;
    }
}

/* A shootdown kicks each CPU with one of the VM's vCPUs in guest mode and returns once it left that entry;
 * a vCPU between entries or on the caller's CPU needs no kick; a CPU that never answers fails it in 1 s. */
TEST(a_shootdown_waits_for_every_cpu_in_guest_mode)
{
    struct vm *vm = make_vm("sd");
    struct vcpu *v = vm->vcpu[0];
    hvm_fake_on_kick = leave_guest;
    kicked_vcpu = v;
    kicks_seen = 0;
    v->on_cpu = 1;
    v->in_guest = 1;
    v->entries = 7;
    CHECK_EQ(vm_tlb_shootdown(vm), 0);
    CHECK_EQ(kicks_seen, 1);
    CHECK_EQ(v->in_guest, 0);
    CHECK_EQ(vm_tlb_shootdown(vm), 0);                /* not in guest mode now: no kick */
    CHECK_EQ(kicks_seen, 1);
    v->on_cpu = 0;                                     /* the caller's own CPU: nothing to wait for */
    v->in_guest = 1;
    CHECK_EQ(vm_tlb_shootdown(vm), 0);
    CHECK_EQ(kicks_seen, 1);
    kicked_vcpu = NULL;                                /* a CPU that does not answer */
    v->on_cpu = 1;
    CHECK_EQ(vm_tlb_shootdown(vm), -ETIMEDOUT);
    CHECK_EQ(kicks_seen, 2);
    v->on_cpu = -1;
    v->in_guest = 0;
    hvm_fake_on_kick = NULL;
    vm_destroy(vm);
}

/* The mover (vmm/balance.c, tested in test-unit-vmm-sched): a move takes effect at once when the test says
 * so (playing the CPU the vCPU leaves), else never. */
static int moves_at_once;
void sched_move(struct vcpu *v, int cpu)
{
    if (moves_at_once)
        v->home = cpu;
}

/* vm pin names online CPUs only and `any` unpins; vm_gather brings a VM's vCPUs to the caller's CPU and holds
 * them (then vm pin is refused), refuses one pinned elsewhere, and gives up on one that does not come. */
TEST(pin_and_gather)
{
    struct vm *vm = make_vm("pg");
    struct vcpu *v = vm->vcpu[0];
    int one = 1, zero = 0;
    CHECK_EQ(vm_pin(vm, &one, 1), -EINVAL);            /* the fake host has CPU 0 only */
    CHECK_EQ(v->pin, -1);
    CHECK_EQ(vm_pin(vm, &zero, 1), 0);
    CHECK_EQ(v->pin, 0);
    CHECK_EQ(vm_pin(vm, NULL, 0), 0);
    CHECK_EQ(v->pin, -1);
    v->pin = 1;                                        /* as if pinned to a CPU of a bigger host */
    v->home = 1;
    CHECK_EQ(vm_gather(vm, "vm move"), -EBUSY);
    CHECK(strstr(host_console_text(), "error: vm move pg: its vCPU 0 is pinned to CPU 1") != NULL);
    CHECK_EQ(vm->held, 0);
    v->pin = -1;                                       /* unpinned, its CPU never hands it over */
    CHECK_EQ(vm_gather(vm, "vm move"), -EBUSY);
    CHECK(strstr(host_console_text(), "did not come from CPU 1 in time") != NULL);
    CHECK_EQ(vm->held, 0);                             /* given up: not held either */
    moves_at_once = 1;
    CHECK_EQ(vm_gather(vm, "vm move"), 0);
    CHECK_EQ(v->home, 0);
    CHECK_EQ(vm->held, 1);
    CHECK_EQ(vm_pin(vm, &zero, 1), -EBUSY);
    moves_at_once = 0;
    vm_destroy(vm);
}

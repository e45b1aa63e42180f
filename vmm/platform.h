/* A VM's platform as an ops table: what runs in it (Linux, a built-in test guest) and the hooks only it has. */
#ifndef SHOAL_VMM_PLATFORM_H
#define SHOAL_VMM_PLATFORM_H

struct vm;
struct vcpu;
struct vm_exit;

/*
 * One table per kind of guest (vmm/linux.c, vmm/testguest.c); vm->platform points at it and
 * vm->platform_data at that guest's record. A VM without one (NULL) has no reset, no hypercalls.
 */
struct vm_platform {
    const char *name;
    /* The guest asked for a reset (i8042 0xFE, the FADT reset register, a triple fault): reboot it, now or
     * from the poll loop (the VM paused meanwhile). NULL: the VM stops. */
    void (*reset)(struct vm *vm);
    /* A VMCALL/VMMCALL exit, handled as an exit handler would (0 resume, 1 leave the slice, <0 the VM
     * stopped). NULL: the guest gets #UD, as outside a hypervisor. */
    int (*hypercall)(struct vcpu *v, struct vm_exit *ex);
    /* One line about the platform's own devices for `vm list` (buf[0] = 0: nothing). NULL: nothing. */
    void (*describe)(struct vm *vm, char *buf, int size);
};

#endif

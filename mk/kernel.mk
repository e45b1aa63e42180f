# Kernel subsystems beyond the base directories: the block layer, the virtualization backends, the VMM core.
KSRC += $(wildcard blk/*.c)
KSRC += $(wildcard arch/x86/svm/*.c arch/x86/svm/*.S arch/x86/vmx/*.c arch/x86/vmx/*.S)
KSRC += vmm/vm.c vmm/vcpu.c vmm/gmem.c vmm/dirty.c vmm/iomap.c vmm/exit.c vmm/cpuid.c vmm/msr.c vmm/io_exit.c vmm/xsetbv.c \
        vmm/devreg.c vmm/vcpurec.c vmm/vcpustate.c vmm/vmstate.c vmm/statecmd.c vmm/confilter.c vmm/hypercall.c vmm/sched.c vmm/cmds.c vmm/testdev.c vmm/testguest.c vmm/console.c \
        vmm/dirtycmd.c vmm/dirtycheck.c
KSRC += $(wildcard vmm/mig/*.c)

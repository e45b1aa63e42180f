/* The hypercall ABI of shoal's test guests: VMCALL (Intel) or VMMCALL (AMD), function in EAX. */
#ifndef SHOAL_VMM_HYPERCALL_H
#define SHOAL_VMM_HYPERCALL_H

/*
 * Arguments in RBX, RCX; the result comes back in RAX (0 or a negative errno, or a value).
 * HC_PRINT  RBX = guest-physical address of text, RCX = length (at most 4096): printed as "[vm] text".
 * HC_EXIT   RBX = exit code: the VM stops ("exited with code N").
 * HC_TIMER  RBX = vector, RCX = microseconds (0 cancels): one-shot interrupt to the calling vCPU.
 * HC_TIME   RAX = nanoseconds since the host booted.
 * HC_PEER   RAX = host physical address of another VM's RAM (isolation tests), or -ENOENT.
 * HC_REPORT RBX = key, RCX = value: printed as "[vm] report KEY=VALUE" (test results).
 * HC_BADSTATE: make the caller's state illegal (long mode without PAE) so the next VM entry fails:
 *           tests that a failed entry stops that VM with its reason, never the host.
 * HC_NOTEST: the caller gives up these hypercalls for good (tests of what every other guest gets).
 *
 * Only VMs made from a built-in test guest (`vm create NAME guest=...`) have them; for every other guest
 * (Linux, clones) VMCALL and VMMCALL raise #UD.
 */
enum { HC_PRINT = 1, HC_EXIT = 2, HC_TIMER = 3, HC_TIME = 4, HC_PEER = 5, HC_REPORT = 6, HC_BADSTATE = 7,
       HC_NOTEST = 8 };

struct vcpu;
struct vm_exit;
/* The test guests' platform hook (struct vm_platform.hypercall): #UD once the guest gave them up (HC_NOTEST),
 * else RIP past the instruction, the call made, RAX its result. Same return convention as exit_dispatch. */
int hypercall_exit(struct vcpu *v, struct vm_exit *ex);
#endif

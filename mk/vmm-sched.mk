# The vCPU scheduler's host unit tier: vmm/sched.c over fake VMs and a fake clock.
$(eval $(call UNIT_TIER,vmm-sched,vmm_sched_tests,tests/unit/test_vmm_sched.c vmm/sched.c vmm/balance.c kernel/printf.c kernel/kstring.c tests/unit/test_main.c,\
    vmm/sched.h vmm/vm.h tests/unit/test.h))

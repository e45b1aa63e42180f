# The vCPU scheduler's host unit tier: vmm/sched.c over fake VMs and a fake clock.
$(BUILD)/unit/vmm_sched_tests: tests/unit/test_vmm_sched.c vmm/sched.c vmm/sched.h vmm/vm.h tests/unit/test_main.c tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vmm_sched.c vmm/sched.c tests/unit/test_main.c

TEST_TIERS += test-unit-vmm-sched
.PHONY: test-unit-vmm-sched
test-unit-vmm-sched: $(BUILD)/unit/vmm_sched_tests
	@$(BUILD)/unit/vmm_sched_tests

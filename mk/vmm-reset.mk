# VM device registry (vmm/devreg.c): host unit tier over fake devices and the real virtio devices.
VMM_RESET_SRC := vmm/devreg.c $(VIRTIO_KSRC) blk/blk.c net/vswitch.c tests/unit/blk_mock.c \
                 kernel/printf.c kernel/kstring.c kernel/log.c

$(BUILD)/unit/vmm_reset_tests: tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM) $(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-vmm-reset
.PHONY: test-unit-vmm-reset
test-unit-vmm-reset: $(BUILD)/unit/vmm_reset_tests
	@$(BUILD)/unit/vmm_reset_tests

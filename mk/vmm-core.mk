# VMM core host unit tier: the device registry (vmm/devreg.c) over fake and real virtio devices, and guest
# memory (vmm/gmem.c) over a fake page allocator, and the guest text filter (vmm/confilter.c).
VMM_RESET_SRC := vmm/devreg.c $(VIRTIO_KSRC) blk/blk.c net/vswitch.c tests/unit/blk_mock.c \
                 kernel/printf.c kernel/kstring.c kernel/log.c
VMM_GMEM_SRC  := vmm/gmem.c vmm/confilter.c kernel/printf.c kernel/kstring.c kernel/log.c

$(BUILD)/unit/vmm_reset_tests: tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM) $(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM)

VMM_GMEM_TESTS := tests/unit/test_vmm_gmem.c tests/unit/test_vmm_confilter.c
$(BUILD)/unit/vmm_gmem_tests: $(VMM_GMEM_TESTS) $(VMM_GMEM_SRC) $(HOST_SHIM) $(wildcard vmm/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_GMEM_TESTS) $(VMM_GMEM_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-vmm-core
.PHONY: test-unit-vmm-core
test-unit-vmm-core: $(BUILD)/unit/vmm_reset_tests $(BUILD)/unit/vmm_gmem_tests
	@$(BUILD)/unit/vmm_reset_tests; a=$$?; $(BUILD)/unit/vmm_gmem_tests && exit $$a

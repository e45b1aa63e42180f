# VMM core host unit tier: the device registry (vmm/devreg.c) over fake and real virtio devices, guest
# memory (vmm/gmem.c) over a fake page allocator, the dirty-page log (vmm/dirty.c) and second-level write
# protection (arch/x86/slpt.c), the guest text filter (vmm/confilter.c), and the exit path over a scripted backend.
VMM_RESET_SRC := vmm/devreg.c $(VIRTIO_KSRC) blk/blk.c net/vswitch.c tests/unit/blk_mock.c \
                 kernel/printf.c kernel/kstring.c kernel/log.c
VMM_GMEM_SRC  := vmm/gmem.c vmm/dirty.c vmm/confilter.c kernel/printf.c kernel/kstring.c kernel/log.c
$(eval $(call UNIT_BIN,vmm_reset_tests,tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM),\
    $(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h)))
$(eval $(call UNIT_BIN,vmm_gmem_tests,tests/unit/test_vmm_gmem.c tests/unit/test_vmm_confilter.c $(VMM_GMEM_SRC) \
    $(HOST_SHIM),$(wildcard vmm/*.h tests/unit/*.h)))

# The dirty-page log over guest memory and real second-level tables (both formats), fake page allocator.
VMM_DIRTY_SRC := vmm/dirty.c vmm/dirtycheck.c kernel/crc32c.c vmm/gmem.c arch/x86/slpt.c arch/x86/svm/npt.c \
                 arch/x86/vmx/ept.c kernel/printf.c kernel/kstring.c kernel/log.c
$(eval $(call UNIT_BIN,vmm_dirty_tests,tests/unit/test_vmm_dirty.c tests/unit/test_slpt.c $(VMM_DIRTY_SRC) \
    $(HOST_SHIM),$(wildcard vmm/*.h arch/x86/*.h tests/unit/*.h)))

# The exit path over a scripted backend (tests/unit/hvm_fake.c): dispatch, port and MMIO windows, the
# registry, platform hooks, event delivery.
VMM_EXIT_SRC := vmm/vm.c vmm/vcpu.c vmm/exit.c vmm/iomap.c vmm/io_exit.c vmm/msr.c vmm/devreg.c vmm/gmem.c \
                vmm/dirty.c vmm/decode.c vmm/emulate.c vmm/gwalk.c vmm/regs.c tests/unit/hvm_fake.c \
                kernel/printf.c kernel/kstring.c kernel/log.c
$(eval $(call UNIT_BIN,vmm_exit_tests,tests/unit/test_vmm_exits.c $(VMM_EXIT_SRC) $(HOST_SHIM),\
    $(wildcard vmm/*.h arch/x86/*.h tests/unit/*.h)))

# Four binaries in one tier (each runs even when one before it failed), so the tier is written out.
TEST_TIERS += test-unit-vmm-core
.PHONY: test-unit-vmm-core
test-unit-vmm-core: $(BUILD)/unit/vmm_reset_tests $(BUILD)/unit/vmm_gmem_tests $(BUILD)/unit/vmm_dirty_tests \
                    $(BUILD)/unit/vmm_exit_tests
	@$(BUILD)/unit/vmm_reset_tests; a=$$?; $(BUILD)/unit/vmm_gmem_tests || a=1; $(BUILD)/unit/vmm_dirty_tests || a=1; \
	 $(BUILD)/unit/vmm_exit_tests && exit $$a

# Fuzzer of the guest text filter.
$(eval $(call FUZZ_TIER,confilter,confilter_fuzz,tests/fuzz/confilter_fuzz.c vmm/confilter.c,vmm/confilter.h,\
    vmm.confilter_fuzz_$$(FUZZ_S)s,10,-max_len=512,-DUSE_LIBFUZZER))

# VMM core host unit tier: the device registry (vmm/devreg.c) over fake and real virtio devices, guest
# memory (vmm/gmem.c) over a fake page allocator, the dirty-page log (vmm/dirty.c) and second-level write
# protection (arch/x86/slpt.c), and the guest text filter (vmm/confilter.c).
VMM_RESET_SRC := vmm/devreg.c $(VIRTIO_KSRC) blk/blk.c net/vswitch.c tests/unit/blk_mock.c \
                 kernel/printf.c kernel/kstring.c kernel/log.c
VMM_GMEM_SRC  := vmm/gmem.c vmm/dirty.c vmm/confilter.c kernel/printf.c kernel/kstring.c kernel/log.c

$(BUILD)/unit/vmm_reset_tests: tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM) $(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vm_reset.c $(VMM_RESET_SRC) $(HOST_SHIM)

VMM_GMEM_TESTS := tests/unit/test_vmm_gmem.c tests/unit/test_vmm_confilter.c
$(BUILD)/unit/vmm_gmem_tests: $(VMM_GMEM_TESTS) $(VMM_GMEM_SRC) $(HOST_SHIM) $(wildcard vmm/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_GMEM_TESTS) $(VMM_GMEM_SRC) $(HOST_SHIM)

# The dirty-page log over guest memory and real second-level tables (both formats), fake page allocator.
VMM_DIRTY_SRC   := vmm/dirty.c vmm/dirtycheck.c kernel/crc32c.c vmm/gmem.c arch/x86/slpt.c arch/x86/svm/npt.c arch/x86/vmx/ept.c \
                   kernel/printf.c kernel/kstring.c kernel/log.c
VMM_DIRTY_TESTS := tests/unit/test_vmm_dirty.c tests/unit/test_slpt.c
$(BUILD)/unit/vmm_dirty_tests: $(VMM_DIRTY_TESTS) $(VMM_DIRTY_SRC) $(HOST_SHIM) $(wildcard vmm/*.h arch/x86/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_DIRTY_TESTS) $(VMM_DIRTY_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-vmm-core
.PHONY: test-unit-vmm-core
test-unit-vmm-core: $(BUILD)/unit/vmm_reset_tests $(BUILD)/unit/vmm_gmem_tests $(BUILD)/unit/vmm_dirty_tests $(BUILD)/unit/vmm_exit_tests
	@$(BUILD)/unit/vmm_reset_tests; a=$$?; $(BUILD)/unit/vmm_gmem_tests || a=1; $(BUILD)/unit/vmm_dirty_tests || a=1; \
	 $(BUILD)/unit/vmm_exit_tests && exit $$a

# Fuzzer of the guest text filter: libFuzzer under clang (sanitizers fatal), else a standalone random driver.
CONFILTER_FUZZ_SECONDS ?= 10
CONFILTER_FUZZ_LOG = $(BUILD)/fuzz/confilter_fuzz.log
ifeq ($(shell command -v clang >/dev/null 2>&1 && echo 1),1)
$(BUILD)/fuzz/confilter_fuzz: tests/fuzz/confilter_fuzz.c vmm/confilter.c vmm/confilter.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -DUSE_LIBFUZZER -O1 -g -I. -Wall -Wextra -Werror \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ tests/fuzz/confilter_fuzz.c vmm/confilter.c
CONFILTER_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/confilter_corpus && $(BUILD)/fuzz/confilter_fuzz -seed=1 -max_len=512 \
    -max_total_time=$(1) -print_final_stats=0 $(BUILD)/fuzz/confilter_corpus >$(CONFILTER_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/confilter_fuzz: tests/fuzz/confilter_fuzz.c vmm/confilter.c vmm/confilter.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/confilter_fuzz.c vmm/confilter.c
CONFILTER_FUZZ_RUN = $(BUILD)/fuzz/confilter_fuzz $(1) >$(CONFILTER_FUZZ_LOG) 2>&1
endif

TEST_TIERS += test-fuzz-confilter
.PHONY: test-fuzz-confilter fuzz-confilter
test-fuzz-confilter: $(BUILD)/fuzz/confilter_fuzz
	@if $(call CONFILTER_FUZZ_RUN,$(CONFILTER_FUZZ_SECONDS)); then echo "PASS vmm.confilter_fuzz_$(CONFILTER_FUZZ_SECONDS)s"; \
	 else tail -n 40 $(CONFILTER_FUZZ_LOG); echo "FAIL vmm.confilter_fuzz_$(CONFILTER_FUZZ_SECONDS)s"; exit 1; fi

# Longer fuzzing: make fuzz-confilter [CONFILTER_FUZZ_LONG=N]
fuzz: fuzz-confilter
fuzz-confilter:
	@$(MAKE) --no-print-directory test-fuzz-confilter CONFILTER_FUZZ_SECONDS=$(or $(CONFILTER_FUZZ_LONG),600)

# The exit path over a scripted backend (tests/unit/hvm_fake.c): dispatch, port and MMIO windows, the
# registry, platform hooks, event delivery.
VMM_EXIT_SRC := vmm/vm.c vmm/vcpu.c vmm/exit.c vmm/iomap.c vmm/io_exit.c vmm/msr.c vmm/devreg.c vmm/gmem.c \
                vmm/dirty.c vmm/decode.c vmm/emulate.c vmm/gwalk.c vmm/regs.c tests/unit/hvm_fake.c \
                kernel/printf.c kernel/kstring.c kernel/log.c
$(BUILD)/unit/vmm_exit_tests: tests/unit/test_vmm_exits.c $(VMM_EXIT_SRC) $(HOST_SHIM) $(wildcard vmm/*.h arch/x86/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vmm_exits.c $(VMM_EXIT_SRC) $(HOST_SHIM)

# VM state records (vmm/vcpurec.c, vmm/vmstate.c): `vm move` under SVM+NPT (QEMU) and VMX+EPT (Bochs).
TEST_TIERS += test-vmstate
.PHONY: test-vmstate
test-vmstate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso
	@$(PYTHON) tests/integration/vmstate_tests.py --build $(BUILD) --jobs 2

# The vCPU record's checks (vmm/vcpurec.c, arch/x86/xsavechk.c) on the host: round trips and refusals.
VCPUREC_SRC := vmm/vcpurec.c arch/x86/xcr0.c arch/x86/xsavechk.c
$(BUILD)/unit/vcpurec_tests: tests/unit/test_vcpurec.c tests/unit/test_main.c $(VCPUREC_SRC) vmm/vcpustate.h \
                             arch/x86/xstate.h arch/x86/hvm.h vmm/dev/snapshot.h tests/unit/test.h tests/unit/vcpurec_sample.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_vcpurec.c tests/unit/test_main.c $(VCPUREC_SRC)

TEST_TIERS += test-unit-vcpurec
.PHONY: test-unit-vcpurec
test-unit-vcpurec: $(BUILD)/unit/vcpurec_tests
	@$(BUILD)/unit/vcpurec_tests

# Fuzzer of the vCPU record's restore path and the XSAVE image check (libFuzzer, as the snapshot fuzzer).
VCPUREC_FUZZ_LOG  = $(BUILD)/fuzz/vcpurec_fuzz.log
VCPUREC_FUZZ_RUN  = mkdir -p $(BUILD)/fuzz/vcpurec_corpus && $(BUILD)/fuzz/vcpurec_seeds $(BUILD)/fuzz/vcpurec_corpus && \
                    $(BUILD)/fuzz/vcpurec_fuzz -seed=1 -max_len=4096 -timeout=10 -artifact_prefix=$(BUILD)/fuzz/vcpurec- \
                    -max_total_time=$(1) -print_final_stats=0 $(BUILD)/fuzz/vcpurec_corpus >$(VCPUREC_FUZZ_LOG) 2>&1
VCPUREC_FUZZ_DEPS := tests/fuzz/vcpurec_fuzz.c $(VCPUREC_SRC) vmm/vcpustate.h arch/x86/xstate.h arch/x86/hvm.h vmm/dev/snapshot.h tests/unit/vcpurec_sample.h
$(BUILD)/fuzz/vcpurec_fuzz: $(VCPUREC_FUZZ_DEPS)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -Wall -Wextra -Werror \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ tests/fuzz/vcpurec_fuzz.c $(VCPUREC_SRC)

$(BUILD)/fuzz/vcpurec_seeds: $(VCPUREC_FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -DVCPUREC_FUZZ_SEEDS -o $@ tests/fuzz/vcpurec_fuzz.c $(VCPUREC_SRC)

TEST_TIERS += test-fuzz-vcpurec
.PHONY: test-fuzz-vcpurec fuzz-vcpurec
test-fuzz-vcpurec: $(BUILD)/fuzz/vcpurec_fuzz $(BUILD)/fuzz/vcpurec_seeds
	@if $(call VCPUREC_FUZZ_RUN,$(or $(FUZZ_SECONDS),10)); then echo "PASS fuzz.vcpu_records"; \
	 else echo "FAIL fuzz.vcpu_records"; tail -n 40 $(VCPUREC_FUZZ_LOG); exit 1; fi

fuzz: fuzz-vcpurec
fuzz-vcpurec: $(BUILD)/fuzz/vcpurec_fuzz $(BUILD)/fuzz/vcpurec_seeds
	@$(call VCPUREC_FUZZ_RUN,$(or $(FUZZ_LONG),600)); rc=$$?; tail -n 3 $(VCPUREC_FUZZ_LOG); exit $$rc

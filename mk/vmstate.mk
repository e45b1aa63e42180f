# VM state records (vmm/vcpurec.c, vmm/vmstate.c): `vm move` of a test guest and of a Linux guest under SVM+NPT
# (QEMU) and VMX+EPT (Bochs: the 2-vCPU Linux move takes about 5 minutes).
TEST_TIERS += test-vmstate
TIER_LIMIT_test-vmstate ?= 1200
.PHONY: test-vmstate
test-vmstate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/shoal-linux.iso guest-images
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

# libFuzzer tiers (as the snapshot fuzzer): $(1) the name, $(2) its PASS line, $(3) -max_len, $(4) the sources
# (the harness first), $(5) extra prerequisites. Builds $(1)_fuzz and $(1)_seeds (the harness with
# -D$(1)_FUZZ_SEEDS in upper case writes its seed corpus); test-fuzz-$(1) runs FUZZ_SECONDS, fuzz-$(1) FUZZ_LONG.
# FUZZ_RUN_CORPUS: run fuzzer $(1) with -max_len $(2) for $(3) seconds over its seeded corpus.
FUZZ_RUN_CORPUS = mkdir -p $(BUILD)/fuzz/$(1)_corpus && $(BUILD)/fuzz/$(1)_seeds $(BUILD)/fuzz/$(1)_corpus && \
                  $(BUILD)/fuzz/$(1)_fuzz -seed=1 -max_len=$(2) -timeout=10 -artifact_prefix=$(BUILD)/fuzz/$(1)- \
                  -max_total_time=$(3) -print_final_stats=0 $(BUILD)/fuzz/$(1)_corpus >$(BUILD)/fuzz/$(1)_fuzz.log 2>&1
define STATE_FUZZER
$(BUILD)/fuzz/$(1)_fuzz: $(4) $(5)
	@mkdir -p $$(dir $$@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -Wall -Wextra -Werror \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $$@ $(4)

$(BUILD)/fuzz/$(1)_seeds: $(4) $(5)
	@mkdir -p $$(dir $$@)
	$$(HOSTCC) $$(HOSTCFLAGS) -D$(shell echo $(1) | tr a-z A-Z)_FUZZ_SEEDS -o $$@ $(4)

TEST_TIERS += test-fuzz-$(1)
.PHONY: test-fuzz-$(1) fuzz-$(1)
test-fuzz-$(1): $(BUILD)/fuzz/$(1)_fuzz $(BUILD)/fuzz/$(1)_seeds
	@if $$(call FUZZ_RUN_CORPUS,$(1),$(3),$$(or $$(FUZZ_SECONDS),10)); then echo "PASS fuzz.$(2)"; \
	 else echo "FAIL fuzz.$(2)"; tail -n 40 $(BUILD)/fuzz/$(1)_fuzz.log; exit 1; fi

fuzz: fuzz-$(1)
fuzz-$(1): $(BUILD)/fuzz/$(1)_fuzz $(BUILD)/fuzz/$(1)_seeds
	@$$(call FUZZ_RUN_CORPUS,$(1),$(3),$$(or $$(FUZZ_LONG),600)); rc=$$$$?; tail -n 3 $(BUILD)/fuzz/$(1)_fuzz.log; exit $$$$rc
endef

# The vCPU record's restore path and the XSAVE image check.
$(eval $(call STATE_FUZZER,vcpurec,vcpu_records,4096,tests/fuzz/vcpurec_fuzz.c $(VCPUREC_SRC),\
    vmm/vcpustate.h arch/x86/xstate.h arch/x86/hvm.h vmm/dev/snapshot.h tests/unit/vcpurec_sample.h))

# The VM record's restore path (vmm/vmstate.c over the fake platform of the chip tests).
VMSTATE_FUZZ_SRC := tests/fuzz/vmstate_fuzz.c vmm/vmstate.c vmm/vcpurec.c arch/x86/xcr0.c tests/unit/vmm_dev_shim.c \
                    vmm/devreg.c kernel/timer.c kernel/printf.c kernel/kstring.c drivers/cmos.c $(VMM_DEV_SRC)
$(eval $(call STATE_FUZZER,vmstate,vm_records,8192,$(VMSTATE_FUZZ_SRC),$(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h)))

# The migration stream's frames and the destination's content index (vmm/mig/wire.c, pageidx.c; mk/migrate.mk).
$(eval $(call STATE_FUZZER,migwire,migration_frames,131072,tests/fuzz/migwire_fuzz.c $(MIG_WIRE_SRC) tests/unit/host_shim.c,\
    $(wildcard vmm/mig/*.h)))

# A migration destination's page side (vmm/mig/dstpages.c) over fake guests (mk/migrate.mk).
$(eval $(call STATE_FUZZER,migdst,migration_destination_pages,65536,tests/fuzz/migdst_fuzz.c $(MIG_DST_SRC) \
    tests/unit/host_shim.c,$(wildcard vmm/mig/*.h) tests/unit/mig_dst_shim.h))

# Emulated interrupt chips and legacy devices of guest platforms (vmm/dev/), the host CMOS clock, and their unit tier.
VMM_DEV_SRC := vmm/dev/ns16550.c vmm/dev/lapic.c vmm/dev/ioapic.c vmm/dev/irqchip.c vmm/dev/lapic_vm.c vmm/dev/i8259.c \
               vmm/dev/i8254.c vmm/dev/mc146818.c vmm/dev/i8042.c vmm/dev/pci_host.c
KSRC += $(VMM_DEV_SRC)

VMM_DEV_TESTS := $(wildcard tests/unit/test_vmm_dev_*.c)
VMM_DEV_SHIM  := tests/unit/test_main.c tests/unit/vmm_dev_shim.c vmm/devreg.c kernel/timer.c drivers/cmos.c

$(BUILD)/unit/vmm_dev_tests: $(VMM_DEV_TESTS) $(VMM_DEV_SRC) $(VMM_DEV_SHIM) $(wildcard vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_DEV_TESTS) $(VMM_DEV_SRC) $(VMM_DEV_SHIM)

TEST_TIERS += test-unit-vmm-dev
.PHONY: test-unit-vmm-dev
test-unit-vmm-dev: $(BUILD)/unit/vmm_dev_tests
	@$(BUILD)/unit/vmm_dev_tests

# Fuzzer of the chips' snapshot records (restore is fed hostile bytes, then the chip runs): libFuzzer.
SNAP_FUZZ_SRC := tests/fuzz/snapshot_fuzz.c tests/unit/vmm_dev_shim.c vmm/devreg.c kernel/timer.c drivers/cmos.c $(VMM_DEV_SRC)
SNAP_FUZZ_LOG  = $(BUILD)/fuzz/snapshot_fuzz.log
SNAP_FUZZ_RUN  = mkdir -p $(BUILD)/fuzz/snapshot_corpus && $(BUILD)/fuzz/snapshot_seeds $(BUILD)/fuzz/snapshot_corpus && \
                 $(BUILD)/fuzz/snapshot_fuzz -seed=1 -max_len=2048 -timeout=10 -artifact_prefix=$(BUILD)/fuzz/snapshot- \
                 -max_total_time=$(1) -print_final_stats=0 $(BUILD)/fuzz/snapshot_corpus >$(SNAP_FUZZ_LOG) 2>&1
$(BUILD)/fuzz/snapshot_fuzz: $(SNAP_FUZZ_SRC) $(wildcard vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -Wall -Wextra -Werror \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(SNAP_FUZZ_SRC)

$(BUILD)/fuzz/snapshot_seeds: $(SNAP_FUZZ_SRC) $(wildcard vmm/dev/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -DSNAP_FUZZ_SEEDS -o $@ $(SNAP_FUZZ_SRC)

TEST_TIERS += test-fuzz-snapshot
.PHONY: test-fuzz-snapshot fuzz-snapshot
test-fuzz-snapshot: $(BUILD)/fuzz/snapshot_fuzz $(BUILD)/fuzz/snapshot_seeds
	@if $(call SNAP_FUZZ_RUN,$(or $(FUZZ_SECONDS),10)); then echo "PASS fuzz.snapshot_records"; \
	 else echo "FAIL fuzz.snapshot_records"; tail -n 40 $(SNAP_FUZZ_LOG); exit 1; fi

fuzz: fuzz-snapshot
fuzz-snapshot: $(BUILD)/fuzz/snapshot_fuzz $(BUILD)/fuzz/snapshot_seeds
	@$(call SNAP_FUZZ_RUN,$(or $(FUZZ_LONG),600)); rc=$$?; tail -n 3 $(SNAP_FUZZ_LOG); exit $$rc

# Live migration (vmm/mig/): the emulator tier (migration to the host's own address under SVM and VMX,
# failures at each phase), the frame checks' unit tier and their fuzzer.
TEST_TIERS += test-migrate
TIER_LIMIT_test-migrate ?= 900
.PHONY: test-migrate
test-migrate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso guest-images golden-image
	@$(PYTHON) tests/integration/migrate_tests.py --build $(BUILD) --jobs 2

MIG_WIRE_SRC := vmm/mig/wire.c vmm/mig/pageidx.c kernel/kstring.c
$(BUILD)/unit/mig_wire_tests: tests/unit/test_mig_wire.c $(MIG_WIRE_SRC) $(HOST_SHIM) $(wildcard vmm/mig/*.h) tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_mig_wire.c $(MIG_WIRE_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-mig-wire
.PHONY: test-unit-mig-wire
test-unit-mig-wire: $(BUILD)/unit/mig_wire_tests
	@$(BUILD)/unit/mig_wire_tests
# Its fuzzer (test-fuzz-migwire) is declared in mk/vmstate.mk, after the STATE_FUZZER macro it uses.

# The destination's page side (vmm/mig/dstpages.c) on the host over fake guests: unit tier and fuzzer
# (test-fuzz-migdst, declared in mk/vmstate.mk beside test-fuzz-migwire).
MIG_DST_SRC := vmm/mig/dstpages.c vmm/mig/pageidx.c vmm/mig/wire.c blk/delta_ram.c kernel/sha256.c kernel/kstring.c \
               tests/unit/mig_dst_shim.c
$(BUILD)/unit/mig_dst_tests: tests/unit/test_mig_dst.c $(MIG_DST_SRC) $(HOST_SHIM) $(wildcard vmm/mig/*.h) \
                             tests/unit/mig_dst_shim.h tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_mig_dst.c $(MIG_DST_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-mig-dst
.PHONY: test-unit-mig-dst
test-unit-mig-dst: $(BUILD)/unit/mig_dst_tests
	@$(BUILD)/unit/mig_dst_tests

# Live migration (vmm/mig/): the emulator tier (migration to the host's own address under SVM and VMX,
# failures at each phase), the frame checks' unit tier and their fuzzer.
TEST_TIERS += test-migrate
TIER_LIMIT_test-migrate ?= 900
.PHONY: test-migrate
test-migrate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso guest-images golden-image
	@$(PYTHON) tests/integration/migrate_tests.py --build $(BUILD) --jobs 2

# The stream's frames and the destination's content index (vmm/mig/wire.c, pageidx.c).
MIG_WIRE_SRC := vmm/mig/wire.c vmm/mig/pageidx.c kernel/kstring.c
$(eval $(call UNIT_TIER,mig-wire,mig_wire_tests,tests/unit/test_mig_wire.c $(MIG_WIRE_SRC) $(HOST_SHIM),\
    $(wildcard vmm/mig/*.h) tests/unit/test.h))
$(eval $(call SEEDED_FUZZ_TIER,migwire,fuzz.migration_frames,tests/fuzz/migwire_fuzz.c $(MIG_WIRE_SRC) \
    $(ZPAGE_SRC) tests/unit/host_shim.c,$(wildcard vmm/mig/*.h) kernel/zpage.h,-max_len=131072,MIGWIRE_FUZZ_SEEDS,\
    $(ZPAGE_CFLAGS)))

# The destination's page side (vmm/mig/dstpages.c) on the host over fake guests: unit tier and fuzzer.
MIG_DST_SRC := vmm/mig/dstpages.c vmm/mig/pageidx.c vmm/mig/wire.c blk/delta_ram.c $(HASH_SRC) $(ZPAGE_SRC) \
               kernel/kstring.c tests/unit/mig_dst_shim.c
$(eval $(call UNIT_TIER,mig-dst,mig_dst_tests,tests/unit/test_mig_dst.c $(MIG_DST_SRC) $(HOST_SHIM),\
    $(wildcard vmm/mig/*.h) tests/unit/mig_dst_shim.h tests/unit/test.h,$(HASH_CFLAGS) $(ZPAGE_CFLAGS)))
$(eval $(call SEEDED_FUZZ_TIER,migdst,fuzz.migration_destination_pages,tests/fuzz/migdst_fuzz.c $(MIG_DST_SRC) \
    tests/unit/host_shim.c,$(wildcard vmm/mig/*.h) tests/unit/mig_dst_shim.h,-max_len=65536,MIGDST_FUZZ_SEEDS,\
    $(HASH_CFLAGS) $(ZPAGE_CFLAGS)))

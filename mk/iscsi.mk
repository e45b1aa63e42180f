# iSCSI initiator: the engine (net/iscsi, also in the kernel), host tool build/iscsi-read, unit/fuzz/tgtd tiers.
DEPS_PKGS += tgt libiscsi-bin clang

ISCSI_SRC      := $(wildcard net/iscsi/*.c) kernel/crc32c.c $(HASH_SRC) kernel/random.c
ISCSI_HOST_LIB := $(ISCSI_SRC) kernel/printf.c kernel/kstring.c kernel/log.c kernel/param.c kernel/timer.c \
                  tests/unit/host_shim.c
ISCSI_HDRS     := $(wildcard net/iscsi/*.h kernel/*.h blk/*.h tools/iscsi/*.h tests/unit/*.h)

# The tool is built optimised without sanitizers (it is benchmarked); the unit and fuzz builds carry them.
ISCSI_TOOL_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O2 -g -Wall -Wextra -Werror -I. $(HASH_CFLAGS)
ISCSI_TOOL_SRC   := tools/iscsi/iscsi_read.c tools/iscsi/posix.c tools/iscsi/perf.c
$(BUILD)/iscsi-read: $(ISCSI_TOOL_SRC) $(ISCSI_HOST_LIB) blk/blk.c $(ISCSI_HDRS) | $(MBEDTLS_STAMP)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(ISCSI_TOOL_FLAGS) -o $@ $(ISCSI_TOOL_SRC) $(ISCSI_HOST_LIB) blk/blk.c

# The engine's tests (by responsibility: basics, zero copy, hostile targets, retries, peer input) share the scripted
# target of tests/unit/iscsi_engine_fixture.c.
ISCSI_UNIT_TESTS := $(wildcard tests/unit/test_iscsi_*.c tests/unit/test_crypto.c) tests/unit/iscsi_engine_fixture.c
$(eval $(call UNIT_TIER,iscsi,iscsi_tests,$(ISCSI_UNIT_TESTS) $(ISCSI_HOST_LIB) blk/blk.c tests/unit/test_main.c,\
    $(ISCSI_HDRS),$(HASH_CFLAGS)))

# PDUs and login text from a hostile target.
$(eval $(call FUZZ_TIER,iscsi,iscsi_pdu_fuzz,tests/fuzz/iscsi_pdu_fuzz.c $(ISCSI_HOST_LIB) blk/blk.c,$(ISCSI_HDRS),\
    fuzz.iscsi_pdu ($$(FUZZ_S) s),20,-max_len=4096,$(HASH_CFLAGS)))

TEST_TIERS += test-iscsi-tgtd
.PHONY: test-iscsi-tgtd iscsi-read bench-iscsi
iscsi-read: $(BUILD)/iscsi-read

test-iscsi-tgtd: $(BUILD)/iscsi-read
	@BUILD=$(BUILD) sh tests/integration/iscsi_tgtd.sh

bench-iscsi: $(BUILD)/iscsi-read
	@BUILD=$(BUILD) sh tools/bench-iscsi.sh

# iSCSI initiator: the engine (net/iscsi, also in the kernel), host tool build/iscsi-read, unit/fuzz/tgtd tiers.
KSRC += $(wildcard net/iscsi/*.c)
DEPS_PKGS += tgt libiscsi-bin clang

ISCSI_SRC      := $(wildcard net/iscsi/*.c) kernel/crc32c.c kernel/md5.c kernel/sha256.c kernel/random.c
# bench-blk (mk/blk-cache.mk, read before this file) links the engine too: its nonces need the entropy source.
BENCH_BLK_SRC  += kernel/random.c
$(BUILD)/bench-blk: kernel/random.c
ISCSI_HOST_LIB := $(ISCSI_SRC) kernel/printf.c kernel/kstring.c kernel/log.c kernel/param.c kernel/timer.c \
                  tests/unit/host_shim.c
ISCSI_HDRS     := $(wildcard net/iscsi/*.h kernel/*.h blk/*.h tools/iscsi/*.h tests/unit/*.h)

# The tool is built optimised without sanitizers (it is benchmarked); the unit and fuzz builds carry them.
ISCSI_TOOL_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O2 -g -Wall -Wextra -Werror -I.
ISCSI_TOOL_SRC   := tools/iscsi/iscsi_read.c tools/iscsi/posix.c tools/iscsi/perf.c
$(BUILD)/iscsi-read: $(ISCSI_TOOL_SRC) $(ISCSI_HOST_LIB) blk/blk.c $(ISCSI_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(ISCSI_TOOL_FLAGS) -o $@ $(ISCSI_TOOL_SRC) $(ISCSI_HOST_LIB) blk/blk.c

$(BUILD)/unit/iscsi_tests: $(wildcard tests/unit/test_iscsi_*.c tests/unit/test_crypto.c) $(ISCSI_HOST_LIB) \
                           blk/blk.c tests/unit/test_main.c $(ISCSI_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(wildcard tests/unit/test_iscsi_*.c tests/unit/test_crypto.c) \
	    $(ISCSI_HOST_LIB) blk/blk.c tests/unit/test_main.c

# Fuzz: libFuzzer under clang when present, else a deterministic mutation driver under gcc.
FUZZ_SECONDS ?= 20
HAVE_CLANG := $(shell command -v clang >/dev/null 2>&1 && echo 1)
ISCSI_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -fno-omit-frame-pointer -fno-sanitize-recover=all
ifeq ($(HAVE_CLANG),1)
$(BUILD)/fuzz/iscsi_pdu_fuzz: tests/fuzz/iscsi_pdu_fuzz.c $(ISCSI_HOST_LIB) blk/blk.c $(ISCSI_HDRS)
	@mkdir -p $(dir $@)
	clang $(ISCSI_FUZZ_FLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/iscsi_pdu_fuzz.c $(ISCSI_HOST_LIB) blk/blk.c
ISCSI_FUZZ_RUN = $(BUILD)/fuzz/iscsi_pdu_fuzz -max_total_time=$(1) -max_len=4096 -print_final_stats=0 \
                 $(BUILD)/fuzz/iscsi_corpus
else
$(BUILD)/fuzz/iscsi_pdu_fuzz: tests/fuzz/iscsi_pdu_fuzz.c $(ISCSI_HOST_LIB) blk/blk.c $(ISCSI_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(ISCSI_FUZZ_FLAGS) -DFUZZ_STANDALONE $(SANITIZE) -o $@ tests/fuzz/iscsi_pdu_fuzz.c $(ISCSI_HOST_LIB) blk/blk.c
ISCSI_FUZZ_RUN = $(BUILD)/fuzz/iscsi_pdu_fuzz $(1)
endif

TEST_TIERS += test-unit-iscsi test-fuzz-iscsi test-iscsi-tgtd
.PHONY: test-unit-iscsi test-fuzz-iscsi test-iscsi-tgtd fuzz-iscsi iscsi-read bench-iscsi
iscsi-read: $(BUILD)/iscsi-read

test-unit-iscsi: $(BUILD)/unit/iscsi_tests
	@$(BUILD)/unit/iscsi_tests

test-fuzz-iscsi: $(BUILD)/fuzz/iscsi_pdu_fuzz
	@mkdir -p $(BUILD)/fuzz/iscsi_corpus
	@if $(call ISCSI_FUZZ_RUN,$(FUZZ_SECONDS)) > $(BUILD)/fuzz/iscsi_fuzz.log 2>&1; then \
	    echo "PASS fuzz.iscsi_pdu ($(FUZZ_SECONDS) s)"; \
	else tail -n 40 $(BUILD)/fuzz/iscsi_fuzz.log; echo "FAIL fuzz.iscsi_pdu"; exit 1; fi

fuzz: fuzz-iscsi
fuzz-iscsi:
	@$(MAKE) --no-print-directory test-fuzz-iscsi FUZZ_SECONDS=$(or $(FUZZ_LONG),600)

test-iscsi-tgtd: $(BUILD)/iscsi-read
	@BUILD=$(BUILD) sh tests/integration/iscsi_tgtd.sh

bench-iscsi: $(BUILD)/iscsi-read
	@BUILD=$(BUILD) sh tools/bench-iscsi.sh

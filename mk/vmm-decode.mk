# VMM instruction decoder/emulator and guest page walker: kernel sources, host unit tests, fuzzing.
KSRC += vmm/decode.c vmm/emulate.c vmm/gwalk.c vmm/regs.c

VMM_DECODE_SRC := vmm/decode.c vmm/emulate.c vmm/gwalk.c vmm/regs.c
VMM_DECODE_HDR := vmm/decode.h vmm/gwalk.h vmm/regs.h
VMM_UNIT_TESTS := tests/unit/test_vmm_decode.c tests/unit/test_vmm_gwalk.c

$(BUILD)/unit/vmm_tests: $(VMM_UNIT_TESTS) $(VMM_DECODE_SRC) $(VMM_DECODE_HDR) $(HOST_SHIM) kernel/printf.c kernel/kstring.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VMM_UNIT_TESTS) $(VMM_DECODE_SRC) $(HOST_SHIM) kernel/printf.c kernel/kstring.c

# Fuzzer: libFuzzer when clang supports it, else the harness's own deterministic random driver.
DECODE_FUZZ_CC ?= clang
DECODE_FUZZ_LIBFUZZER := $(shell printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' | \
    $(DECODE_FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 && echo 1)
DECODE_FUZZ_SECONDS ?= 15
DECODE_FUZZ_LONG_SECONDS ?= 600
DECODE_FUZZ_LOG = $(BUILD)/fuzz/decode_fuzz.log

ifeq ($(DECODE_FUZZ_LIBFUZZER),1)
$(BUILD)/fuzz/decode_fuzz: tests/fuzz/decode_fuzz.c $(VMM_DECODE_SRC) $(VMM_DECODE_HDR)
	@mkdir -p $(dir $@)
	$(DECODE_FUZZ_CC) -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -DUSE_LIBFUZZER -O1 -g -I. -Wall -Wextra -Werror \
	    $(FUZZ_SANITIZE) -o $@ tests/fuzz/decode_fuzz.c $(VMM_DECODE_SRC)
DECODE_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/decode_corpus && $(BUILD)/fuzz/decode_fuzz -seed=1 -max_len=32 \
    -max_total_time=$(1) -print_final_stats=0 $(BUILD)/fuzz/decode_corpus >$(DECODE_FUZZ_LOG) 2>&1
else
$(BUILD)/fuzz/decode_fuzz: tests/fuzz/decode_fuzz.c $(VMM_DECODE_SRC) $(VMM_DECODE_HDR)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/fuzz/decode_fuzz.c $(VMM_DECODE_SRC)
DECODE_FUZZ_RUN = $(BUILD)/fuzz/decode_fuzz $(1) >$(DECODE_FUZZ_LOG) 2>&1
endif

TEST_TIERS += test-unit-vmm
.PHONY: test-unit-vmm fuzz-decode
test-unit-vmm: $(BUILD)/unit/vmm_tests $(BUILD)/fuzz/decode_fuzz
	@$(BUILD)/unit/vmm_tests
	@if $(call DECODE_FUZZ_RUN,$(DECODE_FUZZ_SECONDS)); then echo "PASS vmm.decode_fuzz_$(DECODE_FUZZ_SECONDS)s"; \
	 else echo "FAIL vmm.decode_fuzz_$(DECODE_FUZZ_SECONDS)s"; tail -n 40 $(DECODE_FUZZ_LOG); exit 1; fi

# Longer fuzzing: make fuzz-decode [DECODE_FUZZ_LONG_SECONDS=N]
fuzz-decode: $(BUILD)/fuzz/decode_fuzz
	@$(call DECODE_FUZZ_RUN,$(DECODE_FUZZ_LONG_SECONDS)); rc=$$?; tail -n 3 $(DECODE_FUZZ_LOG); exit $$rc

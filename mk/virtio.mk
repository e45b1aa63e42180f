# virtio 1.x devices on virtio-mmio (vmm/dev/), the RAM disk (blk/ram.c) and the virtual switch (net/vswitch.c):
# kernel sources (blk/ and net/ are picked up by their directory wildcards) and a host unit tier.
VIRTIO_KSRC := vmm/dev/virtqueue.c vmm/dev/virtio_mmio.c vmm/dev/virtio_blk.c vmm/dev/virtio_net.c
KSRC += $(filter-out $(KSRC),$(VIRTIO_KSRC))

VIRTIO_UNIT_SRC   := $(VIRTIO_KSRC) blk/blk.c blk/ram.c net/vswitch.c kernel/printf.c kernel/kstring.c kernel/log.c \
                     tests/unit/virtio_fake.c tests/unit/blk_mock.c vmm/devreg.c
VIRTIO_UNIT_TESTS := tests/unit/test_virtqueue.c $(wildcard tests/unit/test_virtio_*.c) tests/unit/test_vswitch.c \
                     tests/unit/test_blk_ram.c

$(BUILD)/unit/virtio_tests: $(VIRTIO_UNIT_TESTS) $(VIRTIO_UNIT_SRC) $(HOST_SHIM) $(wildcard vmm/dev/*.h blk/*.h net/vswitch.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VIRTIO_UNIT_TESTS) $(VIRTIO_UNIT_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-virtio
.PHONY: test-unit-virtio
test-unit-virtio: $(BUILD)/unit/virtio_tests
	@$(BUILD)/unit/virtio_tests

# Fuzz: libFuzzer (clang, ASan + UBSan, both fatal) over virtqueue chains and virtio-blk requests through the
# registers on an async mock disk; about 10 s each in make test, FUZZ_LONG (600) s each in make fuzz.
DEPS_PKGS += clang
VIRTIO_FUZZ_SECONDS ?= 10
VIRTIO_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -fno-omit-frame-pointer -Wall -Wextra -Werror \
                     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
VIRTIO_FUZZ_LIB := $(VIRTIO_UNIT_SRC) tests/unit/host_shim.c
VIRTIO_FUZZERS := virtq_fuzz virtio_blk_fuzz

$(VIRTIO_FUZZERS:%=$(BUILD)/fuzz/%): $(BUILD)/fuzz/%: tests/fuzz/%.c $(VIRTIO_FUZZ_LIB) $(wildcard vmm/dev/*.h blk/*.h tests/unit/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	clang $(VIRTIO_FUZZ_FLAGS) -o $@ $< $(VIRTIO_FUZZ_LIB)

# $(1) fuzzer, $(2) seconds: PASS/FAIL line; the log and any crash input stay in $(BUILD)/fuzz/.
VIRTIO_FUZZ_RUN = mkdir -p $(BUILD)/fuzz/$(1)_corpus && \
    if $(BUILD)/fuzz/$(1) -seed=1 -max_len=8192 -max_total_time=$(2) -timeout=10 -print_final_stats=0 \
       -artifact_prefix=$(BUILD)/fuzz/$(1)- $(BUILD)/fuzz/$(1)_corpus > $(BUILD)/fuzz/$(1).log 2>&1; \
    then echo "PASS virtio.$(1)_$(2)s"; else tail -n 40 $(BUILD)/fuzz/$(1).log; echo "FAIL virtio.$(1)_$(2)s"; exit 1; fi

TEST_TIERS += test-fuzz-virtio
.PHONY: test-fuzz-virtio fuzz-virtio
test-fuzz-virtio: $(VIRTIO_FUZZERS:%=$(BUILD)/fuzz/%)
	@$(call VIRTIO_FUZZ_RUN,virtq_fuzz,$(VIRTIO_FUZZ_SECONDS))
	@$(call VIRTIO_FUZZ_RUN,virtio_blk_fuzz,$(VIRTIO_FUZZ_SECONDS))

fuzz: fuzz-virtio
fuzz-virtio:
	@$(MAKE) --no-print-directory test-fuzz-virtio VIRTIO_FUZZ_SECONDS=$(or $(FUZZ_LONG),600)

# virtio 1.x devices on virtio-mmio (vmm/dev/), the RAM disk (blk/ram.c) and the virtual switch (net/vswitch.c):
# a host unit tier and fuzzers.
VIRTIO_KSRC := vmm/dev/virtqueue.c vmm/dev/virtio_mmio.c vmm/dev/virtio_kick.c vmm/dev/virtio_blk.c vmm/dev/virtio_net.c

VIRTIO_UNIT_SRC   := $(VIRTIO_KSRC) blk/blk.c blk/ram.c net/vswitch.c kernel/printf.c kernel/kstring.c kernel/log.c \
                     tests/unit/virtio_fake.c tests/unit/blk_mock.c vmm/devreg.c
VIRTIO_UNIT_TESTS := tests/unit/test_virtqueue.c $(wildcard tests/unit/test_virtio_*.c) tests/unit/test_vswitch.c \
                     tests/unit/test_blk_ram.c
$(eval $(call UNIT_TIER,virtio,virtio_tests,$(VIRTIO_UNIT_TESTS) $(VIRTIO_UNIT_SRC) $(HOST_SHIM),\
    $(wildcard vmm/dev/*.h blk/*.h net/vswitch.h tests/unit/*.h)))

# Fuzz: virtqueue chains and virtio-blk requests through the registers on an async mock disk. Two fuzzers in one
# tier (about 10 s each in make test, FUZZ_LONG s each in make fuzz), so the tier is written out.
DEPS_PKGS += clang
VIRTIO_FUZZ_LIB := $(VIRTIO_UNIT_SRC) tests/unit/host_shim.c
VIRTIO_FUZZ_HDR := $(wildcard vmm/dev/*.h blk/*.h tests/unit/*.h tests/fuzz/*.h)
$(eval $(call FUZZ_BIN,virtq_fuzz,tests/fuzz/virtq_fuzz.c $(VIRTIO_FUZZ_LIB),$(VIRTIO_FUZZ_HDR)))
$(eval $(call FUZZ_BIN,virtio_blk_fuzz,tests/fuzz/virtio_blk_fuzz.c $(VIRTIO_FUZZ_LIB),$(VIRTIO_FUZZ_HDR)))

TEST_TIERS += test-fuzz-virtio
.PHONY: test-fuzz-virtio fuzz-virtio
test-fuzz-virtio: FUZZ_S = $(or $(FUZZ_SECONDS),10)
fuzz-virtio: FUZZ_S = $(FUZZ_LONG)
test-fuzz-virtio fuzz-virtio: $(BUILD)/fuzz/virtq_fuzz $(BUILD)/fuzz/virtio_blk_fuzz
	@$(call FUZZ_RUN,virtq_fuzz,virtio.virtq_fuzz_$(FUZZ_S)s,$(FUZZ_S),-max_len=8192)
	@$(call FUZZ_RUN,virtio_blk_fuzz,virtio.virtio_blk_fuzz_$(FUZZ_S)s,$(FUZZ_S),-max_len=8192)
fuzz: fuzz-virtio

# virtio 1.x devices on virtio-mmio (vmm/dev/), the RAM disk (blk/ram.c) and the virtual switch (net/vswitch.c):
# kernel sources (blk/ and net/ are picked up by their directory wildcards) and a host unit tier.
VIRTIO_KSRC := vmm/dev/virtqueue.c vmm/dev/virtio_mmio.c vmm/dev/virtio_blk.c vmm/dev/virtio_net.c
KSRC += $(filter-out $(KSRC),$(VIRTIO_KSRC))

VIRTIO_UNIT_SRC   := $(VIRTIO_KSRC) vmm/devreg.c blk/blk.c blk/ram.c net/vswitch.c kernel/printf.c kernel/kstring.c kernel/log.c
VIRTIO_UNIT_TESTS := tests/unit/test_virtqueue.c tests/unit/test_vswitch.c tests/unit/test_blk_ram.c

$(BUILD)/unit/virtio_tests: $(VIRTIO_UNIT_TESTS) $(VIRTIO_UNIT_SRC) $(HOST_SHIM) $(wildcard vmm/dev/*.h blk/*.h net/vswitch.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(VIRTIO_UNIT_TESTS) $(VIRTIO_UNIT_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-virtio
.PHONY: test-unit-virtio
test-unit-virtio: $(BUILD)/unit/virtio_tests
	@$(BUILD)/unit/virtio_tests

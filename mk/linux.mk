# Linux guests: boot protocol and PVH loaders, guest ACPI tables, the Linux VM platform; guest images; unit tier.
DEPS_PKGS += busybox-static kmod e2fsprogs cpio lz4 xz-utils

# Debian bookworm's cloud and standard kernels, busybox initramfs with their virtio/ext4 modules, an ext4 disk.
# Cached in $(GUEST_DIR) (set in the Makefile, shared by every BUILD dir).
.PHONY: guest-images test-linux
guest-images:
	@sh tools/guest/build-images.sh $(GUEST_DIR)

LINUX_UNIT_SRC := vmm/loader.c vmm/acpi.c kernel/printf.c kernel/kstring.c
$(eval $(call UNIT_TIER,linux,linux_tests,tests/unit/test_vmm_loader.c $(LINUX_UNIT_SRC) $(HOST_SHIM),\
    vmm/loader.h vmm/acpi.h))

# Linux guests booted in shoal under QEMU (needs the guest images).
TEST_TIERS += test-linux
test-linux: $(BUILD)/shoal.elf guest-images
	@$(PYTHON) tests/integration/linux_tests.py --build $(BUILD) --guest $(GUEST_DIR)

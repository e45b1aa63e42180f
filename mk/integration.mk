# Emulator boot tests: QEMU (-kernel, ISO as CD/disk/USB, iPXE, GRUB netboot) and Bochs (ISO, VMX+EPT).
# `make test-boot` runs them two emulators at a time; BOOT_TESTS=REGEX picks some, BOOT_JOBS sets parallelism.
# Console logs: $(BUILD)/test-logs/boot/NAME.console.log (+ NAME.emu.log, NAME.bochs.log).

DEPS_PKGS += qemu-system-x86 ipxe-qemu bochs bochs-term bochsbios vgabios grub-pc-bin grub-common \
             xorriso mtools python3

BOOT_JOBS  ?= 2
BOOT_TESTS ?=

TEST_TIERS += test-boot
.PHONY: test-boot
test-boot: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/pxe/.done
	@$(PYTHON) tests/integration/boot_tests.py --build $(BUILD) --jobs $(BOOT_JOBS) --only '$(BOOT_TESTS)'

# UEFI boot tests: QEMU with OVMF boots the hybrid ISO (as a CD and as a USB stick) and GRUB EFI over PXE.
# `make test-uefi`; UEFI_TESTS=REGEX picks some, UEFI_JOBS sets parallelism.
# Console logs: $(BUILD)/test-logs/uefi/NAME.console.log (+ NAME.emu.log).

DEPS_PKGS += ovmf qemu-system-x86 ipxe-qemu grub-efi-amd64-bin grub-pc-bin python3

UEFI_JOBS  ?= 2
UEFI_TESTS ?=

TEST_TIERS += test-uefi
.PHONY: test-uefi
test-uefi: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/pxe/.done
	@$(PYTHON) tests/integration/uefi_tests.py --build $(BUILD) --jobs $(UEFI_JOBS) --only '$(UEFI_TESTS)'

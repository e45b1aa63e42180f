# Linux guests under VMX+EPT: a GRUB ISO carrying shoal plus the cloud kernel and its initramfs as
# multiboot2 modules, booted in Bochs (Intel skylake_x). Slow (Bochs interprets every instruction): see below.
LINUX_VMX_GUEST = $(GUEST_DIR)/cloud

$(BUILD)/linux-iso/boot/grub/grub.cfg: mk/linux-vmx.mk
	@mkdir -p $(dir $@)
	printf '%s\n' 'serial --unit=0 --speed=115200' 'terminal_input serial console' \
	  'terminal_output serial console' 'set timeout=0' 'menuentry "shoal+linux" {' \
	  '    multiboot2 /boot/shoal.elf' '    module2 /boot/vmlinuz vmlinuz' \
	  '    module2 /boot/initrd.img initrd.img' '    boot' '}' > $@

$(BUILD)/shoal-linux.iso: $(BUILD)/shoal.elf $(BUILD)/linux-iso/boot/grub/grub.cfg guest-images
	cp $(BUILD)/shoal.elf $(BUILD)/linux-iso/boot/shoal.elf
	cp $(LINUX_VMX_GUEST)/vmlinuz $(LINUX_VMX_GUEST)/initrd.img $(BUILD)/linux-iso/boot/
	grub-mkrescue -o $@ $(BUILD)/linux-iso 2>$(BUILD)/grub-mkrescue-linux.log || \
	  { cat $(BUILD)/grub-mkrescue-linux.log; exit 1; }

.PHONY: test-linux-vmx
test-linux-vmx: $(BUILD)/shoal-linux.iso
	@$(PYTHON) tests/integration/linux_vmx_tests.py --build $(BUILD)

# Measured: about 50 s from `vm start` to SHOAL-GUEST-UP, about 90 s for the tier (two Bochs runs at once).
TEST_TIERS += test-linux-vmx

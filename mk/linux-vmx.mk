# Linux guests under VMX+EPT: a GRUB ISO carrying shoal plus the cloud kernel and its initramfs as
# multiboot2 modules (and the test disk), booted in Bochs (Intel skylake_x) with an e1000 on slirp. Slow.
LINUX_VMX_GUEST = $(GUEST_DIR)/cloud

# gfxpayload=keep after multiboot2 (boot/grub.cfg says why): else GRUB sets a 32 bpp mode, which Bochs's
# text-terminal display cannot show, and Bochs exits.
$(BUILD)/linux-iso/boot/grub/grub.cfg: mk/linux-vmx.mk
	@mkdir -p $(dir $@)
	printf '%s\n' 'serial --unit=0 --speed=115200' 'terminal_input serial console' \
	  'terminal_output serial console' 'set timeout=0' 'menuentry "shoal+linux" {' \
	  '    multiboot2 /boot/shoal.elf' '    set gfxpayload=keep' '    module2 /boot/vmlinuz vmlinuz' \
	  '    module2 /boot/initrd.img initrd.img' '    module2 /boot/disk.img disk.img' '    boot' '}' > $@

# guest-images is order-only (it is phony): the ISO is rebuilt when one of its files changes, not by every tier
# that names it, and it is written beside and renamed, so a Bochs already booting from it keeps the old one.
LINUX_ISO_FILES = $(LINUX_VMX_GUEST)/vmlinuz $(LINUX_VMX_GUEST)/initrd.img $(GUEST_DIR)/disk.img
$(LINUX_ISO_FILES): | guest-images
$(BUILD)/shoal-linux.iso: $(BUILD)/shoal.elf $(BUILD)/linux-iso/boot/grub/grub.cfg $(LINUX_ISO_FILES) | guest-images
	cp $(BUILD)/shoal.elf $(BUILD)/linux-iso/boot/shoal.elf
	cp $(LINUX_ISO_FILES) $(BUILD)/linux-iso/boot/
	grub-mkrescue -o $@.tmp $(BUILD)/linux-iso 2>$(BUILD)/grub-mkrescue-linux.log || \
	  { cat $(BUILD)/grub-mkrescue-linux.log; rm -f $@.tmp; exit 1; }
	mv -f $@.tmp $@

.PHONY: test-linux-vmx
test-linux-vmx: $(BUILD)/shoal-linux.iso golden-image
	@SHOAL_GUEST_DIR=$(GUEST_DIR) SHOAL_GOLDEN=$(GOLDEN_DIR)/demo.img \
	    $(PYTHON) tests/integration/linux_vmx_tests.py --build $(BUILD)

# Two Bochs runs at once: two Linux guests (g1 with 2 vCPUs, disk and network; g2 with 1 vCPU spawning
# processes) and a pool clone over iSCSI. Bochs is CPU-bound: the tier takes as long as the two-guest run.
TEST_TIERS += test-linux-vmx

# Boot media: the GRUB ISO (CD and USB stick), the PXE trees (iPXE script, GRUB netboot), make run.
# Both GRUB platforms go into each: i386-pc (legacy BIOS) and x86_64-efi (UEFI).

GRUB_BIOS_DIR := /usr/lib/grub/i386-pc
GRUB_EFI_DIR  := /usr/lib/grub/x86_64-efi
DEPS_PKGS += grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools

QEMU      ?= qemu-system-x86_64
RUN_MEM   ?= 1G
RUN_ARGS  ?=

iso: $(BUILD)/shoal.iso
pxe: $(BUILD)/pxe/.done

$(BUILD)/iso/boot/grub/grub.cfg: boot/grub.cfg
	@mkdir -p $(dir $@)
	cp $< $@

# One hybrid image: given no -d (a second -d replaces the first), grub-mkrescue takes every platform
# installed under /usr/lib/grub, so with both present it writes BIOS boot code (El Torito and an MBR
# for a stick) and an EFI system partition (an El Torito EFI entry and a GPT partition).
$(BUILD)/shoal.iso: $(BUILD)/shoal.elf $(BUILD)/iso/boot/grub/grub.cfg
	@for d in $(GRUB_BIOS_DIR) $(GRUB_EFI_DIR); do [ -f $$d/modinfo.sh ] || \
	    { echo "iso: $$d missing: run 'make deps' (grub-pc-bin, grub-efi-amd64-bin)"; exit 1; }; done
	@mkdir -p $(BUILD)/iso/boot
	cp $(BUILD)/shoal.elf $(BUILD)/iso/boot/shoal.elf
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || \
	    { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# TFTP root: shoal.elf, an iPXE script (shoal.ipxe), and a GRUB netboot tree for BIOS clients
# (boot/grub/i386-pc/core.0) and x86-64 UEFI clients (boot/grub/x86_64-efi/core.efi); both GRUBs read
# boot/grub/grub.cfg and load shoal by multiboot2.
$(BUILD)/pxe/.done: $(BUILD)/shoal.elf boot/shoal.ipxe boot/grub-net.cfg
	@mkdir -p $(BUILD)/pxe
	cp $(BUILD)/shoal.elf $(BUILD)/pxe/shoal.elf
	cp boot/shoal.ipxe $(BUILD)/pxe/shoal.ipxe
	grub-mknetdir --net-directory=$(BUILD)/pxe --subdir=boot/grub -d $(GRUB_BIOS_DIR) >/dev/null
	grub-mknetdir --net-directory=$(BUILD)/pxe --subdir=boot/grub -d $(GRUB_EFI_DIR) >/dev/null
	cp boot/grub-net.cfg $(BUILD)/pxe/boot/grub/grub.cfg
	touch $@

# The demo: tgtd exports the golden image, shoal adds it to its pool and autostarts two web guests.
run: deps $(BUILD)/shoal.elf golden-image
	@BUILD=$(BUILD) QEMU=$(QEMU) RUN_MEM=$(RUN_MEM) RUN_ARGS='$(RUN_ARGS)' sh tools/run-demo.sh

# shoal alone (no image, no guests).
run-bare: $(BUILD)/shoal.elf
	$(QEMU) -accel tcg -cpu qemu64,+svm,+npt -m $(RUN_MEM) -kernel $(BUILD)/shoal.elf \
	    -append "$(RUN_ARGS)" -nic user,model=e1000 -serial mon:stdio -display none -no-reboot

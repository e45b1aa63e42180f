# Boot media: the GRUB ISO (CD and USB stick), the PXE trees (iPXE script, GRUB netboot), make run.

QEMU      ?= qemu-system-x86_64
RUN_MEM   ?= 1G
RUN_ARGS  ?=

iso: $(BUILD)/shoal.iso
pxe: $(BUILD)/pxe/.done

$(BUILD)/iso/boot/grub/grub.cfg: boot/grub.cfg
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/shoal.iso: $(BUILD)/shoal.elf $(BUILD)/iso/boot/grub/grub.cfg
	@mkdir -p $(BUILD)/iso/boot
	cp $(BUILD)/shoal.elf $(BUILD)/iso/boot/shoal.elf
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# TFTP root: shoal.elf, an iPXE script (shoal.ipxe), and a GRUB netboot tree (boot/grub/i386-pc/core.0).
$(BUILD)/pxe/.done: $(BUILD)/shoal.elf boot/shoal.ipxe boot/grub-net.cfg
	@mkdir -p $(BUILD)/pxe
	cp $(BUILD)/shoal.elf $(BUILD)/pxe/shoal.elf
	cp boot/shoal.ipxe $(BUILD)/pxe/shoal.ipxe
	grub-mknetdir --net-directory=$(BUILD)/pxe --subdir=boot/grub -d /usr/lib/grub/i386-pc >/dev/null
	cp boot/grub-net.cfg $(BUILD)/pxe/boot/grub/grub.cfg
	touch $@

# The demo: tgtd exports the golden image, shoal adds it to its pool and autostarts two web guests.
run: deps $(BUILD)/shoal.elf golden-image
	@BUILD=$(BUILD) QEMU=$(QEMU) RUN_MEM=$(RUN_MEM) RUN_ARGS='$(RUN_ARGS)' sh tools/run-demo.sh

# shoal alone (no image, no guests).
run-bare: $(BUILD)/shoal.elf
	$(QEMU) -accel tcg -cpu qemu64,+svm,+npt -m $(RUN_MEM) -kernel $(BUILD)/shoal.elf \
	    -append "$(RUN_ARGS)" -nic user,model=e1000 -serial mon:stdio -display none -no-reboot

# Test guests: tests/guests/NAME{16,32,64}.S assembled into flat images and linked into the kernel
# through a generated table (vmm/testguest.h), so `vm create X guest=NAME` needs no module.

GUEST_SRC := $(sort $(wildcard tests/guests/*.S))
GUEST_BIN := $(patsubst tests/guests/%.S,$(BUILD)/guests/%.bin,$(GUEST_SRC))
GUEST_AS  := $(CC) -c -x assembler-with-cpp -I. -Wa,--noexecstack

$(BUILD)/guests/%16.bin: tests/guests/%16.S tests/guests/guest.h
	@mkdir -p $(dir $@)
	$(GUEST_AS) -m32 -DMODE=16 $< -o $(@:.bin=.o)
	$(LD) -m elf_i386 -Ttext=0x8000 --oformat binary -o $@ $(@:.bin=.o)

$(BUILD)/guests/%32.bin: tests/guests/%32.S tests/guests/guest.h
	@mkdir -p $(dir $@)
	$(GUEST_AS) -m32 -DMODE=32 $< -o $(@:.bin=.o)
	$(LD) -m elf_i386 -Ttext=0x10000 --oformat binary -o $@ $(@:.bin=.o)

$(BUILD)/guests/%64.bin: tests/guests/%64.S tests/guests/guest.h
	@mkdir -p $(dir $@)
	$(GUEST_AS) -DMODE=64 $< -o $(@:.bin=.o)
	$(LD) -m elf_x86_64 -Ttext=0x10000 --oformat binary -o $@ $(@:.bin=.o)

$(BUILD)/guests/table.S: $(GUEST_BIN) mk/guests.mk
	@mkdir -p $(dir $@)
	@{ echo '    .section .rodata'; \
	   for b in $(GUEST_BIN); do n=$$(basename $$b .bin); \
	     echo "    .balign 16"; echo "g_$${n}_start: .incbin \"$$b\""; echo "g_$${n}_end:"; \
	     echo "g_$${n}_name: .asciz \"$$n\""; done; \
	   echo '    .balign 8'; echo '    .global test_guest_table, test_guest_count'; \
	   echo "test_guest_count: .quad $(words $(GUEST_BIN))"; echo 'test_guest_table:'; \
	   for b in $(GUEST_BIN); do n=$$(basename $$b .bin); m=$$(echo $$n | sed 's/.*\(..\)$$/\1/'); \
	     echo "    .quad g_$${n}_name, g_$${n}_start, g_$${n}_end, $$m"; done; } > $@

$(BUILD)/guests/table.o: $(BUILD)/guests/table.S
	$(CC) -c -Wa,--noexecstack $< -o $@

KEXTRA += $(BUILD)/guests/table.o

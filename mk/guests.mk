# Test guests: each tests/guests/NAME.S names the CPU modes it is built for in a "guest modes: 16 32 64"
# comment and becomes one flat image per mode (NAME16, NAME32, NAME64); a file without that line but
# named NAME16/32/64.S is built for that one mode. A generated table links them into the kernel
# (vmm/testguest.h), so `vm create X guest=NAME32` needs no module.

GUEST_SRC := $(sort $(wildcard tests/guests/*.S))
GUEST_AS  := $(CC) -c -x assembler-with-cpp -I. -Wa,--noexecstack
# mode -> linker emulation, load address, assembler flag
GUEST_LD_16 := -m elf_i386 -Ttext=0x8000
GUEST_LD_32 := -m elf_i386 -Ttext=0x10000
GUEST_LD_64 := -m elf_x86_64 -Ttext=0x10000
GUEST_CC_16 := -m32
GUEST_CC_32 := -m32
GUEST_CC_64 :=

guest_modes = $(or $(shell sed -n 's/.*guest modes: *\([0-9 ]*[0-9]\).*/\1/p' $(1) | head -n 1), \
                   $(patsubst %,%,$(filter 16 32 64,$(shell echo $(basename $(notdir $(1))) | sed 's/.*\(..\)$$/\1/'))))
guest_name = $(basename $(notdir $(1)))$(if $(shell grep -q 'guest modes:' $(1) && echo y),$(2))

# One image: $(1) source, $(2) mode.
define GUEST_RULE
$(BUILD)/guests/$(call guest_name,$(1),$(2)).bin: $(1) $(wildcard tests/guests/*.h)
	@mkdir -p $$(dir $$@)
	$$(GUEST_AS) $$(GUEST_CC_$(2)) -DMODE=$(2) $$< -o $$(@:.bin=.o)
	$$(LD) $$(GUEST_LD_$(2)) --oformat binary -o $$@ $$(@:.bin=.o)
GUEST_BIN += $(BUILD)/guests/$(call guest_name,$(1),$(2)).bin
endef
$(foreach f,$(GUEST_SRC),$(foreach m,$(call guest_modes,$(f)),$(eval $(call GUEST_RULE,$(f),$(m)))))

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

# shoal: build the hypervisor image, boot media, host tools and tests.
# `make` builds build/shoal.elf; `make run` boots it under QEMU; `make test` runs every test tier.

BUILD    ?= build
CC       ?= gcc
HOSTCC   ?= gcc
LD       ?= ld
PYTHON   ?= python3

KCFLAGS  := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
            -fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
            -fno-strict-aliasing -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
KCFLAGS  += $(if $(HEAP_DEBUG),-DHEAP_DEBUG)    # make HEAP_DEBUG=1: freed blocks quarantined and checked
KASFLAGS := -I. -MMD -MP -g
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld

# Sanitizer findings are fatal everywhere (UBSan too): a test or fuzzer never runs on past one.
SANITIZE      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SANITIZE := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
HOSTCFLAGS := -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -Wall -Wextra -Werror -I. \
              $(SANITIZE) -fno-omit-frame-pointer -MMD -MP

# Kernel sources: every subsystem fragment in mk/ adds to KSRC.
KSRC := $(wildcard boot/*.S) \
        $(wildcard arch/x86/*.c arch/x86/*.S) \
        $(wildcard kernel/*.c) \
        $(wildcard drivers/*.c)

# The host side of every unit tier: set before the fragments, whose prerequisites name it.
HOST_SHIM := tests/unit/test_main.c tests/unit/host_shim.c

all: $(BUILD)/shoal.elf

include $(sort $(wildcard mk/*.mk))

# Host unit tests of the kernel's portable parts (fragments may add sources and test files).

KERNEL_UNIT_SRC += kernel/printf.c kernel/kstring.c kernel/param.c kernel/lineedit.c kernel/shell.c \
                   kernel/multiboot.c kernel/memmap.c kernel/pmm.c kernel/log.c kernel/timer.c
KERNEL_UNIT_TESTS += $(wildcard tests/unit/test_kernel_*.c)

$(BUILD)/unit/kernel_tests: $(KERNEL_UNIT_TESTS) $(KERNEL_UNIT_SRC) $(HOST_SHIM) $(wildcard tests/unit/*.h kernel/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(KERNEL_UNIT_TESTS) $(KERNEL_UNIT_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-kernel
.PHONY: test-unit-kernel
test-unit-kernel: $(BUILD)/unit/kernel_tests
	@$(BUILD)/unit/kernel_tests


KOBJ := $(patsubst %,$(BUILD)/k/%.o,$(KSRC)) $(KEXTRA)

.PHONY: all iso pxe run test unit deps clean bench fuzz

$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KASFLAGS) -c $< -o $@

# Two-pass link: the symbol table for backtraces is generated from the first pass and placed after
# all code, so no function moves; the check below proves it.
$(BUILD)/ksyms0.S: tools/gen-ksyms.sh
	@mkdir -p $(BUILD)
	sh tools/gen-ksyms.sh > $@

$(BUILD)/%.o: $(BUILD)/%.S
	$(CC) -c -Wa,--noexecstack $< -o $@

$(BUILD)/shoal.pass1.elf: $(KOBJ) $(BUILD)/ksyms0.o linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms0.o

$(BUILD)/ksyms1.S: $(BUILD)/shoal.pass1.elf tools/gen-ksyms.sh
	sh tools/gen-ksyms.sh $< > $@

$(BUILD)/shoal.elf: $(BUILD)/shoal.pass1.elf $(BUILD)/ksyms1.o
	$(LD) $(KLDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms1.o
	@nm -n $(BUILD)/shoal.pass1.elf | grep ' [tT] ' > $(BUILD)/syms1.txt
	@nm -n $@ | grep ' [tT] ' > $(BUILD)/syms2.txt
	@cmp -s $(BUILD)/syms1.txt $(BUILD)/syms2.txt || { echo "symbol table moved code"; rm -f $@; exit 1; }

-include $(KOBJ:.o=.d)

clean:
	rm -rf $(BUILD)

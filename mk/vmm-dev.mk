# Emulated interrupt chips and legacy devices of guest platforms (vmm/dev/), the host CMOS clock, their unit tier
# and the fuzzer of their snapshot records.
VMM_DEV_SRC := vmm/dev/ns16550.c vmm/dev/lapic.c vmm/dev/ioapic.c vmm/dev/irqchip.c vmm/dev/lapic_vm.c vmm/dev/i8259.c \
               vmm/dev/i8254.c vmm/dev/mc146818.c vmm/dev/i8042.c vmm/dev/pci_host.c \
               vmm/dev/pmtimer.c
VMM_DEV_SHIM := tests/unit/test_main.c tests/unit/vmm_dev_shim.c vmm/devreg.c kernel/timer.c drivers/cmos.c
$(eval $(call UNIT_TIER,vmm-dev,vmm_dev_tests,$(wildcard tests/unit/test_vmm_dev_*.c) $(VMM_DEV_SRC) $(VMM_DEV_SHIM),\
    $(wildcard vmm/dev/*.h tests/unit/*.h)))

# Restore is fed hostile bytes, then the chip runs.
SNAP_FUZZ_SRC := tests/fuzz/snapshot_fuzz.c tests/unit/vmm_dev_shim.c vmm/devreg.c kernel/timer.c drivers/cmos.c \
                 $(VMM_DEV_SRC)
$(eval $(call SEEDED_FUZZ_TIER,snapshot,fuzz.snapshot_records,$(SNAP_FUZZ_SRC),$(wildcard vmm/dev/*.h tests/unit/*.h),\
    -max_len=2048,SNAP_FUZZ_SEEDS))

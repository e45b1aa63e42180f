# VM state records (vmm/vcpurec.c, vmm/vmstate.c): `vm move` of a test guest and of a Linux guest under SVM+NPT
# (QEMU) and VMX+EPT (Bochs: the 2-vCPU Linux move takes about 5 minutes).
TEST_TIERS += test-vmstate
TIER_LIMIT_test-vmstate ?= 1200
.PHONY: test-vmstate
test-vmstate: $(BUILD)/shoal.elf $(BUILD)/shoal.iso $(BUILD)/shoal-linux.iso guest-images
	@$(PYTHON) tests/integration/vmstate_tests.py --build $(BUILD) --jobs 2

# The vCPU record's checks (vmm/vcpurec.c, arch/x86/xsavechk.c) on the host: round trips and refusals; the
# fuzzer of its restore path and the XSAVE image check.
VCPUREC_SRC := vmm/vcpurec.c arch/x86/xcr0.c arch/x86/xsavechk.c
VCPUREC_HDR := vmm/vcpustate.h arch/x86/xstate.h arch/x86/hvm.h vmm/dev/snapshot.h tests/unit/vcpurec_sample.h
$(eval $(call UNIT_TIER,vcpurec,vcpurec_tests,tests/unit/test_vcpurec.c tests/unit/test_main.c $(VCPUREC_SRC),\
    $(VCPUREC_HDR) tests/unit/test.h))
$(eval $(call SEEDED_FUZZ_TIER,vcpurec,fuzz.vcpu_records,tests/fuzz/vcpurec_fuzz.c $(VCPUREC_SRC),$(VCPUREC_HDR),\
    -max_len=4096,VCPUREC_FUZZ_SEEDS))

# The VM record's restore path (vmm/vmstate.c over the fake platform of the chip tests, mk/vmm-dev.mk).
VMSTATE_FUZZ_SRC := tests/fuzz/vmstate_fuzz.c vmm/vmstate.c vmm/vcpurec.c arch/x86/xcr0.c tests/unit/vmm_dev_shim.c \
                    vmm/devreg.c kernel/timer.c kernel/printf.c kernel/kstring.c drivers/cmos.c $(VMM_DEV_SRC)
$(eval $(call SEEDED_FUZZ_TIER,vmstate,fuzz.vm_records,$(VMSTATE_FUZZ_SRC),$(wildcard vmm/*.h vmm/dev/*.h tests/unit/*.h),\
    -max_len=8192,VMSTATE_FUZZ_SEEDS))

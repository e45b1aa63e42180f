# The virtual switch's fuzz tier (its unit tests are in test-unit-virtio): hostile frames on every port.
VSWITCH_FUZZ_SRC := tests/fuzz/vswitch_fuzz.c net/vswitch.c kernel/kstring.c tests/unit/host_shim.c \
                    kernel/printf.c kernel/log.c kernel/param.c kernel/timer.c
$(eval $(call FUZZ_TIER,vswitch,vswitch_fuzz,$(VSWITCH_FUZZ_SRC),net/vswitch.h,vswitch.fuzz_$$(FUZZ_S)s,10,\
    -max_len=4096))

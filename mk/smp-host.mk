# The SMP pieces that run on the host too: smp_call's mailbox (arch/x86/smpcall.h; a second thread is the
# called CPU).
$(eval $(call UNIT_TIER,smp,smp_tests,tests/unit/test_smp_mailbox.c tests/unit/test_main.c,arch/x86/smpcall.h tests/unit/test.h,-pthread))

# The SMP pieces that run on the host too: smp_call's mailbox (arch/x86/smpcall.h; a second thread is the
# called CPU) and the stack high-water marks (arch/x86/stackmark.c).
$(eval $(call UNIT_TIER,smp,smp_tests,tests/unit/test_smp_mailbox.c tests/unit/test_stackmark.c arch/x86/stackmark.c tests/unit/test_main.c,arch/x86/smpcall.h arch/x86/stackmark.h tests/unit/test.h,-pthread))
# SVM's ASID tags (arch/x86/asid.c) against a model of tagged TLBs.
$(eval $(call UNIT_TIER,asid,asid_tests,tests/unit/test_asid.c arch/x86/asid.c tests/unit/test_main.c,arch/x86/asid.h tests/unit/test.h))

# Fake tiers for tests/suite/suite_test.sh: each behaves as one kind of broken (or good) tier.
.PHONY: t-pass t-fail-rc0 t-silent t-crash t-slow
t-pass:
	@echo "PASS fake.a"
t-fail-rc0:
	@echo "PASS fake.b"; echo "FAIL fake.c"
t-silent:
	@echo "building..."
t-crash:
	@echo "PASS fake.d"; exit 3
t-slow:
	@echo "PASS fake.e"; sleep 6; touch "$(MARK)"
# t-meet-a and t-meet-b pass only when they run at the same time: each leaves a mark, then waits for the other's.
.PHONY: t-meet-a t-meet-b
t-meet-a t-meet-b:
	@touch "$(MARK).$@"; other=$(MARK).$(if $(filter t-meet-a,$@),t-meet-b,t-meet-a); i=0; \
	while [ ! -e "$$other" ] && [ $$i -lt 50 ]; do sleep 0.2; i=$$((i + 1)); done; \
	if [ -e "$$other" ]; then echo "PASS fake.$@"; else echo "FAIL fake.$@ (the other tier never ran alongside)"; fi

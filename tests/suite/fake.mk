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

# The management API (net/api/): lwIP's httpd over altcp TLS (mbedTLS), the JSON API, /metrics, the status
# page; its host unit tier, its request-parser fuzzer and the emulator tier.

API_FILES := $(wildcard net/api/*.c)
# The resources other subsystems register: pool/ and vmm/ include net/api/api.h (never the reverse).
KSRC      += $(API_FILES) pool/api.c vmm/api.c
API_OBJ   := $(patsubst %,$(BUILD)/k/%.o,$(API_FILES))

# net/api/httpd_glue.c compiles lwIP's httpd.c inside itself (see its comment): lwIP's warnings relaxed there.
$(API_OBJ): KCFLAGS += $(LWIP_INC) $(TLS_INC) -I$(LWIP_SRC)
$(BUILD)/k/net/api/httpd_glue.c.o: KCFLAGS += $(THIRD_PARTY_WARN) -Wno-address
# (mk/lwip.mk and mk/mbedtls.mk are read after this file: their stamps are named here, not by variable.)
$(API_OBJ): | build/lwip/src/core/init.c build/mbedtls/library/ssl_tls.c

# The status page, one self-contained HTML file, compiled in as a C string.
$(BUILD)/k/net/api/page.c.o: $(BUILD)/gen/net/api/page.html.inc
$(BUILD)/k/net/api/page.c.o: KCFLAGS += -I$(BUILD)/gen
$(BUILD)/gen/net/api/page.html.inc: net/api/page.html tools/c-string.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/c-string.py < $< > $@

# Host unit tests of the request parser, the JSON reader/writer and the token comparison.
API_UNIT_SRC := net/api/json.c net/api/http.c kernel/kstring.c kernel/printf.c
$(BUILD)/unit/api_tests: tests/unit/test_api.c $(API_UNIT_SRC) $(HOST_SHIM) net/api/json.h net/api/http.h tests/unit/test.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ tests/unit/test_api.c $(API_UNIT_SRC) $(HOST_SHIM)

TEST_TIERS += test-unit-api
.PHONY: test-unit-api
test-unit-api: $(BUILD)/unit/api_tests
	@$(BUILD)/unit/api_tests

# Emulator tier: the API end to end under QEMU (host ports forwarded), shoalctl against two hosts,
# /metrics through Prometheus' parser, the page in headless Chromium.
# Debian's python3-prometheus-client is seen by Debian's own interpreter only (a python3 earlier in PATH,
# such as a pyenv shim, does not see it): the tier runs under /usr/bin/python3 where that exists.
DEPS_PKGS += python3-prometheus-client chromium openssl
API_PYTHON ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,$(PYTHON))
TEST_TIERS += test-api
.PHONY: test-api
test-api: $(BUILD)/shoal.elf golden-image
	@$(API_PYTHON) tests/integration/api_tests.py --build $(BUILD) --jobs 2

# The request parser's fuzzer: header sections, paths and JSON bodies (FUZZ_RUN_CORPUS: mk/vmstate.mk).
API_FUZZ_SRC := tests/fuzz/api_fuzz.c $(API_UNIT_SRC) tests/unit/host_shim.c
$(BUILD)/fuzz/api_fuzz: $(API_FUZZ_SRC) net/api/json.h net/api/http.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -DSHOAL_HOST -O1 -g -I. -Wall -Wextra -Werror $(FUZZ_SANITIZE) -o $@ $(API_FUZZ_SRC)

$(BUILD)/fuzz/api_seeds: $(API_FUZZ_SRC) net/api/json.h net/api/http.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -DAPI_FUZZ_SEEDS -o $@ $(API_FUZZ_SRC)

TEST_TIERS += test-fuzz-api
.PHONY: test-fuzz-api fuzz-api
test-fuzz-api: $(BUILD)/fuzz/api_fuzz $(BUILD)/fuzz/api_seeds
	@if $(call FUZZ_RUN_CORPUS,api,16384,$(or $(FUZZ_SECONDS),10)); then echo "PASS fuzz.api_requests"; \
	 else echo "FAIL fuzz.api_requests"; tail -n 40 $(BUILD)/fuzz/api_fuzz.log; exit 1; fi

fuzz: fuzz-api
fuzz-api: $(BUILD)/fuzz/api_fuzz $(BUILD)/fuzz/api_seeds
	@$(call FUZZ_RUN_CORPUS,api,16384,$(or $(FUZZ_LONG),600)); rc=$$?; tail -n 3 $(BUILD)/fuzz/api_fuzz.log; exit $$rc

# shoal's in-hypervisor iSCSI initiator over lwIP (net/iscsi_tcp.c, net/iscsi_sessions.c, net/iscsi_cmds.c,
# net/iscsi_sha.c: compiled by mk/lwip.mk's net/*.c wildcard): emulator tests against tgtd, and a benchmark.

TEST_TIERS += test-iscsi-shoal test-iscsi-hostile test-iscsi-restart
.PHONY: test-iscsi-shoal test-iscsi-hostile test-iscsi-restart bench-iscsi-shoal

# QEMU TCG with user networking (e1000 and virtio-net) reading a tgtd LUN on the host's loopback.
test-iscsi-shoal: $(BUILD)/shoal.elf
	@$(PYTHON) tests/integration/iscsi_shoal.py $(BUILD)/shoal.elf

# QEMU TCG reading from a scripted hostile target (tests/integration/hostile_target.py, Python only): every
# malformed answer drops the session and the read comes back right after the reconnect; the host never faults.
test-iscsi-hostile: $(BUILD)/shoal.elf
	@$(PYTHON) tests/integration/hostile_target.py $(BUILD)/shoal.elf

# The golden image's tgtd killed and restarted 20 times while three clones read and write (every read checked
# against the image plus the clone's writes), and a host that boots before its target (pool= + autostart=).
test-iscsi-restart: $(BUILD)/shoal.elf golden-image
	@$(PYTHON) tests/integration/iscsi_restart.py $(BUILD)/shoal.elf $(GOLDEN_DIR)/demo.img

# Not a test: read rates inside QEMU beside host initiators (libiscsi iscsi-perf, build/iscsi-read).
bench-iscsi-shoal: $(BUILD)/shoal.elf $(BUILD)/iscsi-read
	@BUILD=$(BUILD) PYTHON=$(PYTHON) sh tools/bench-iscsi-shoal.sh

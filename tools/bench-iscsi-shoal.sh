#!/bin/sh
# Benchmark (not a test): shoal's in-hypervisor iSCSI read rate under QEMU TCG over e1000 and virtio-net,
# beside libiscsi's iscsi-perf and tools/iscsi's build/iscsi-read on the host against the same tgtd.
# The in-QEMU figure is bounded by the emulated CPU (TCG), not by the initiator or the network.
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
exec "$PYTHON" tests/integration/iscsi_shoal.py --bench "$BUILD/shoal.elf"

#!/bin/sh
# make bench-blk: the block-layer benchmark rows (build/bench-blk) beside qemu-io, and shared-cache fetches from a tgtd LUN.
# Prints measurements and ratios only; never fails on times. Starts its own tgtd on a private control port and
# TCP port (tools/tgtd.sh, as tests/integration/iscsi_tgtd.sh) and always stops it by PID.
BUILD=${BUILD:-build}
BENCH=$BUILD/bench-blk
W=$(mktemp -d /tmp/shoal-bench-blk.XXXXXX)
CTL=$((2000 + $$ % 5000))
PORT=$((20000 + $$ % 20000))
IQN=iqn.2026-01.org.shoal:benchblk
TGT_PID=""
LOG=$W/tgtd.log

. tools/tgtd.sh

cleanup() { stop_tgtd 1; rm -rf "$W"; }
trap cleanup EXIT INT TERM

# tgtd with the 64 MiB image as target 1, LUN 1, read-only.
start_target() {
    start_tgtd &&
    adm --op new --mode target --tid 1 -T $IQN &&
    adm --op new --mode logicalunit --tid 1 --lun 1 -b "$W/img64.raw" &&
    adm --op update --mode logicalunit --tid 1 --lun 1 --params readonly=1 &&
    adm --op bind --mode target --tid 1 -I ALL
}

echo "bench-blk: $(nproc) CPUs, $(uname -r); shoal built -O2 without sanitizers; $(qemu-io --version 2>/dev/null | head -n 1)"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$W/base.raw"
head -c $((64 * 1024 * 1024)) "$W/base.raw" > "$W/img64.raw"

"$BENCH" create
if command -v qemu-io >/dev/null && command -v qemu-img >/dev/null; then
    "$BENCH" randwrite "$W/base.raw" "$W" 20000 7
else
    echo "randwrite: skipped (qemu-io/qemu-img missing: make deps installs qemu-utils)"
fi
"$BENCH" seqread "$W/base.raw"

if start_target >>"$LOG" 2>&1; then
    "$BENCH" clones "$W/img64.raw" "iscsi://127.0.0.1:$PORT/$IQN/1" 32
else
    echo "clones: tgtd unavailable (see below); reading a host file base instead"
    tail -n 5 "$LOG" | sed 's/^/    /'
    "$BENCH" clones "$W/img64.raw" 32
fi
exit 0

#!/bin/sh
# Benchmark shoal's initiator (build/iscsi-read) against libiscsi's iscsi-perf on the same loopback tgtd.
# Prints MB/s for each and the ratio, per (queue depth, request size). Usage: BUILD=build sh tools/bench-iscsi.sh
BUILD=${BUILD:-build}
TOOL=$BUILD/iscsi-read
W=$(mktemp -d /tmp/shoal-bench.XXXXXX)
CTL=$((2000 + ($$ + 7) % 5000))
PORT=$((20000 + ($$ + 7) % 20000))
T=iqn.2026-01.org.shoal:bench
MB=${BENCH_MB:-256}
TGT_PID=""
adm() { tgtadm -C "$CTL" --lld iscsi "$@"; }
cleanup() {
    if [ -n "$TGT_PID" ]; then
        adm --op update --mode target --tid 1 -n state -v offline >/dev/null 2>&1
        adm --op delete --force --mode target --tid 1 >/dev/null 2>&1
        adm --op delete --mode system >/dev/null 2>&1
        sleep 0.5
        kill -0 "$TGT_PID" 2>/dev/null && kill -9 "$TGT_PID"
        wait "$TGT_PID" 2>/dev/null
    fi
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
command -v iscsi-perf >/dev/null || { echo "bench: iscsi-perf missing (libiscsi-bin)"; exit 1; }
head -c $((MB * 1024 * 1024)) /dev/urandom > "$W/lun.img"
tgtd -f -C "$CTL" --iscsi portal=127.0.0.1:$PORT >"$W/tgtd.log" 2>&1 &
TGT_PID=$!
sleep 1
adm --op new --mode target --tid 1 -T $T && adm --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img" &&
adm --op update --mode logicalunit --tid 1 --lun 1 --params readonly=1 && adm --op bind --mode target --tid 1 -I ALL ||
    { echo "bench: tgtd setup failed"; exit 1; }
URL=iscsi://127.0.0.1:$PORT/$T/1
printf "%-14s %12s %12s %8s\n" "qd x size" "shoal MB/s" "libiscsi MB/s" "ratio"
for cfg in "1 4096" "32 4096" "32 65536" "32 1048576"; do
    set -- $cfg
    ours=$("$TOOL" --quiet --no-sha --qd "$1" --bs "$2" "$URL" /dev/null 2>&1 | sed -n 's/.*(\([0-9.]*\) MB\/s).*/\1/p')
    # iscsi-perf prints cumulative throughput lines; take the last one it printed in 5 s.
    theirs=$(timeout -s INT 8 iscsi-perf -t 5 -m "$1" -b $(($2 / 512)) "$URL" 2>&1 | tr '\r' '\n' |
             grep -o '[0-9.]* MB/s' | tail -n 1 | cut -d' ' -f1)
    ratio=$(awk -v a="${ours:-0}" -v b="${theirs:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf "%-14s %12s %12s %8s\n" "$1 x $2" "${ours:-fail}" "${theirs:-fail}" "$ratio"
done

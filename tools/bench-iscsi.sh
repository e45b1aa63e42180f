#!/bin/sh
# Benchmark shoal's initiator (build/iscsi-read --time) against libiscsi's iscsi-perf on the same loopback tgtd.
# Rows: sequential 1 MiB and random 4 KiB reads at queue depths 1 and 32; prints MB/s (10^6 bytes), IOPS and
# the ratio shoal/libiscsi on IOPS. Usage: BUILD=build [BENCH_SECS=5] [BENCH_MB=256] sh tools/bench-iscsi.sh
BUILD=${BUILD:-build}
TOOL=$BUILD/iscsi-read
SECS=${BENCH_SECS:-5}
MB=${BENCH_MB:-256}
SEED=${BENCH_SEED:-1}
W=$(mktemp -d /tmp/shoal-bench.XXXXXX) || exit 1
CTL=$((2000 + ($$ + 7) % 5000))
PORT=$((20000 + ($$ + 7) % 20000))
T=iqn.2026-01.org.shoal:bench
TGT_PID=""
adm() { tgtadm -C "$CTL" --lld iscsi "$@"; }
cleanup() {
    if [ -n "$TGT_PID" ]; then
        adm --op update --mode target --tid 1 -n state -v offline >/dev/null 2>&1
        adm --op delete --force --mode target --tid 1 >/dev/null 2>&1
        adm --op delete --mode system >/dev/null 2>&1
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$TGT_PID" 2>/dev/null && kill -TERM "$TGT_PID" 2>/dev/null && sleep 0.5
        kill -0 "$TGT_PID" 2>/dev/null && kill -KILL "$TGT_PID" 2>/dev/null
        wait "$TGT_PID" 2>/dev/null
        TGT_PID=""
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for t in iscsi-perf tgtd tgtadm; do
    command -v $t >/dev/null || { echo "bench: $t missing (make deps: libiscsi-bin, tgt)"; exit 1; }
done
[ -x "$TOOL" ] || { echo "bench: $TOOL missing (make BUILD=$BUILD iscsi-read)"; exit 1; }

head -c $((MB * 1024 * 1024)) /dev/urandom > "$W/lun.img"
tgtd -f -C "$CTL" --iscsi portal=127.0.0.1:$PORT >"$W/tgtd.log" 2>&1 &
TGT_PID=$!
for _ in $(seq 50); do adm --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
adm --op new --mode target --tid 1 -T $T && adm --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img" &&
adm --op update --mode logicalunit --tid 1 --lun 1 --params readonly=1 && adm --op bind --mode target --tid 1 -I ALL ||
    { echo "bench: tgtd setup failed"; cat "$W/tgtd.log"; exit 1; }
URL=iscsi://127.0.0.1:$PORT/$T/1
cat "$W/lun.img" > /dev/null                    # both initiators read from a warm page cache

# shoal: "perf: MODE bs=B qd=Q S s: N reads, I IOPS, M MB/s"
shoal_run() {  # qd bytes random(0/1) -> "IOPS MB/s"
    r=""; [ "$3" = 1 ] && r="--random --seed $SEED"
    "$TOOL" --quiet --time "$SECS" --qd "$1" --bs "$2" $r "$URL" 2>"$W/shoal.err" |
        sed -n 's/^perf: .* \([0-9.]*\) IOPS, \([0-9.]*\) MB\/s$/\1 \2/p'
}
# libiscsi: the last "iops average N (M MB/s)" it prints (M is MiB/s: >> 20); MB/s is recomputed from IOPS.
libiscsi_run() {  # qd bytes random(0/1) -> "IOPS MB/s"
    r=""; [ "$3" = 1 ] && r="-r"
    timeout -s INT $((SECS + 20)) iscsi-perf -t "$SECS" -m "$1" -b $(($2 / 512)) $r "$URL" 2>&1 | tr '\r' '\n' |
        sed -n 's/.*iops average \([0-9]*\) .*/\1/p' | tail -n 1 |
        awk -v bs="$2" '{ printf "%s %.1f\n", $1, $1 * bs / 1e6 }'
}

# Rounds alternate shoal and libiscsi so both see the same machine load; each column is the median.
ROUNDS=${BENCH_ROUNDS:-3}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; }'; }
printf "%-16s %11s %11s %13s %13s %7s  (median of %s alternating rounds of %s s)\n" "row" "shoal MB/s" "shoal IOPS" \
    "libiscsi MB/s" "libiscsi IOPS" "ratio" "$ROUNDS" "$SECS"
for cfg in "seq-1M-qd1 1 1048576 0" "seq-1M-qd32 32 1048576 0" "rand-4K-qd1 1 4096 1" "rand-4K-qd32 32 4096 1"; do
    set -- $cfg
    : > "$W/ours"; : > "$W/theirs"
    for _ in $(seq "$ROUNDS"); do
        o=$(shoal_run "$2" "$3" "$4"); [ -n "$o" ] && echo "$o" >> "$W/ours"
        t=$(libiscsi_run "$2" "$3" "$4"); [ -n "$t" ] && echo "$t" >> "$W/theirs"
    done
    [ -s "$W/ours" ] || { echo "bench: shoal failed on $1:"; tail -n 5 "$W/shoal.err"; }
    oi=$(median < "$W/ours"); om=$(awk '{ print $2 }' "$W/ours" | median)
    ti=$(median < "$W/theirs"); tm=$(awk '{ print $2 }' "$W/theirs" | median)
    ratio=$(awk -v a="$oi" -v b="$ti" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
    printf "%-16s %11s %11s %13s %13s %7s\n" "$1" "${om:-fail}" "${oi:-fail}" "${tm:-fail}" "${ti:-fail}" "$ratio"
done

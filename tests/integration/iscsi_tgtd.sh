#!/bin/sh
# Host tests of build/iscsi-read against a real tgtd on loopback: reads, CHAP, digests, discovery, reconnect, timeout.
# Prints PASS/FAIL lines. Starts its own tgtd on a private control port and TCP port and always stops it.
BUILD=${BUILD:-build}
TOOL=$BUILD/iscsi-read
W=$(mktemp -d /tmp/shoal-iscsi.XXXXXX)
CTL=$((2000 + $$ % 5000))
PORT=$((20000 + $$ % 20000))
IQN=iqn.2026-01.org.shoal
TGT_PID=""
SILENT_PID=""
LOG=$W/tgtd.log

pass() { echo "PASS iscsi_tgtd.$1"; }
FAILED=0
fail() { FAILED=1; echo "FAIL iscsi_tgtd.$1: $2"; [ -f "$W/out.txt" ] && tail -n 8 "$W/out.txt" | sed 's/^/    /'; }
. tools/tgtd.sh

setup_targets() {
    adm --op new --mode target --tid 1 -T $IQN:golden &&
    adm --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img" &&
    adm --op update --mode logicalunit --tid 1 --lun 1 --params readonly=1 &&
    adm --op bind --mode target --tid 1 -I ALL &&
    adm --op new --mode target --tid 2 -T $IQN:chap &&
    adm --op new --mode logicalunit --tid 2 --lun 1 -b "$W/lun.img" &&
    adm --op update --mode logicalunit --tid 2 --lun 1 --params readonly=1 &&
    adm --op bind --mode target --tid 2 -I ALL &&
    adm --op new --mode account --user shoaluser --password shoalsecret123 &&
    adm --op bind --mode account --tid 2 --user shoaluser &&
    adm --op new --mode target --tid 3 -T $IQN:mutual &&
    adm --op new --mode logicalunit --tid 3 --lun 1 -b "$W/lun.img" &&
    adm --op update --mode logicalunit --tid 3 --lun 1 --params readonly=1 &&
    adm --op bind --mode target --tid 3 -I ALL &&
    adm --op bind --mode account --tid 3 --user shoaluser &&
    adm --op new --mode account --user targetuser --password targetsecret456 &&
    adm --op bind --mode account --tid 3 --user targetuser --outgoing &&
    for t in 1 3; do
        adm --op update --mode target --tid $t -n HeaderDigest -v CRC32C,None &&
        adm --op update --mode target --tid $t -n DataDigest -v CRC32C,None || return 1
    done
}

cleanup() {
    stop_tgtd "1 2 3"
    [ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

for b in tgtd tgtadm; do
    command -v $b >/dev/null || { echo "FAIL iscsi_tgtd.setup: $b missing (make deps installs tgt)"; exit 1; }
done
head -c $((64 * 1024 * 1024)) /dev/urandom > "$W/lun.img"
WANT=$(sha256sum "$W/lun.img" | cut -d' ' -f1)
if ! start_tgtd || ! setup_targets >>"$LOG" 2>&1; then
    echo "FAIL iscsi_tgtd.setup: tgtd did not start on 127.0.0.1:$PORT (control $CTL)"
    tail -n 20 "$LOG" | sed 's/^/    /'
    exit 1
fi
URL=iscsi://127.0.0.1:$PORT

# read NAME WANT_SHA ARGS...: run the tool, compare the sha256 it prints with the backing file's.
read_ok() {
    name=$1; shift
    if timeout 120 "$TOOL" "$@" > "$W/out.txt" 2>&1 && grep -q "^sha256 $WANT" "$W/out.txt"; then
        return 0
    fi
    return 1
}

if read_ok whole "$URL/$IQN:golden/1" "$W/copy.img" && cmp -s "$W/copy.img" "$W/lun.img"; then
    pass read_whole_lun_sha256; else fail read_whole_lun_sha256 "data differs or read failed"; fi
rm -f "$W/copy.img"

if read_ok d1 --digest crc32c "$URL/$IQN:golden/1" && grep -q "header=CRC32C data=CRC32C" "$W/out.txt"; then
    pass digests_crc32c; else fail digests_crc32c "read with CRC32C digests failed"; fi

if read_ok d0 --digest none "$URL/$IQN:golden/1" && grep -q "header=None data=None" "$W/out.txt"; then
    pass digests_none; else fail digests_none "read without digests failed"; fi

if read_ok r16 --read16 --qd 64 --bs 131072 "$URL/$IQN:golden/1"; then
    pass read16_qd64; else fail read16_qd64 "READ(16) at qd 64 failed"; fi

if read_ok chap --chap shoaluser:shoalsecret123 "$URL/$IQN:chap/1"; then
    pass chap_right_secret; else fail chap_right_secret "CHAP login failed"; fi

if timeout 60 "$TOOL" --chap shoaluser:wrongsecret999 "$URL/$IQN:chap/1" > "$W/out.txt" 2>&1; then
    fail chap_wrong_secret "read succeeded with a wrong secret"
elif grep -q "authentication failed" "$W/out.txt"; then
    pass chap_wrong_secret; else fail chap_wrong_secret "no clear authentication error"; fi

if timeout 60 "$TOOL" "$URL/$IQN:chap/1" > "$W/out.txt" 2>&1; then
    fail chap_required "read succeeded without CHAP"; else pass chap_required; fi

if read_ok mutual --chap shoaluser:shoalsecret123 --mutual targetuser:targetsecret456 --digest crc32c "$URL/$IQN:mutual/1" &&
   grep -q "header=CRC32C data=CRC32C" "$W/out.txt"; then
    pass mutual_chap; else fail mutual_chap "mutual CHAP read failed"; fi

if timeout 60 "$TOOL" --chap shoaluser:shoalsecret123 --mutual targetuser:notthesecret00 "$URL/$IQN:mutual/1" > "$W/out.txt" 2>&1; then
    fail mutual_chap_wrong "target with the wrong secret was accepted"
elif grep -q "failed mutual CHAP" "$W/out.txt"; then
    pass mutual_chap_wrong; else fail mutual_chap_wrong "no clear mutual CHAP error"; fi

if timeout 60 "$TOOL" --discover 127.0.0.1:$PORT > "$W/disc.txt" 2>"$W/out.txt" &&
   grep -q "$IQN:golden" "$W/disc.txt" && grep -q "$IQN:chap" "$W/disc.txt" && grep -q "$IQN:mutual" "$W/disc.txt"; then
    pass discovery; else fail discovery "SendTargets did not list the targets: $(cat "$W/disc.txt")"; fi

# Kill tgtd in the middle of a long read (qd 1, 512-byte reads), restart it on the same portal: the
# read must finish after the reconnect with the right data.
timeout 180 "$TOOL" --qd 1 --bs 512 "$URL/$IQN:golden/1" > "$W/out.txt" 2>&1 &
RPID=$!
sleep 2
kill -9 "$TGT_PID" 2>/dev/null; wait "$TGT_PID" 2>/dev/null; TGT_PID=""
sleep 1
if start_tgtd && setup_targets >>"$LOG" 2>&1; then
    wait $RPID; rc=$?
    if [ $rc -eq 0 ] && grep -q "^sha256 $WANT" "$W/out.txt" && grep -q "[1-9][0-9]* reconnects" "$W/out.txt"; then
        pass reconnect_after_target_restart
    else fail reconnect_after_target_restart "exit $rc"; fi
else
    kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null
    fail reconnect_after_target_restart "tgtd did not restart"
fi

# A target that accepts and never answers: a clear timeout within a bound.
SPORT=$((PORT + 1))
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SPORT)); s.listen(8); c = []
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try: c.append(s.accept()[0])
    except OSError: pass
" &
SILENT_PID=$!
sleep 0.5
t0=$(date +%s)
if timeout 90 "$TOOL" --timeout 3 "iscsi://127.0.0.1:$SPORT/$IQN:none/1" > "$W/out.txt" 2>&1; then
    fail silent_target_timeout "succeeded against a silent target"
else
    dt=$(( $(date +%s) - t0 ))
    if grep -q "timed out" "$W/out.txt" && [ $dt -le 30 ]; then
        pass silent_target_timeout; echo "    silent target: clear timeout after ${dt} s"
    else fail silent_target_timeout "no clear timeout error within 30 s (took ${dt} s)"; fi
fi
kill "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; SILENT_PID=""
exit $FAILED

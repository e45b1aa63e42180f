# A private tgtd for shell tests and benchmarks, sourced: start it, drive it (adm), stop it by PID.
# The sourcing script sets CTL (control port), PORT (iSCSI portal on 127.0.0.1), LOG (tgtd's output) and
# TGT_PID="" before calling these.

adm() { tgtadm -C "$CTL" --lld iscsi "$@"; }

# Start tgtd in the background and wait (5 s at most) until it answers on its control port. 0 or 1.
start_tgtd() {
    command -v tgtd >/dev/null && command -v tgtadm >/dev/null || return 1
    tgtd -f -C "$CTL" --iscsi portal=127.0.0.1:$PORT >>"$LOG" 2>&1 &
    TGT_PID=$!
    i=0
    while [ $i -lt 50 ]; do
        adm --op show --mode target >/dev/null 2>&1 && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# Stop tgtd the way TESTING.md says: the targets TIDS ("1 2 3") offline, deleted with --force, then the
# system; kill -9 last, if it has not gone within 5 s.
stop_tgtd() {
    [ -n "$TGT_PID" ] || return 0
    for t in $1; do
        adm --op update --mode target --tid $t -n state -v offline >/dev/null 2>&1
        adm --op delete --force --mode target --tid $t >/dev/null 2>&1
    done
    adm --op delete --mode system >/dev/null 2>&1
    i=0
    while kill -0 "$TGT_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$TGT_PID" 2>/dev/null && kill -9 "$TGT_PID" 2>/dev/null
    wait "$TGT_PID" 2>/dev/null
    TGT_PID=""
}

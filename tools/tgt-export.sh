#!/bin/sh
# Export a disk image read-only over iSCSI with a private tgtd on 127.0.0.1, and stop it again by its PID.
#   tools/tgt-export.sh start IMAGE PORT CTL IQN LOG   -> prints tgtd's PID once the target is exported
#   tools/tgt-export.sh stop PID CTL                   -> targets offline and deleted, tgtd stopped
# CTL is tgtd's control port number (-C): a private one keeps a system tgtd, if any, untouched.
set -eu
adm() { tgtadm -C "$CTL" --lld iscsi "$@"; }

start() {
    IMAGE=$1; PORT=$2; CTL=$3; IQN=$4; LOG=$5
    [ -r "$IMAGE" ] || { echo "error: $IMAGE: not readable" >&2; exit 1; }
    command -v tgtd >/dev/null || { echo "error: tgtd missing (apt-get install tgt, or make deps)" >&2; exit 1; }
    setsid tgtd -f -C "$CTL" --iscsi portal=127.0.0.1:"$PORT" >>"$LOG" 2>&1 < /dev/null &
    pid=$!
    i=0
    until adm --op show --mode target >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "error: tgtd exited at start (see $LOG)" >&2; exit 1; }
        i=$((i + 1)); [ $i -lt 100 ] || { kill -9 "$pid"; echo "error: tgtd does not answer" >&2; exit 1; }
        sleep 0.1
    done
    if ! { adm --op new --mode target --tid 1 -T "$IQN" &&
           adm --op new --mode logicalunit --tid 1 --lun 1 -b "$IMAGE" &&
           adm --op update --mode logicalunit --tid 1 --lun 1 --params readonly=1 &&
           adm --op bind --mode target --tid 1 -I ALL; } >>"$LOG" 2>&1; then
        kill -9 "$pid"; echo "error: exporting $IMAGE failed (see $LOG)" >&2; exit 1
    fi
    echo "$pid"
}

# tgtd ignores SIGTERM while targets exist: take them offline and delete them, then the system.
stop() {
    PID=$1; CTL=$2
    adm --op update --mode target --tid 1 -n state -v offline >/dev/null 2>&1 || true
    adm --op delete --force --mode target --tid 1 >/dev/null 2>&1 || true
    adm --op delete --mode system >/dev/null 2>&1 || true
    i=0
    while kill -0 "$PID" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$PID" 2>/dev/null || true
}

cmd=${1:-}; shift || true
case "$cmd" in
    start) [ $# -eq 5 ] || { echo "usage: $0 start IMAGE PORT CTL IQN LOG" >&2; exit 2; }; start "$@";;
    stop) [ $# -eq 2 ] || { echo "usage: $0 stop PID CTL" >&2; exit 2; }; stop "$@";;
    *) echo "usage: $0 start IMAGE PORT CTL IQN LOG | stop PID CTL" >&2; exit 2;;
esac

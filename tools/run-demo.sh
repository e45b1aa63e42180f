#!/bin/sh
# `make run`: export the golden demo image with a private tgtd on 127.0.0.1, boot shoal under QEMU with boot
# parameters that add it to the pool and autostart two web guests, attach this terminal to shoal's console;
# on exit stop tgtd by its PID. Environment: BUILD, QEMU, RUN_MEM, RUN_CPU, RUN_ARGS (more boot parameters).
set -eu
BUILD=${BUILD:-build}
QEMU=${QEMU:-qemu-system-x86_64}
RUN_MEM=${RUN_MEM:-1G}
RUN_CPU=${RUN_CPU:-EPYC}
RUN_ARGS=${RUN_ARGS:-}
IMAGE=${GOLDEN_DIR:-build/golden}/demo.img
IQN=iqn.2026-11.org.shoal:demo
W=$(mktemp -d /tmp/shoal-run.XXXXXX)

free_port() {   # a TCP port nobody listens on, from the kernel's ephemeral range
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PORT=$(free_port)
CTL=$((7000 + $$ % 3000))
WEB1=$(free_port)
WEB2=$(free_port)
PID=$(sh tools/tgt-export.sh start "$IMAGE" "$PORT" "$CTL" "$IQN" "$W/tgtd.log")
trap 'sh tools/tgt-export.sh stop "$PID" "$CTL"; rm -rf "$W"' EXIT INT TERM

cat <<BANNER
== shoal demo ==
tgtd (PID $PID) exports $IMAGE read-only as $IQN on 127.0.0.1:$PORT (10.0.2.2:$PORT for shoal).
shoal boots under QEMU, adds the image to its pool as 'demo' and starts web1 and web2 from it.
Once each guest prints SHOAL-WEB-UP, its page is on the host at:
    web1: http://127.0.0.1:$WEB1/        web2: http://127.0.0.1:$WEB2/
Try at the shoal> prompt: vm list | pool list | vm console web1 (Ctrl-] detaches)
    | vm create web3 from demo ip=10.0.2.23 ; vm start web3 | help
Quit: Ctrl-A X (QEMU's monitor escape). tgtd is stopped on the way out.
BANNER

$QEMU -accel tcg -cpu "$RUN_CPU" -m "$RUN_MEM" -kernel "$BUILD/shoal.elf" \
    -append "pool=demo=iscsi://10.0.2.2:$PORT/$IQN/1,cmdline=\"root=/dev/vda1 rw quiet\" autostart=web1:demo:10.0.2.21,web2:demo:10.0.2.22 $RUN_ARGS" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$WEB1-10.0.2.21:80,hostfwd=tcp:127.0.0.1:$WEB2-10.0.2.22:80" \
    -device e1000,netdev=n0 -serial mon:stdio -display none -no-reboot

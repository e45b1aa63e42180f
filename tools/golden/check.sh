#!/bin/sh
# Boot the golden demo disk under plain QEMU (TCG) with static ip=, DHCP, shoal.name= and virtio-mmio (microvm),
# fetch its page from the host and type a command on its console; prints `PASS name` / `FAIL name: why` lines.
# Usage: tools/golden/check.sh [IMG]   (default build/golden/demo.img; GOLDEN_CHECK_TIMEOUT seconds per boot, 120)
set -u
IMG=${1:-build/golden/demo.img}
LIMIT=${GOLDEN_CHECK_TIMEOUT:-120}
MAC=52:54:00:ab:cd:ef
[ -s "$IMG" ] || { echo "FAIL golden-check: no image $IMG (make golden-image)"; exit 0; }
IMG=$(cd "$(dirname "$IMG")" && pwd)/$(basename "$IMG")
T=$(mktemp -d); QPID=
trap '[ -n "$QPID" ] && kill "$QPID" 2>/dev/null; rm -rf "$T"' EXIT

# The kernel and initrd come out of the image itself (partition 1's offset from its partition table).
start=$(sfdisk -d "$IMG" | sed -n 's/.*1 : start= *\([0-9]*\),.*/\1/p')
for f in vmlinuz initrd.img; do
    debugfs -R "dump /boot/$f $T/$f" "$IMG?offset=$((start * 512))" 2>/dev/null
    [ -s "$T/$f" ] || { echo "FAIL golden-check: cannot extract /boot/$f from $IMG"; exit 0; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() {   # wait_for TEXT [FAILREGEX]: until the console log has TEXT (0); 1 on FAILREGEX, QEMU's exit or timeout
    end=$(( $(date +%s) + LIMIT ))
    while [ "$(date +%s)" -lt "$end" ]; do
        grep -aqF "$1" "$T/log" && return 0
        grep -aq "${2:-Kernel panic}" "$T/log" && return 1
        kill -0 "$QPID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

boot() {   # boot NAME MARKER WEBNAME APPEND MACHINE_ARGS...: wait for MARKER on the console, fetch the page
           # (it must greet WEBNAME; none when empty), then type a command and expect the console shell's answer
    name=$1; marker=$2; want=$3; append=$4; shift 4
    port=$(free_port); rm -f "$T/log" "$T/in"; mkfifo "$T/in"; exec 3<>"$T/in"; : > "$T/log"
    t0=$(date +%s%N)
    qemu-system-x86_64 -accel tcg -m 256 -display none -monitor none -serial stdio -no-reboot \
        -kernel "$T/vmlinuz" -initrd "$T/initrd.img" -append "$append" \
        -netdev "user,id=n,hostfwd=tcp:127.0.0.1:$port-10.0.2.15:80" "$@" < "$T/in" > "$T/log" 2>&1 &
    QPID=$!
    why= page=
    if ! wait_for "$marker" 'SHOAL-INITRD-FAIL\|SHOAL-WEB-FAIL\|Kernel panic'; then
        why="no '$marker': $(grep -a 'SHOAL-\|panic' "$T/log" | head -n 2 | tr -d '\r' | tr '\n' ' ')"
    else
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        [ -n "$want" ] && page=$(timeout 20 busybox wget -q -O - "http://127.0.0.1:$port/") &&
            ! echo "$page" | grep -q "<h1>Hello from $want</h1>" && why="page lacks 'Hello from $want': $(echo "$page" | tr '\n' ' ' | cut -c1-160)"
        [ -z "$want" ] || [ -n "$page" ] || why="no page from port $port"
        # The answer goes through a file on / (the disk, read-write) and names the hostname.
        printf 'echo $((6*7)) > /shoal-rw && echo SHOAL-SH-$(cat /shoal-rw)-$(cat /proc/sys/kernel/hostname).\n' >&3
        [ -n "$why" ] || wait_for "SHOAL-SH-42-${want:-(none)}." || why="console shell did not answer"
    fi
    kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; QPID=; exec 3>&-
    if [ -z "$why" ]; then echo "PASS $name (marker $((ms / 1000)).$(printf %03d $((ms % 1000))) s after QEMU start)"
    else echo "FAIL $name: $why"; tail -n 15 "$T/log" | sed 's/^/    /' >&2; fi
}

q35() { echo "-M q35 -drive file=$IMG,if=virtio,format=raw,snapshot=on -device virtio-net-pci,netdev=n,mac=$MAC"; }
mmio() { echo "-M microvm,acpi=on -drive id=d,file=$IMG,if=none,format=raw,snapshot=on -device virtio-blk-device,drive=d -device virtio-net-device,netdev=n,mac=$MAC"; }
macname=guest-$(echo "$MAC" | tr -d ':')

static="ip=10.0.2.15::10.0.2.2:255.255.255.0"
up="SHOAL-WEB-UP name"
boot golden-static "$up=web1 ip=10.0.2.15" web1 "console=ttyS0 root=/dev/vda1 $static:web1:eth0:off" $(q35)
boot golden-dhcp "$up=$macname ip=10.0.2.15" "$macname" "console=ttyS0 root=/dev/vda1" $(q35)
boot golden-name "$up=web7 ip=10.0.2.15" web7 "console=ttyS0 ip=dhcp shoal.name=web7" $(q35)
# microvm: virtio-mmio devices described by ACPI as in shoal; TCG's microvm has no clock to calibrate the TSC.
boot golden-mmio "$up=web2 ip=10.0.2.15" web2 "console=ttyS0 tsc_early_khz=2000000 $static:web2:eth0:off" $(mmio)
boot golden-initrd-fail "SHOAL-INITRD-FAIL: root device /dev/vdz9 not found" "" \
    "console=ttyS0 root=/dev/vdz9 shoal.rootwait=2" $(q35)

#!/bin/sh
# `make gdb`: shoal under QEMU stopped at its first instruction, gdb attached with its symbols.
# The serial console goes to $BUILD/gdb-console.log (follow it with `tail -f` in another terminal).
# Env: BUILD, QEMU, RUN_MEM, RUN_ARGS (the kernel's command line), GDB_PORT (1234), GDB_SCRIPT (a file of gdb
# commands run after attaching, then gdb exits: for scripts and tests). A hardware breakpoint is set on kmain
# (the loader copies the kernel into place after QEMU starts: a software breakpoint set now is overwritten).
set -eu
BUILD=${BUILD:-build}
QEMU=${QEMU:-qemu-system-x86_64}
PORT=${GDB_PORT:-1234}
LOG=$BUILD/gdb-console.log
command -v gdb >/dev/null || { echo "gdb: not installed (make deps)" >&2; exit 1; }
$QEMU -accel tcg -cpu qemu64,+svm,+npt -m "${RUN_MEM:-1G}" -kernel "$BUILD/shoal.elf" -append "${RUN_ARGS:-}" \
    -nic user,model=e1000 -serial "file:$LOG" -display none -no-reboot -gdb "tcp:127.0.0.1:$PORT" -S &
QPID=$!
trap 'kill $QPID 2>/dev/null || true' EXIT INT TERM
echo "gdb: QEMU (pid $QPID) waits at the first instruction on 127.0.0.1:$PORT; console in $LOG"
set -- -q -nx "$BUILD/shoal.elf" -ex "set architecture i386:x86-64" -ex "target remote 127.0.0.1:$PORT" \
    -ex "hbreak kmain"
[ -n "${GDB_SCRIPT:-}" ] && set -- "$@" -batch -x "$GDB_SCRIPT"
gdb "$@"

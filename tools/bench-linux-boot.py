#!/usr/bin/env python3
# Linux boot benchmark (issue 5): time to the initramfs marker in shoal nested in QEMU TCG vs plain QEMU TCG microvm.
"""For each guest kernel (build/guest/{cloud,std}) and each round, boot the same kernel and initrd
(a) in shoal running under QEMU TCG with SVM+NPT: timed from `vm start g` to SHOAL-GUEST-UP, and
(b) directly under `qemu-system-x86_64 -M microvm` TCG: timed from process start to SHOAL-GUEST-UP,
with the same kernel command line (shoal's: [--extra] console=ttyS0 tsc_early_khz=N, N from shoal's log).
Rounds alternate shoal and plain QEMU so both see the same machine load; the table gives medians and
the ratio shoal/plain (goal: at most 1.3). Side figures: shoal's own boot (process start to its prompt),
QEMU's serial-connect time, and "pre-clock" = wall time before the guest kernel's printk clock started
(host arrival of "Run /init" minus its printk timestamp: VMM/firmware setup plus decompression).
After each shoal marker, `vm stats g` gives VM exits by reason; the last round's are printed.
Usage: bench-linux-boot.py [--build build] [--guest build/guest] [--runs 3] [--kernels cloud,std] [--extra quiet]"""

import argparse
import os
import re
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from console import Console, TestFailure  # noqa: E402
from harness import QEMU, QEMU_BOOT_S, QEMU_CMD_S, qemu_argv  # noqa: E402

MARKER_S = 600                      # nested TCG on a shared 2-core machine: generous
RUN_INIT = r"\[\s*(\d+\.\d+)\] Run /init as init process"


def wait_marker(c, t0):
    """Wait for "Run /init" and the marker; return (marker s since t0, pre-clock s or None)."""
    m = c.expect(RUN_INIT + r"|SHOAL-GUEST-UP|vm g stopped: [^\n]*", MARKER_S, "the guest's /init")
    pre = None
    if m.group(1):
        pre = time.monotonic() - t0 - float(m.group(1))
        m = c.expect(r"SHOAL-GUEST-UP|vm g stopped: [^\n]*", MARKER_S, "the guest's /init marker")
    if m.group(0) != "SHOAL-GUEST-UP":
        raise TestFailure(m.group(0).strip())
    return time.monotonic() - t0, pre


def parse_stats(text):
    """`vm stats g` output -> (exits by reason summed over vCPUs, ms in guest)."""
    exits, ms = {}, 0
    for line in text.splitlines():
        m = re.match(r"^\s+vcpu \d+: (\d+) ms in guest", line)
        if m:
            ms += int(m.group(1))
        m = re.match(r"^\s{4}(\S+)\s+(\d+)\s*$", line)
        if m:
            exits[m.group(1)] = exits.get(m.group(1), 0) + int(m.group(2))
    return exits, ms


def run_shoal(a, kdir, name):
    """One shoal run; returns a dict: boot, up, pre, khz, seen (guest command line), exits, guest_ms."""
    with Console("shoal-%s" % name, a.logdir) as c:
        t0 = time.monotonic()
        c.start(qemu_argv(a.host_mem, ["-kernel", a.build + "/shoal.elf",
                                       "-initrd", kdir + "/vmlinuz," + kdir + "/initrd.img"]))
        c.boot(QEMU_BOOT_S)
        boot = time.monotonic() - t0
        khz = re.search(r"tsc: (\d+) kHz", c.output())
        extra = ' cmdline="%s"' % a.extra if a.extra else ""
        out = c.command("vm create g kernel=vmlinuz initrd=initrd.img mem=256M" + extra, QEMU_CMD_S)
        if "vm g created" not in out:
            raise TestFailure("vm create failed: " + out.strip())
        t1 = time.monotonic()
        c.send("vm start g\r")
        up, pre = wait_marker(c, t1)
        chars = sum(len(ln) - 3 for ln in c.output().splitlines() if ln.startswith("[g] "))
        seen = re.search(r"Command line: ([^\n]*)", c.output())
        time.sleep(1)                               # let the guest shell print its prompt
        exits, gms = parse_stats(c.command("vm stats g", QEMU_CMD_S))
        return dict(boot=boot, up=up, pre=pre, khz=khz.group(1) if khz else None,
                    chars=chars, seen=seen.group(1).strip() if seen else None, exits=exits, guest_ms=gms)


def run_plain(a, kdir, name, cmdline):
    """One plain QEMU microvm run; returns a dict: connect (s to serial connect), up, pre."""
    argv = [QEMU, "-M", "microvm", "-accel", "tcg", "-cpu", "qemu64", "-m", "256M", "-kernel", kdir + "/vmlinuz",
            "-initrd", kdir + "/initrd.img", "-append", cmdline, "-nodefaults", "-display", "none",
            "-no-reboot", "-monitor", "none", "-serial", "tcp:127.0.0.1:{port}"]
    with Console("plain-%s" % name, a.logdir) as c:
        t0 = time.monotonic()
        c.start(argv)
        connect = time.monotonic() - t0
        up, pre = wait_marker(c, t0)
        return dict(connect=connect, up=up, pre=pre)


def med(runs, key):
    v = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(x):
    return "%.2f" % x if x is not None else "n/a"


def bench_kernel(a, kname):
    """All rounds for one kernel; returns (shoal runs, plain runs)."""
    kdir = os.path.join(a.guest, kname)
    shoal, plain = [], []
    khz = None
    for i in range(a.runs):
        tag = "%s-%d" % (kname, i + 1)
        try:
            s = run_shoal(a, kdir, tag)
            shoal.append(s)
            khz = s["khz"] or khz                   # shoal calibrates per boot: pair each plain run with its round
            if s["seen"] and s["seen"] != plain_cmdline(a, khz):
                print("  warning: shoal's guest got '%s', plain QEMU gets '%s'" % (s["seen"], plain_cmdline(a, khz)))
            print("  %s shoal: boot %.2f s, vm start -> marker %.2f s (pre-clock %s s), %d exits"
                  % (tag, s["boot"], s["up"], fmt(s["pre"]), sum(s["exits"].values())), flush=True)
        except TestFailure as e:
            print("  %s shoal: FAILED: %s (log %s)" % (tag, e, a.logdir), flush=True)
        try:
            p = run_plain(a, kdir, tag, plain_cmdline(a, khz))
            plain.append(p)
            print("  %s plain: marker %.2f s (serial connect %.2f s, pre-clock %s s)"
                  % (tag, p["up"], p["connect"], fmt(p["pre"])), flush=True)
        except TestFailure as e:
            print("  %s plain: FAILED: %s (log %s)" % (tag, e, a.logdir), flush=True)
    return shoal, plain, plain_cmdline(a, "N")


def plain_cmdline(a, khz):
    """The command line shoal builds (vmm/linux.c lx_cmdline): the user's, console=ttyS0, tsc_early_khz."""
    return "%sconsole=ttyS0%s" % (a.extra + " " if a.extra else "", " tsc_early_khz=" + khz if khz else "")


def print_exits(kname, s):
    total = sum(s["exits"].values()) or 1
    print("%s: VM exits at the marker (last shoal run: %d total, %d ms in guest of %.0f ms, %d guest console bytes):"
          % (kname, total, s["guest_ms"], s["up"] * 1000, s["chars"]))
    for reason, n in sorted(s["exits"].items(), key=lambda kv: -kv[1]):
        print("    %-14s %9d  %5.1f%%" % (reason, n, 100.0 * n / total))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--guest", default=os.environ.get("GUEST_DIR", "build/guest"))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--kernels", default="cloud,std")
    ap.add_argument("--host-mem", default="1G", help="memory of the QEMU running shoal")
    ap.add_argument("--extra", default=os.environ.get("BENCH_CMDLINE", ""),
                    help="extra kernel parameters for both (e.g. quiet)")
    a = ap.parse_args()
    a.guest = os.path.abspath(a.guest)
    a.logdir = os.path.join(a.build, "bench-linux")
    results = []
    for k in a.kernels.split(","):
        print("kernel %s:" % k, flush=True)
        results.append((k,) + bench_kernel(a, k))
    print()
    print("command line (both; N from shoal's calibration in the same round): %s" % results[0][3])
    print("%-6s %13s %12s %7s | %11s %15s %15s %14s" % ("kernel", "plain QEMU s", "shoal s", "ratio",
          "shoal boot s", "plain connect s", "plain preclk s", "shoal preclk s"))
    ok = True
    for k, shoal, plain, _ in results:
        ps, ss = med(plain, "up"), med(shoal, "up")
        ratio = "%.2f" % (ss / ps) if ps and ss else "n/a"
        ok = ok and ps is not None and ss is not None and len(shoal) == len(plain) == a.runs
        print("%-6s %13s %12s %7s | %11s %15s %15s %14s" % (k, fmt(ps), fmt(ss), ratio, fmt(med(shoal, "boot")),
              fmt(med(plain, "connect")), fmt(med(plain, "pre")), fmt(med(shoal, "pre"))))
    print("(medians of %d alternating rounds; ratio = shoal / plain; goal <= 1.30)" % a.runs)
    for k, shoal, _, _ in results:
        if shoal:
            print_exits(k, shoal[-1])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

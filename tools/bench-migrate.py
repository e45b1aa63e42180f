#!/usr/bin/env python3
# Live migration benchmark (issue 11): shoal's migration between two shoal hosts against QEMU's own, same guest and workloads.
"""QEMU's half: each case boots the Debian cloud kernel and the Linux tests' busybox initramfs (build/guest/cloud) in a
plain QEMU TCG microvm (256 MiB, 1 vCPU, a virtio-blk disk of random data backed by a file), starts a workload
from the guest's shell, then live-migrates it over QMP (`migrate` to a second QEMU started with
`-incoming tcp:127.0.0.1:P`, `query-migrate` polled) with QEMU's default settings (the downtime limit and
bandwidth QEMU reports are printed). A migration still running after --timeout s did not converge: it is
cancelled. After a migration that converged, both ends are paused (the destination runs under -S) and their
guest RAM is compared page by page (pmemsave), as shoal's `vm memhash` compares two hosts' copies; then the
destination continues and its guest must answer on its console. A run whose RAM differs or whose guest breaks
is reported as broken (exit status 1): its figures measure a migration that lost writes.
Cases: idle (freshly booted), disk-read (the guest first read 100 MiB of its disk), dirty-random (a loop
writing random data over a 64 MiB tmpfs file), rewrite-same (a loop copying the same 64 MiB over a tmpfs file).
For each: RAM bytes transferred (query-migrate ram.transferred; ram.total), as a share of guest RAM, downtime,
total time, whether it converged. shoal's half (shoal_case): the same kernel, initramfs, disk and workload in
a guest nested under a shoal host, migrated to a second shoal host on a bridge (twohost.py). No assertions
on times: one table, and a ratio line per case, shoal against QEMU in the same run.
Usage: bench-migrate.py [--build build] [--guest build/guest] [--cases idle,disk-read,...] [--timeout 120]"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from console import Console, TestFailure  # noqa: E402
from harness import QEMU, free_port  # noqa: E402
from linux_guest import type_slowly  # noqa: E402

MiB = 1024 * 1024
GUEST_MEM = 256 * MiB
DISK_MIB = 128
UP_S = 300                        # a TCG guest on a shared 2-core machine: generous
CMD_S = 120

# Workloads, typed in the guest's shell; each ends by printing its marker once the steady state is reached.
# The loops run in the background so the shell (and the marker) come back while they go on.
CASES = [
    ("idle", "echo BENCH""-READY", 2),
    ("disk-read", "dd if=/dev/vda of=/dev/null bs=1M count=100 2>/dev/null; echo BENCH""-READY", 2),
    ("dirty-random", "mkdir -p /mnt/t; mount -t tmpfs -o size=160m t /mnt/t; "
                     "dd if=/dev/zero of=/mnt/t/f bs=1M count=64 2>/dev/null; "
                     "(while :; do dd if=/dev/urandom of=/mnt/t/f bs=1M count=64 conv=notrunc 2>/dev/null; done) & "
                     "echo BENCH""-READY", 5),
    ("rewrite-same", "mkdir -p /mnt/t; mount -t tmpfs -o size=160m t /mnt/t; "
                     "dd if=/dev/urandom of=/mnt/t/src bs=1M count=64 2>/dev/null; "
                     "cp /mnt/t/src /mnt/t/f; "
                     "(while :; do dd if=/mnt/t/src of=/mnt/t/f bs=1M conv=notrunc 2>/dev/null; done) & "
                     "echo BENCH""-READY", 5),
]


class Qmp:
    """A QMP client on a unix socket: cmd() sends one command and returns its "return" (events skipped)."""

    def __init__(self, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise TestFailure("no QMP socket at %s after %d s" % (path, timeout))
                time.sleep(0.1)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rb")
        self._read()                             # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise TestFailure("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise TestFailure("QMP %s: %s" % (name, r["error"].get("desc", r["error"])))

    def close(self):
        self.s.close()


def host_tsc_khz():
    """The host's TSC rate in kHz (TCG's guest TSC runs at it): the kernel's log, else /proc/cpuinfo."""
    try:
        log = subprocess.run(["dmesg"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10).stdout.decode()
        m = re.search(r"tsc: (?:Detected|Refined TSC clocksource calibration:) (\d+)\.(\d{3}) MHz", log)
        if m:
            return int(m.group(1)) * 1000 + int(m.group(2))
    except (OSError, subprocess.SubprocessError):
        pass
    with open("/proc/cpuinfo") as f:
        m = re.search(r"cpu MHz\s*:\s*(\d+)\.(\d{3})", f.read())
    return int(m.group(1)) * 1000 + int(m.group(2)) if m else None


def make_disk(path):
    """A DISK_MIB file of random bytes (random: QEMU's zero-page detection must not make the read case cheap)."""
    if os.path.exists(path) and os.path.getsize(path) == DISK_MIB * MiB:
        return
    with open(path + ".tmp", "wb") as f:
        for _ in range(DISK_MIB):
            f.write(os.urandom(MiB))
    os.rename(path + ".tmp", path)


def guest_argv(a, qmp_path, incoming=None):
    """The plain QEMU microvm both ends run: same machine, kernel, devices; the destination waits on incoming."""
    khz = host_tsc_khz()
    argv = [QEMU, "-M", "microvm", "-accel", a.accel, "-cpu", "qemu64", "-smp", "1", "-m", "%dM" % (GUEST_MEM // MiB),
            "-kernel", a.guest + "/cloud/vmlinuz", "-initrd", a.guest + "/cloud/initrd.img",
            "-append", "console=ttyS0" + (" tsc_early_khz=%d" % khz if khz else ""),
            "-drive", "file=%s,if=none,id=d0,format=raw" % a.disk, "-device", "virtio-blk-device,drive=d0",
            "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none",
            "-serial", "tcp:127.0.0.1:{port}", "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    return argv + (["-S", "-incoming", incoming] if incoming else [])    # -S: paused after it, to compare RAM


def migrate_qemu(src_qmp, port, timeout):
    """migrate to tcp:127.0.0.1:port and poll query-migrate every 0.2 s; returns the last query-migrate
    answer (status completed, failed, or cancelled after timeout s)."""
    src_qmp.cmd("migrate", uri="tcp:127.0.0.1:%d" % port)
    t0 = time.monotonic()
    while True:
        q = src_qmp.cmd("query-migrate")
        if q.get("status") in ("completed", "failed", "cancelled"):
            return q
        if time.monotonic() - t0 > timeout:
            src_qmp.cmd("migrate_cancel")
            while q.get("status") not in ("cancelled", "failed", "completed"):
                time.sleep(0.2)
                last = q
                q = src_qmp.cmd("query-migrate")
            q.setdefault("ram", last.get("ram", {}))
            q["timed_out"] = True
            q.setdefault("total-time", int((time.monotonic() - t0) * 1000))   # until it was cancelled
            return q
        time.sleep(0.2)


def qemu_case(a, case):
    """One case with QEMU's own live migration; returns a result dict for the table."""
    name, workload, settle = case
    tag = "qemu-" + name
    src_sock, dst_sock = ["%s/%s.%s.qmp" % (a.logdir, tag, end) for end in ("src", "dst")]
    port = free_port()
    with Console(tag + "-src", a.logdir) as src, Console(tag + "-dst", a.logdir) as dst:
        src.start(guest_argv(a, src_sock))
        src.expect(r"SHOAL-GUEST-UP", UP_S, "the source guest's /init marker")
        dst.start(guest_argv(a, dst_sock, "tcp:127.0.0.1:%d" % port))
        sq, dq = Qmp(src_sock), Qmp(dst_sock)
        try:
            params = sq.cmd("query-migrate-parameters")
            time.sleep(1)
            type_slowly(src, "")
            type_slowly(src, workload)
            src.expect(r"^BENCH-READY", CMD_S, "the workload's ready marker")
            time.sleep(settle)                   # let the loops run before the migration starts
            q = migrate_qemu(sq, port, a.timeout)
            res = result_row(q, params)
            if q.get("status") == "completed":
                res["ram_diff"] = compare_ram(a, tag, sq, dq)
                dq.cmd("cont")
                res["after"] = after_migration(dst)
            return res
        finally:
            sq.close()
            dq.close()


def compare_ram(a, tag, sq, dq):
    """Both ends paused at the switchover (the source in postmigrate, the destination under -S): their guest RAM
    saved (pmemsave) and compared page by page. Returns "equal" or "N pages differ (first: GPAs)"."""
    deadline = time.monotonic() + CMD_S
    while dq.cmd("query-status").get("status") == "inmigrate":      # the destination still loading
        if time.monotonic() > deadline:
            return "the destination never finished loading"
        time.sleep(0.2)
    files = ["%s/%s.%s.ram" % (a.logdir, tag, end) for end in ("src", "dst")]
    try:
        for qmp, f in zip((sq, dq), files):
            qmp.cmd("pmemsave", val=0, size=GUEST_MEM, filename=f)
        diff = []
        with open(files[0], "rb") as fs, open(files[1], "rb") as fd:
            for page in range(GUEST_MEM // 4096):
                if fs.read(4096) != fd.read(4096):
                    diff.append(page)
    finally:
        for f in files:
            if os.path.exists(f):
                os.remove(f)
    if not diff:
        return "equal"
    return "%d pages differ (first at %s)" % (len(diff), ", ".join("%#x" % (p * 4096) for p in diff[:4]))


def after_migration(dst):
    """Does the guest go on at the destination? "answers", or what it printed instead (a panic) or "silent"."""
    type_slowly(dst, "echo MIGRATED-$((6*7))")
    try:
        m = dst.expect(r"MIGRATED-42|Kernel panic[^\n]*|BUG:[^\n]*", CMD_S, "the migrated guest to answer")
    except TestFailure:
        return "silent"
    return "answers" if m.group(0) == "MIGRATED-42" else m.group(0).strip()


def result_row(q, params):
    """The table's fields from query-migrate (q) and query-migrate-parameters (params)."""
    ram = q.get("ram", {})
    done = q.get("status") == "completed"
    return dict(status="converged" if done else ("did not converge" if q.get("timed_out") else q.get("status")),
                transferred=ram.get("transferred"), total=ram.get("total"), normal=ram.get("normal"),
                duplicate=ram.get("duplicate"), syncs=ram.get("dirty-sync-count"),
                downtime=q.get("downtime") if done else None, total_time=q.get("total-time"),
                limit=params.get("downtime-limit"), bw=params.get("max-bandwidth"), after="-", ram_diff="-")


class Run:
    """What twohost's hosts need of a test run: a name for their console logs, the log folder, the build."""

    def __init__(self, a, name):
        self.name, self.logdir, self.build = name, a.logdir, os.path.abspath(a.build)


SHOAL_KEY = "bench-migrate"


def shoal_migrated(src):
    """The source's outcome and downtime-steps lines -> (bytes on the wire, downtime ms, total ms, rounds, the
    lines, ms from the pause until the last byte was sent: QEMU's measure of downtime, which does not wait for
    the destination to load and start the guest)."""
    m = src.c.expect(r"(vm g migrated to [^\n]*|error: vm migrate g: [^\n]*)\n", 1800, "the migration's outcome")
    line = m.group(1)
    if line.startswith("error"):
        raise TestFailure(line)
    f = re.search(r": (\d+) bytes sent, .*, (\d+) rounds, downtime (\d+) ms, total (\d+) ms", line)
    s = src.c.expect(r"vm g: the downtime's steps: disk requests and last pages (\d+) ms, state record (\d+) ms, "
                     r"restore there \d+ ms, start \d+ ms", CMD_S, "the downtime's steps")
    sent_ms = int(s.group(1)) + int(s.group(2))
    return int(f.group(1)), int(f.group(3)), int(f.group(4)), int(f.group(2)), line + "\n    " + s.group(0), sent_ms


def shoal_memhash(h):
    out = h.command("vm memhash g 64M", 1800)
    m = re.search(r"memhash total [0-9a-f]+ ([0-9a-f]{64})", out)
    return m.group(1) if m else None


def shoal_twin_case(a, case):
    """shoal_case with a twin already running on the destination: a guest booted from the same kernel and
    initramfs (shoal's use: clones of one image on every host), whose pages the destination finds."""
    return shoal_case(a, case, twin=True)


def shoal_case(a, case, twin=False):
    """One case with shoal's live migration: two shoal hosts (each QEMU TCG with SVM) on one bridge
    (tests/integration/twohost.py), the same kernel, initramfs and disk as boot modules of both; the guest
    runs nested under shoal on the source, migrates (hold), both copies' RAM compared with vm memhash, then
    the copy runs on. Bytes are everything on the wire (TLS records included); downtime is shoal's pause."""
    import twohost
    from linux_tests import attach, detach
    name, workload, settle = case
    r = Run(a, ("shoal-twin-" if twin else "shoal-") + name)
    mods = [a.guest + "/cloud/vmlinuz", a.guest + "/cloud/initrd.img", a.disk]
    with twohost.Segment() as seg:
        src = seg.host(r, "src", mem="1G", modules=mods)
        dst = seg.host(r, "dst", mem="1G", modules=mods)
        src.wait_boot()
        dst.wait_boot()
        if twin:
            dst.command("vm create twin kernel=vmlinuz initrd=initrd.img mem=%dM disk=disk.img" % (GUEST_MEM // MiB))
            dst.command("vm start twin")
            dst.c.expect(r"SHOAL-GUEST-UP", UP_S * 2, "the twin's /init marker")
        out = src.command("vm create g kernel=vmlinuz initrd=initrd.img mem=%dM disk=disk.img" % (GUEST_MEM // MiB))
        if "vm g created" not in out:
            raise TestFailure("vm create: " + out)
        src.command("vm start g")
        src.c.expect(r"SHOAL-GUEST-UP", UP_S * 2, "the source guest's /init marker")
        attach(src.c)
        type_slowly(src.c, workload)
        src.c.expect(r"BENCH-READY", CMD_S * 5, "the workload's ready marker")
        detach(src.c)
        time.sleep(settle)
        dst.command("migrate listen 7070 key=" + SHOAL_KEY)
        src.command("vm migrate g %s:7070 key=%s hold" % (dst.addr, SHOAL_KEY))
        sent, down, total, rounds, line, sent_ms = shoal_migrated(src)
        a_hash, b_hash = shoal_memhash(src), shoal_memhash(dst)
        dst.command("vm start g")
        src.command("vm destroy g")
        attach(dst.c)
        type_slowly(dst.c, "echo MIGRATED-$((6*7))")
        try:
            m = dst.c.expect(r"MIGRATED-42|Kernel panic[^\n]*|BUG:[^\n]*", CMD_S * 3, "the migrated guest to answer")
            after = "answers" if m.group(0) == "MIGRATED-42" else m.group(0).strip()
        except TestFailure:
            after = "silent"
        print("    shoal %s: %s" % (name, line), flush=True)
        return dict(status="converged", transferred=sent, total=GUEST_MEM, normal=None, duplicate=None, syncs=rounds,
                    downtime=down, total_time=total, limit=300, bw=None, after=after, sent_ms=sent_ms,
                    ram_diff="equal" if a_hash and a_hash == b_hash else "differs (vm memhash)")


PEERS = [("qemu", qemu_case), ("shoal", shoal_case), ("shoal+twin", shoal_twin_case)]


def fmt_row(peer, name, r):
    def n(v, f="%d"):
        return f % v if v is not None else "-"
    share = "%.1f%%" % (100.0 * r["transferred"] / GUEST_MEM) if r.get("transferred") is not None else "-"
    return "%-10s %-13s %14s %14s %8s %10s %10s %6s  %s%s%s" % (
        peer, name, n(r.get("transferred")), n(r.get("total")), share, n(r.get("downtime")), n(r.get("total_time")),
        n(r.get("syncs")), r["status"], "" if r["ram_diff"] == "-" else ", RAM at switchover " + r["ram_diff"],
        "" if r["after"] in ("answers", "-") else "; then at the destination: " + r["after"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--guest", default=os.environ.get("GUEST_DIR", "build/guest"))
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES))
    ap.add_argument("--peers", default=",".join(p[0] for p in PEERS))
    # Single-threaded TCG by default: QEMU 7.2's own migration loses guest writes under TCG. In dirty-random the
    # migrated guest crashed at the destination (stack-protector panics, bad page maps, wild page faults) in 6 of 7
    # runs with the default multi-threaded TCG, 4 of 9 with thread=single; the RAM comparison finds a few pages
    # (kernel memory, not the tmpfs data) stale at the switchover, one of them the page of the faulting address.
    ap.add_argument("--accel", default="tcg,thread=single", help="QEMU's -accel for both ends")
    ap.add_argument("--timeout", type=int, default=120, help="seconds before a migration counts as not converging")
    a = ap.parse_args()
    a.guest = os.path.abspath(a.guest)
    a.logdir = os.path.abspath(os.path.join(a.build, "bench-migrate"))
    os.makedirs(a.logdir, exist_ok=True)
    a.disk = os.path.join(a.logdir, "disk.img")
    make_disk(a.disk)
    cases = [c for c in CASES if c[0] in a.cases.split(",")]
    rows, failed = [], 0
    for peer, fn in [p for p in PEERS if p[0] in a.peers.split(",")]:
        for case in cases:
            t0 = time.monotonic()
            try:
                r = fn(a, case)
                rows.append((peer, case[0], r))
                print("  %s %s: %s in %.0f s" % (peer, case[0], r["status"], time.monotonic() - t0), flush=True)
            except TestFailure as e:
                failed += 1
                print("  %s %s: FAILED: %s (logs in %s)" % (peer, case[0], e, a.logdir), flush=True)
    print()
    print("%-10s %-13s %14s %14s %8s %10s %10s %6s  %s" % ("peer", "case", "RAM sent B", "RAM total B", "of RAM",
                                                          "downtime ms", "total ms", "syncs", "result"))
    bad = [(p, n, r["after"]) for p, n, r in rows if r["after"] not in ("answers", "-")]
    bad += [(p, n, "its RAM differs from the source's: " + r["ram_diff"]) for p, n, r in rows
            if r["ram_diff"] not in ("equal", "-")]
    for peer, name, r in rows:
        print(fmt_row(peer, name, r))
    q = [r for p, _, r in rows if p == "qemu"]
    if q:
        print("(QEMU %s -accel %s, migration defaults: downtime-limit %s ms, max-bandwidth %s B/s; guest RAM %d MiB;"
              " a migration still running after %d s is cancelled and counts as not converged)" %
              (QEMU, a.accel, q[0]["limit"], q[0]["bw"], GUEST_MEM // MiB, a.timeout))
    by = {(p, n): r for p, n, r in rows}
    for case in cases:
        q_ = by.get(("qemu", case[0]))
        for peer in ("shoal", "shoal+twin"):
            s_ = by.get((peer, case[0]))
            if q_ and s_ and q_.get("transferred") and s_.get("transferred"):
                print("%-13s %s/QEMU bytes %.2fx, %s's %.1f%% of RAM; downtime %s ms (%s ms until its last byte "
                      "was sent, QEMU's measure), QEMU %s ms" % (
                          case[0], peer, s_["transferred"] / q_["transferred"], peer,
                          100.0 * s_["transferred"] / GUEST_MEM, s_.get("downtime"), s_.get("sent_ms"),
                          q_.get("downtime")))
    for p, n, after in bad:
        print("%s %s: the migrated guest is broken: %s" % (p, n, after))
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SMP benchmark (issue 13): shoal under QEMU multi-threaded TCG with as many CPUs as this machine has cores;
# each figure measured on one CPU and on all of them in the same run, printed as a ratio; no assertions.
"""Four measurements, each in one boot of shoal (QEMU -smp N, N = this machine's cores, SVM), after a peer:
  peer   the linux case's guest booted by QEMU alone (-smp N, no shoal): the linux case's two hashing processes,
         and N shell counting loops (CPU work, no I/O), pinned to CPU 0 by taskset, then free; ratios one/all:
         what the emulator here gives CPU work on N CPUs, printed beside the linux and spin ratios.
  spin   N spin32 guests (their work counters: iterations / 65536, not time) for WINDOW s, first all pinned
         to CPU 0 (`vm pin`), then one per CPU; ratio all/one (goal: >= 0.9 x N).
  linux  a 2-vCPU Linux guest (the std kernel) runs two processes hashing 64 MiB of zeros each at once, timed
         by this host's clock: both vCPUs on CPU 0, then on CPUs 0 and 1; ratio one/all.
  boot   4 Linux guests (1 vCPU, 128 MiB) started at once: `vm start` of the first to the last /init marker,
         all pinned to CPU 0, then unpinned (the balancer spreads them); ratio one/all.
  http   three web clones of the golden image (iSCSI from a host tgtd), web1 alone (the others stopped), the
         three on CPU 0, then spread over the CPUs, alternating each round: requests per second in all from wrk
         here (CONNS connections per guest through QEMU's port forwards) over WINDOW s; ratios three/one. Its
         peer first: the same three guests, each in a QEMU of its own (no shoal), all pinned to one host core,
         then free on all of them (the same ratios, for the emulator alone).
         On one CPU also the share of its time the guests spent in guest mode (`vm stats`), alone and three.
Each is measured ROUNDS times, alternating one CPU and all CPUs, and the medians are printed.
Usage: bench-smp.py [--build build] [--guest build/guest] [--golden build/golden/demo.img] [--rounds 3]
                    [--window 10] [--only peer,spin,linux,boot,http]"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from console import Console  # noqa: E402
from harness import QEMU_BOOT_S, QEMU_CMD_S, qemu_argv  # noqa: E402
import linux_guest  # noqa: E402

HASH_MIB = 64
UP_S = 900                      # four nested TCG guests booting on one emulated CPU: generous
NCPUS = os.cpu_count() or 1


def boot(a, name, modules=(), mem="1G"):
    c = Console("bench-smp-" + name, a.logdir)
    extra = ["-kernel", a.build + "/shoal.elf", "-accel", "tcg,thread=multi", "-smp", str(NCPUS)]
    if modules:
        extra += ["-initrd", ",".join(modules)]
    c.start(qemu_argv(mem, extra, cpu="EPYC"))
    c.boot(QEMU_BOOT_S)
    return c


def work(c, names):
    return sum(int(re.search(r"testdev: echo (\d+)", c.command("vm stats " + n, QEMU_CMD_S)).group(1))
               for n in names)


def spin_rate(c, names, cpus, window):
    """Pin names to cpus (round robin), let them settle, return their work per second over window s."""
    for i, n in enumerate(names):
        c.command("vm pin %s %d" % (n, cpus[i % len(cpus)]), QEMU_CMD_S)
    time.sleep(2)
    w0, t0 = work(c, names), time.monotonic()
    time.sleep(window)
    return (work(c, names) - w0) / (time.monotonic() - t0)


def bench_spin(a):
    c = boot(a, "spin")
    names = ["s%d" % i for i in range(NCPUS)]
    for n in names:
        c.command("vm create %s guest=spin32 mem=4M" % n, QEMU_CMD_S)
        c.command("vm start " + n, QEMU_CMD_S)
    one, every = [], []
    for _ in range(a.rounds):
        one.append(spin_rate(c, names, [0], a.window))
        every.append(spin_rate(c, names, list(range(NCPUS)), a.window))
    c.close()
    o, e = statistics.median(one), statistics.median(every)
    print("spin   %d spin guests: on 1 CPU %.0f units/s, on %d CPUs %.0f units/s: ratio %.2f (goal >= %.1f%s)"
          % (NCPUS, o, NCPUS, e, e / o, 0.9 * NCPUS, peer_note(a, "loop")), flush=True)


def sha_seconds(c, pin):
    """Both vCPUs of g pinned as pin says; seconds (host clock) for two processes each hashing HASH_MIB MiB
    of zeros at once (CPU work: no disk, whose I/O goes through the boot CPU)."""
    linux_guest_detach(c)
    c.command("vm pin g " + pin, QEMU_CMD_S)
    c.command("cpus clear", QEMU_CMD_S)
    c.send("vm console g\r")
    c.expect(r"attached to g", QEMU_CMD_S, "the console attach line")
    time.sleep(1)
    linux_guest.type_slowly(c, "")
    return jobs_seconds(c, "", HASH_JOB, 2)


HASH_JOB = "dd if=/dev/zero bs=1048576 count=%d 2>/dev/null | sha256sum >/dev/null" % HASH_MIB
LOOP_JOB = "i=0; while [ \\$i -lt %d ]; do i=\\$((i + 1)); done" % 100000


def jobs_seconds(c, prefix, job, n):
    """Seconds by this host's clock for n copies of the shell command job at once, run under prefix (a taskset,
    or nothing) in the Linux guest whose shell c reaches: from the Enter that starts them to the line that says
    they are done. One stopwatch for shoal and the peer alike, whatever clocksource each guest picks (here
    both find their TSCs unsynchronized: QEMU alone's guest takes its HPET, shoal's the ACPI PM timer)."""
    line = "%ssh -c \"%s wait\"; echo J\"\"OBS=[done]" % (prefix, "".join("(%s) & " % job for _ in range(n)))
    return linux_guest.timed_line(c, line, r"JOBS=\[done\]", UP_S)[1]


def bench_peer(a):
    """The peer: the same Linux guest booted by QEMU alone (no shoal) with as many CPUs runs the linux case's
    workload and NCPUS shell counting loops (CPU work with no I/O, as the spin guests'), each pinned by taskset
    to CPU 0, then free to spread. Its ratios are what this machine's emulator gives CPU work on NCPUS CPUs;
    the linux and spin ratios are printed beside them."""
    d = a.guest + "/std"
    c = Console("bench-smp-peer", a.logdir)
    c.start(qemu_argv("512M", ["-kernel", d + "/vmlinuz", "-initrd", d + "/initrd.img", "-append",
                               "console=ttyS0 quiet", "-accel", "tcg,thread=multi", "-smp", str(NCPUS)], cpu="EPYC"))
    c.expect(r"SHOAL-GUEST-UP", UP_S, "the guest's /init marker")
    time.sleep(2)
    linux_guest.type_slowly(c, "")
    n = int(linux_guest.guest_value(c, "NCPU", "nproc", r"\d+", QEMU_CMD_S))
    if n != NCPUS:
        raise RuntimeError("the peer's guest sees %d CPUs, not %d" % (n, NCPUS))
    runs = {"hash": ([], []), "loop": ([], [])}
    for _ in range(a.rounds):
        for what, job, k in (("hash", HASH_JOB, 2), ("loop", LOOP_JOB, NCPUS)):
            runs[what][0].append(jobs_seconds(c, "busybox taskset 1 ", job, k))
            runs[what][1].append(jobs_seconds(c, "", job, k))
    c.close()
    for what, (one, every) in runs.items():
        o, e = statistics.median(one), statistics.median(every)
        a.peer[what] = o / e
        print("peer   QEMU alone (no shoal), %s in its Linux guest: pinned to CPU 0 %.1f s, spread over %d CPUs "
              "%.1f s: ratio %.2f" % ("two processes hashing %d MiB each" % HASH_MIB if what == "hash" else
                                      "%d shell counting loops" % NCPUS, o, NCPUS, e, o / e), flush=True)


def peer_note(a, what):
    """The peer's ratio for what, for the line of the case it stands beside."""
    return "; QEMU alone %.2f" % a.peer[what] if what in a.peer else ""


def lock_lines(c, what):
    """Print each CPU's big-lock line from `cpus` (waits and holds since the last `cpus clear`)."""
    out = c.command("cpus", QEMU_CMD_S)
    for line in re.findall(r"^cpu \d+ big lock: .*$", out, re.M):
        print("       %s: %s" % (what, line), flush=True)


def linux_guest_detach(c):
    c.send("\x1d")
    c.expect(r"\[detached from g\]\nshoal> ", QEMU_CMD_S, "the detach line")


def bench_linux(a):
    d, disk = a.guest + "/std", a.guest + "/disk.img"
    c = boot(a, "linux", [d + "/vmlinuz", d + "/initrd.img", disk])
    c.command("vm create g kernel=vmlinuz initrd=initrd.img mem=256M vcpus=2 disk=disk.img", QEMU_CMD_S)
    c.command("vm start g", QEMU_CMD_S)
    c.expect(r"SHOAL-GUEST-UP", UP_S, "the guest's /init marker")
    time.sleep(2)
    c.send("vm console g\r")
    c.expect(r"attached to g", QEMU_CMD_S, "the console attach line")
    linux_guest.type_slowly(c, "")
    one, every = [], []
    for _ in range(a.rounds):
        one.append(sha_seconds(c, "0"))
        every.append(sha_seconds(c, "0,1"))
        linux_guest_detach(c)
        lock_lines(c, "linux on 2 CPUs")
        c.send("vm console g\r")
        c.expect(r"attached to g", QEMU_CMD_S, "the console attach line")
    c.close()
    o, e = statistics.median(one), statistics.median(every)
    print("linux  2-vCPU guest, two processes hashing %d MiB each: on 1 CPU %.1f s, on 2 CPUs %.1f s: ratio %.2f "
          "(2 at best%s)" % (HASH_MIB, o, e, o / e, peer_note(a, "hash")), flush=True)


def boot_seconds(c, round_no, pin):
    names = ["b%d%d" % (round_no, i) for i in range(4)]
    for n in names:
        c.command("vm create %s kernel=vmlinuz initrd=initrd.img mem=128M%s" % (n, " cpus=0" if pin else ""),
                  QEMU_CMD_S)
    start = len(c.output())
    t0 = time.monotonic()
    for n in names:
        c.command("vm start " + n, QEMU_CMD_S)
    deadline = t0 + UP_S
    while not all(re.search(r"\[%s\] [^\n]*SHOAL-GUEST-UP" % n, c.output()[start:]) for n in names):
        if time.monotonic() > deadline:
            raise RuntimeError("the guests did not all come up in %d s" % UP_S)
        time.sleep(0.2)
    secs = time.monotonic() - t0
    for n in names:
        c.command("vm destroy " + n, QEMU_CMD_S)
    return secs


def bench_boot(a):
    d = a.guest + "/std"
    c = boot(a, "boot", [d + "/vmlinuz", d + "/initrd.img"], "1500M")
    one, every = [], []
    for r in range(a.rounds):
        one.append(boot_seconds(c, 2 * r, True))
        every.append(boot_seconds(c, 2 * r + 1, False))
    c.close()
    o, e = statistics.median(one), statistics.median(every)
    print("boot   4 Linux guests started at once: on 1 CPU %.1f s, on %d CPUs %.1f s: ratio %.2f"
          % (o, NCPUS, e, o / e), flush=True)


CONNS = 4


def load(ports, window):
    """wrk (CONNS connections, one thread) against each port at once for window s: requests per second answered
    in all. wrk, in C, leaves the emulator the host's cores (a Python client took a share of them)."""
    runs = [subprocess.Popen(["wrk", "-t1", "-c%d" % CONNS, "-d%ds" % window, "--timeout", "10s",
                              "http://127.0.0.1:%d/" % p], stdout=subprocess.PIPE, text=True) for p in ports]
    total = 0.0
    for r in runs:
        out = r.communicate()[0]
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not m:
            raise RuntimeError("wrk printed no rate:\n" + out)
        total += float(m.group(1))
    return total


def golden_boot_files(img, into):
    """The golden image's /boot/vmlinuz and /boot/initrd.img (partition 1, found by sfdisk), copied into into."""
    dump = subprocess.run(["sfdisk", "-d", img], stdout=subprocess.PIPE, text=True, check=True).stdout
    start = int(re.search(r"1 : start=\s*(\d+),", dump).group(1))
    for f in ("vmlinuz", "initrd.img"):
        subprocess.run(["debugfs", "-R", "dump /boot/%s %s/%s" % (f, into, f), "%s?offset=%d" % (img, start * 512)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        if not os.path.getsize(os.path.join(into, f)):
            raise RuntimeError("cannot extract /boot/%s from %s" % (f, img))


def peer_web(a, pool_tests, name, port, d):
    """QEMU alone (no shoal, one emulated CPU) booting the golden image as web guest name, pinned to host core 0
    by taskset, its port 80 forwarded to port; the disk is QEMU's snapshot of the image (nothing written)."""
    ip = pool_tests.WEBS[name]
    log = open(os.path.join(a.logdir, "http-peer-%s.log" % name), "wb")
    argv = ["taskset", "-c", "0", "qemu-system-x86_64", "-accel", "tcg", "-cpu", "EPYC", "-m", "128M", "-nodefaults",
            "-display", "none", "-serial", "stdio", "-kernel", d + "/vmlinuz", "-initrd", d + "/initrd.img", "-append",
            "root=/dev/vda1 rw quiet ip=%s::10.0.2.2:255.255.255.0:%s:eth0:off console=ttyS0" % (ip, name),
            "-drive", "file=%s,if=virtio,format=raw,snapshot=on" % os.path.abspath(a.golden),
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-%s:80" % (port, ip), "-device", "virtio-net-pci,netdev=n0"]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), log.name


def guest_ms(c, names):
    """Milliseconds the vCPUs of names have spent in guest mode (`vm stats`), in all."""
    return sum(int(ms) for n in names
               for ms in re.findall(r"vcpu \d+: (\d+) ms in guest", c.command("vm stats " + n, QEMU_CMD_S)))


def guest_load(c, ports, names, window):
    """load() on ports, and the share of the wall time the vCPUs of names spent in guest mode meanwhile: on
    one CPU, what is left is shoal's (exits, switches, the I/O poll loop)."""
    g0, t0 = guest_ms(c, names), time.monotonic()
    rate = load(ports, window)
    return rate, (guest_ms(c, names) - g0) / 1000.0 / (time.monotonic() - t0)


def bench_http_peer(a, pool_tests):
    """The http case's peer: the same three web guests, each in its own QEMU alone (no shoal), all pinned to one
    host core: web1 alone (the others SIGSTOPped), then the three; what this machine's emulator itself gives three
    guests sharing one core."""
    names = ["web1", "web2", "web3"]
    ports = {n: pool_tests.free_port() for n in names}
    procs = {}
    d = tempfile.mkdtemp(prefix="shoal-bench-http-peer.")
    try:
        golden_boot_files(os.path.abspath(a.golden), d)
        for n in names:
            procs[n] = peer_web(a, pool_tests, n, ports[n], d)
        deadline = time.monotonic() + UP_S
        for n in names:
            while b"SHOAL-WEB-UP" not in open(procs[n][1], "rb").read():
                if procs[n][0].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("peer web guest %s did not come up (log %s)" % (n, procs[n][1]))
                time.sleep(1)
        load(list(ports.values()), 3)                    # warm the caches
        alone, three, spread = [], [], []
        for _ in range(a.rounds):
            for n in names[1:]:
                procs[n][0].send_signal(signal.SIGSTOP)
            alone.append(load([ports["web1"]], a.window))
            for n in names[1:]:
                procs[n][0].send_signal(signal.SIGCONT)
            three.append(load(list(ports.values()), a.window))
            pin_all(procs, range(NCPUS))
            spread.append(load(list(ports.values()), a.window))
            pin_all(procs, [0])
    finally:
        for p, _ in procs.values():
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    s, t, e = statistics.median(alone), statistics.median(three), statistics.median(spread)
    a.peer["http"], a.peer["http-all"] = t / s, e / s
    print("peer   QEMU alone (no shoal), three web guests in three QEMUs on one host core: one alone %.0f req/s, "
          "three %.0f req/s in all: ratio %.2f; the three free on this machine's %d cores: %.0f req/s, ratio %.2f"
          % (s, t, t / s, NCPUS, e, e / s), flush=True)


def pin_all(procs, cores):
    """Every thread of each peer QEMU in procs onto the host cores cores (taskset at launch pins only core 0)."""
    for p, _ in procs.values():
        for tid in os.listdir("/proc/%d/task" % p.pid):
            try:
                os.sched_setaffinity(int(tid), set(cores))
            except ProcessLookupError:                   # a thread that ended meanwhile
                pass


def bench_http(a):
    os.environ["SHOAL_GOLDEN"] = os.path.abspath(a.golden)
    import pool_tests
    bench_http_peer(a, pool_tests)
    tgt = pool_tests.Target(tempfile.mkdtemp(prefix="shoal-bench-smp."))
    names = ["web1", "web2", "web3"]
    ports = {n: pool_tests.free_port() for n in names}
    fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-%s:80" % (p, pool_tests.WEBS[n]) for n, p in ports.items())
    alone, one, every, frac = [], [], [], ([], [])
    try:
        c = Console("bench-smp-http", a.logdir)
        c.start(qemu_argv("1G", ["-kernel", a.build + "/shoal.elf", "-accel", "tcg,thread=multi", "-smp",
                                 str(NCPUS), "-netdev", "user,id=n0," + fwd, "-device", "e1000,netdev=n0"],
                          cpu="EPYC"))
        c.boot(QEMU_BOOT_S)
        pool_tests.pool_add(c, tgt)
        for n in names:
            pool_tests.create_start(c, n, "cpus=0")
        pool_tests.wait_web_up(c, names)
        load(list(ports.values()), 3)                    # warm the caches
        for _ in range(a.rounds):                        # alternate, so that drift shows in both columns
            for n in names[1:]:
                c.command("vm stop " + n, QEMU_CMD_S)
            rate, f = guest_load(c, [ports["web1"]], names[:1], a.window)
            alone.append(rate)
            frac[0].append(f)
            for n in names:
                c.command("vm pin %s 0" % n, QEMU_CMD_S)
                c.command("vm start " + n, QEMU_CMD_S)
            rate, f = guest_load(c, list(ports.values()), names, a.window)
            one.append(rate)
            frac[1].append(f)
            for i, n in enumerate(names):
                c.command("vm pin %s %d" % (n, i % NCPUS), QEMU_CMD_S)
            c.command("cpus clear", QEMU_CMD_S)
            every.append(load(list(ports.values()), a.window))
            lock_lines(c, "http over %d CPUs" % NCPUS)
            print("http   round: web1 alone %.0f, three on CPU 0 %.0f, three over %d CPUs %.0f req/s; guest mode "
                  "%.0f%% / %.0f%% of CPU 0's time" % (alone[-1], one[-1], NCPUS, every[-1], 100 * frac[0][-1],
                                                     100 * frac[1][-1]), flush=True)
        sched = re.search(r"^sched: (\d+) slices.*$", c.command("sched", QEMU_CMD_S), re.M)
        c.close()
    finally:
        tgt.stop()
    s, o, e = statistics.median(alone), statistics.median(one), statistics.median(every)
    print("http   one clone alone on 1 CPU %.0f req/s; three on 1 CPU %.0f req/s in all: ratio %.2f (goal >= 0.9%s); "
          "three over %d CPUs %.0f req/s: ratio %.2f%s; %s" % (s, o, o / s, peer_note(a, "http"), NCPUS, e, e / s,
                                                             peer_note(a, "http-all"),
                                                           sched.group(0) if sched else "no sched line"), flush=True)
    fs, fo = statistics.median(frac[0]), statistics.median(frac[1])
    ms = [statistics.median(1000 * f / r for f, r in zip(frac[i], rates)) for i, rates in ((0, alone), (1, one))]
    print("http   on 1 CPU, guest mode %.0f%% of its time alone, %.0f%% with three (the rest is shoal's); guest time "
          "per request %.1f ms alone, %.1f ms with three" % (100 * fs, 100 * fo, ms[0], ms[1]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--guest", default="build/guest")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--golden", default="build/golden/demo.img")
    ap.add_argument("--only", default="peer,spin,linux,boot,http")
    a = ap.parse_args()
    a.peer = {}
    a.logdir = os.path.join(a.build, "bench-logs", "smp")
    os.makedirs(a.logdir, exist_ok=True)
    print("bench-smp: shoal under QEMU TCG (SVM) with %d CPUs, this machine's cores; logs in %s" % (NCPUS, a.logdir),
          flush=True)
    if NCPUS < 2:
        print("bench-smp: one core here: nothing to compare")
        return 0
    for what in a.only.split(","):
        {"peer": bench_peer, "spin": bench_spin, "linux": bench_linux, "boot": bench_boot, "http": bench_http}[what](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())

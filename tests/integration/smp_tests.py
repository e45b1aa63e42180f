# Multi-CPU hosts: every CPU the MADT lists comes up and runs the vCPUs placed on it (QEMU multi-threaded TCG
# with SVM, Bochs SMP with VMX).
"""Usage: smp_tests.py --build DIR [--jobs N] [--only REGEX]

Each boot checks `cpus` (every CPU online or the reason it is not; each online CPU answers an IPI with the
APIC ID it reads itself and its virtualization extension on), the `info` line, maxcpus=, and that test
guests still run. Logs: DIR/test-logs/smp/NAME.console.log."""

import hashlib
import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, require, qemu_argv, bochs_start, boot_check, main, free_port,  # noqa: E402
                     QEMU_BOOT_S, QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)
import dirty_tests  # noqa: E402
import vmm_tests  # noqa: E402
import pool_tests  # noqa: E402
import vmstate_tests  # noqa: E402
import linux_guest  # noqa: E402
import linux_tests  # noqa: E402
import linux_vmx_tests  # noqa: E402
from linux_guest import type_slowly  # noqa: E402

GUEST = os.path.abspath(os.environ.get("SHOAL_GUEST_DIR", "build/guest"))
GUEST_UP_S = 480          # the emulated hypervisor runs the emulated guest beside other tiers' emulators: generous

SUMMARY = re.compile(r"cpus: (\d+) online of (\d+) listed \((\d+) not present, (\d+) left out by maxcpus=(\d+), "
                     r"(\d+) failed\)")
ONLINE = re.compile(r"^cpu (\d+) apic-id (\d+): online, [^\n]*answered in \d+ us \(apic-id (\d+), cpu (\d+)\), "
                    r"virtualization (on \((?:SVM|VMX)\)|off)([^\n]*)$", re.M)
LOCK = re.compile(r"^cpu (\d+) big lock: (\d+) waits, (\d+) us on average, longest (\d+) us; held (\d+)% of (\d+) ms, "
                  r"longest (\d+) us \(from (\S+) to (\S+)\)$", re.M)


def cpus(c, t):
    """`cpus`: the summary numbers, the online CPUs' lines and the rest."""
    out = c.command("cpus", t)
    m = SUMMARY.search(out)
    require(m, "no summary line in `cpus`:\n" + out)
    return [int(x) for x in m.groups()], ONLINE.findall(out), out


def check_cpus(c, t, want, vendor):
    """want = (online, listed, not present, left out, maxcpus, failed). Every online CPU answered its IPI
    with its own APIC ID (the one the MADT gave) and has the extension and its caches on; the IDs are distinct."""
    nums, online, out = cpus(c, t)
    require(nums == list(want), "cpus summary %s, expected %s:\n%s" % (nums, list(want), out))
    require(len(online) == want[0], "%d online CPUs answered, expected %d:\n%s" % (len(online), want[0], out))
    ids = [a for _, a, _, _, _, _ in online]
    require(len(set(ids)) == len(ids), "APIC IDs repeat:\n" + out)
    for idx, madt_id, said_id, said_idx, virt, rest in online:
        require(madt_id == said_id, "cpu %s answered from APIC ID %s, not %s:\n%s" % (idx, said_id, madt_id, out))
        require(said_idx == idx, "cpu %s takes itself for cpu %s (smp_this_cpu):\n%s" % (idx, said_idx, out))
        require(virt == "on (%s)" % vendor, "cpu %s: virtualization %s, not on (%s)" % (idx, virt, vendor))
        require(rest.startswith(", caches on,"), "cpu %s runs with its caches off (or says nothing of them):\n%s"
                % (idx, out))
        m = re.search(r"stack (\d+) of (\d+) KiB used at most$", rest)   # painted at start: some used, not all
        require(m and 0 < int(m.group(1)) < int(m.group(2)) and int(m.group(2)) >= 32,
                "cpu %s: no stack high-water mark, or a full stack:\n%s" % (idx, out))
    locks = {m[0]: m for m in LOCK.findall(out)}
    require(sorted(locks) == sorted(i for i, *_ in online), "not one big-lock line per online CPU:\n" + out)
    boot = locks["0"]                  # the boot CPU has held the lock (its shell runs under it), from somewhere
    require(int(boot[4]) > 0 and int(boot[6]) > 0 and "+0x" in boot[7] and "+0x" in boot[8],
            "the boot CPU's big-lock line shows no hold, or no place it began and ended:\n" + out)
    print("    %s" % out.splitlines()[0].strip(), flush=True)
    return out


def check_ipis_repeat(c, t, rounds=4):
    """Each `cpus` wakes every standing-by CPU with one IPI: their wakeup counts grow by at least one a call."""
    def wakeups():
        return {i: int(w) for i, *_, rest in cpus(c, t)[1] for w in re.findall(r"(\d+) wakeups", rest)}
    first = wakeups()
    require(first, "no CPU stands by")
    last = first
    for _ in range(rounds):
        now = wakeups()
        require(all(now[i] > last[i] for i in last), "wakeups did not grow: %s -> %s" % (last, now))
        last = now


def wait_all(c, start, patterns, t):
    """Wait until every pattern has appeared in the console output after offset start (the guests' lines
    come in any order)."""
    deadline = time.monotonic() + t
    while True:
        text = c.output()[start:]
        missing = [what for what, p in patterns if not re.search(p, text)]
        if not missing:
            return
        require(time.monotonic() < deadline, "timed out after %d s waiting for %s" % (t, ", ".join(missing)))
        time.sleep(0.2)


def check_guests(c, t):
    """Test guests run beside each other as before: a timer guest, a RAM verifier and a hello guest."""
    start = len(c.output())
    for name, guest in (("v", "victim32"), ("tm", "timer64"), ("h", "hello64")):
        out = c.command("vm create %s guest=%s mem=4M" % (name, guest), t)
        require("created" in out, out)
        c.command("vm start " + name, t)
    wait_all(c, start, [("hello64's line", r"\[h\] hello from 64-bit long mode"),
                        ("timer64's verdict", r"\[tm\] timer ok"),
                        ("the verifier's first round", r"\[v\] report 2=\d+\n")], t)
    out = c.command("vm list", t)
    require(re.search(r"^v\s+running", out, re.M), "the verifier stopped:\n" + out)
    for name in ("v", "tm", "h"):
        c.command("vm destroy " + name, t)


PLACED_SELF_CHECKING = [("timer64", r"timer ok"), ("mmio64", r"mmio ok"), ("ioecho32", r"port io ok"),
                        ("cpuid64", r"cpuid ok"), ("msr64", r"msr ok"), ("misc32", r"misc ok")]


def check_placed_guests(c, t, ncpus):
    """Test guests placed on each other CPU (cpus=N) pass their own checks there: their timer interrupts (from
    device timers that fire on their own CPU) reach them, MMIO and port I/O exits are handled, `vm list` says
    where."""
    start = len(c.output())
    names = []
    for i, (guest, marker) in enumerate(PLACED_SELF_CHECKING):
        cpu = 1 + i % (ncpus - 1)
        name = "p%d" % i
        out = c.command("vm create %s guest=%s mem=4M cpus=%d" % (name, guest, cpu), t)
        require("created" in out, out)
        c.command("vm start " + name, t)
        names.append((name, guest, marker, cpu))
    wait_all(c, start, [("%s on CPU %d" % (g, cpu), r"\[%s\] %s" % (n, m)) for n, g, m, cpu in names], t)
    wait_all(c, start, [("%s to exit 0" % g, r"vm %s stopped: exited with code 0" % n) for n, g, _, _ in names], t)
    out = c.command("vm list", t)
    for n, g, _, cpu in names:
        require(re.search(r"^%s\s+stopped\s.*\s%d$" % (n, cpu), out, re.M), "%s did not run on CPU %d:\n%s"
                % (n, cpu, out))
        c.command("vm destroy " + n, t)


def spin_shares(c, t, names):
    """CPU% of each named VM from `vm list` (the best of three samples 2 s apart, after 4 s: the machine
    running the emulator is shared and busy)."""
    time.sleep(4)
    best, out = None, ""
    for _ in range(3):
        time.sleep(2)
        out = c.command("vm list", t)
        shares = {}
        for n in names:
            m = re.search(r"^%s\s+running\s+\d+\s+\d+\s+\d+\s+(\d+)\s" % n, out, re.M)
            require(m, "%s is not running:\n%s" % (n, out))
            shares[n] = int(m.group(1))
        if best is None or sum(shares.values()) > sum(best.values()):
            best = shares
    return best, out


def check_parallel(c, t, ncpus):
    """One spin guest per CPU runs in parallel: together they get more than one CPU's time (on one CPU they
    could not pass 100% in all), each a fair part. Then the one on the last CPU is destroyed while it runs,
    and its neighbours go on."""
    names = ["sp%d" % i for i in range(ncpus)]
    for i, n in enumerate(names):
        out = c.command("vm create %s guest=spin32 mem=4M cpus=%d" % (n, i), t)
        require("created" in out, out)
    for n in names:
        c.command("vm start " + n, t)
    shares, out = spin_shares(c, t, names)
    total = sum(shares.values())
    placed = c.command("cpus", t)
    for i in range(ncpus):
        m = re.search(r"^cpu %d apic-id \d+: online, .*, (\d+) vCPUs, (\d+) exits/s, stack " % i, placed, re.M)
        require(m and m.group(1) == "1", "`cpus` does not count one vCPU on CPU %d:\n%s" % (i, placed))
    print("    %d spin guests, one per CPU: CPU%% %s (sum %d%%)" % (ncpus, shares, total), flush=True)
    require(total >= 125 and min(shares.values()) >= 25, "not parallel: %s\n%s" % (shares, out))
    out = c.command("vm destroy " + names[-1], t)
    require("destroyed" in out, "destroying a VM running on CPU %d: %s" % (ncpus - 1, out))
    out = c.command("vm list", t)
    require(all(re.search(r"^%s\s+running" % n, out, re.M) for n in names[:-1]), "after the destroy:\n" + out)
    for n in names[:-1]:
        c.command("vm destroy " + n, t)


def sched(c, t):
    """`sched`: (moves, {cpu: (vCPUs, runnable, cross-CPU wake-ups, avg us or None, max us or None, local
    wake-ups, avg us or None, max us or None)}, text)."""
    out = c.command("sched", t)
    m = re.search(r"^sched: balance (on|off), stress (on|off), (\d+) vCPU moves$", out, re.M)
    require(m, "no summary line in `sched`:\n" + out)
    per = {}
    for cpu, n, run, *w in re.findall(r"^cpu (\d+): (\d+) vCPUs, (\d+) runnable, (\d+) cross-CPU wake-ups"
                                      r"(?: \(to entry: avg (\d+) us, max (\d+) us\))?, (\d+) local wake-ups"
                                      r"(?: \(to entry: avg (\d+) us, max (\d+) us\))?$", out, re.M):
        per[int(cpu)] = (int(n), int(run)) + tuple(int(x) if x else None for x in w)
    require(per, "no CPU lines in `sched`:\n" + out)
    return int(m.group(3)), per, out


def check_io_handed(c):
    """The guest's disk requests from its vCPU on CPU 1 went to the boot CPU's poll loop (the I/O context)
    through the pending list, not into the block layers on CPU 1: `sched` counts them (at the shoal prompt,
    the guest console attached again after)."""
    def handed():
        out = c.command("sched", QEMU_CMD_S)
        m = re.search(r"^sched: (\d+) virtio notifications from other CPUs handed to the boot CPU$", out, re.M)
        require(m and int(m.group(1)) > 0, "no notification handed to the boot CPU:\n" + out)
        return int(m.group(1))
    n = shell_value(c, handed)
    print("    %d virtio notifications handed from CPU 1 to the boot CPU" % n, flush=True)
    # Their completions (and the other vCPU's IPIs) come from the boot CPU: the halted vCPU on CPU 1 wakes
    # at once, not at its next tick.
    per = shell_value(c, lambda: sched(c, QEMU_CMD_S)[1])
    require(per.get(1) and per[1][2] > 0, "no cross-CPU wake-up of the vCPU on CPU 1 counted: %s" % per)
    print("    cpu 1: %d cross-CPU wake-ups, avg %d us, max %d us to entry" % per[1][2:5], flush=True)


def check_stress(c, t):
    """`sched stress on`: unpinned self-checking guests and the RAM verifier move to the next CPU after every
    slice (VMCS or VMCB handed over, TLBs flushed on arrival) and still pass their own checks; `sched` counts
    the moves; `sched stress off` ends them."""
    require("stress on" in c.command("sched stress on", t), "sched stress on was refused")
    before = sched(c, t)[0]
    start = len(c.output())
    names = [("s%d" % i, g, m) for i, (g, m) in enumerate(PLACED_SELF_CHECKING)]
    for n, g, _ in names + [("sv", "victim32", "")]:
        require("created" in c.command("vm create %s guest=%s mem=4M" % (n, g), t), "vm create " + n)
        c.command("vm start " + n, t)
    wait_all(c, start, [("%s's verdict" % g, r"\[%s\] %s" % (n, m)) for n, g, m in names], t)
    wait_all(c, start, [("%s to exit 0" % g, r"vm %s stopped: exited with code 0" % n) for n, g, _ in names] +
             [("the verifier's tenth round", r"\[sv\] report 2=10\n")], t)
    out = c.command("vm list", t)
    require(re.search(r"^sv\s+running", out, re.M), "the verifier stopped while moving:\n" + out)
    moves = sched(c, t)[0] - before
    require(moves >= 20, "only %d vCPU moves under the stress mode" % moves)
    require("stress off" in c.command("sched stress off", t), "sched stress off was refused")
    print("    stress: %d vCPU moves while %d self-checking guests and the RAM verifier ran" % (moves, len(names)),
          flush=True)
    for n, _, _ in names + [("sv", "", "")]:
        c.command("vm destroy " + n, t)


def check_balanced(c, t):
    """Two unpinned spin guests on a two-CPU host: the balancer puts one on each CPU (`sched`: one runnable
    vCPU per CPU) and together they get more than one CPU's time."""
    for n in ("b0", "b1"):
        require("created" in c.command("vm create %s guest=spin32 mem=4M" % n, t), "vm create " + n)
        c.command("vm start " + n, t)
    shares, out = spin_shares(c, t, ["b0", "b1"])
    _, per, text = sched(c, t)
    require(per[0][1] == 1 and per[1][1] == 1, "the balancer did not spread them:\n" + text)
    total = sum(shares.values())
    print("    balanced: 2 unpinned spin guests: CPU%% %s (sum %d%%)" % (shares, total), flush=True)
    require(total >= 125, "not parallel: %s\n%s" % (shares, out))
    for n in ("b0", "b1"):
        c.command("vm destroy " + n, t)


def check_wake_latency(c, t):
    """The timer guests placed on other CPUs halted and were woken by their timers, which fire on the CPU
    that armed them (their own, where their exits are handled): `sched` counts those local wake-ups and how
    long each took to reach guest entry (printed, not judged)."""
    _, per, out = sched(c, t)
    woken = {cpu: v for cpu, v in per.items() if cpu > 0 and v[5] > 0}
    require(woken, "no local wake-up counted on a CPU other than the boot CPU:\n" + out)
    print("    wake-up to entry on the timer guests' own CPUs: " + "; ".join(
        "cpu %d: %d local wake-ups, avg %d us, max %d us (%d cross-CPU)" % (cpu, v[5], v[6], v[7], v[2])
        for cpu, v in sorted(woken.items())), flush=True)


def wake_preempts(c, t):
    m = re.search(r"^sched: (\d+) slices ended early for a woken vCPU that had used less time$", c.command("sched", t),
                  re.M)
    require(m, "`sched` has no count of slices ended for a woken vCPU")
    return int(m.group(1))


def check_wake_preempt(c, t, cpu):
    """A spin guest and timer64 (ten rounds: arm a 2 ms timer, HLT) share CPU cpu. Each time its timer wakes
    the halted timer guest, the spin guest's slice ends at its next exit (the sleeper has used less time), so
    the sleeper does not wait out a 10 ms slice: `sched` counts those slices, at least one per round but the
    first few."""
    for n, g in (("wps", "spin32"), ("wpt", "timer64")):
        require("created" in c.command("vm create %s guest=%s mem=4M cpus=%d" % (n, g, cpu), t), "vm create " + n)
    c.command("vm start wps", t)
    deadline = time.monotonic() + t
    while not re.search(r"testdev: echo [1-9]", c.command("vm stats wps", t)):   # the spin guest is running
        require(time.monotonic() < deadline, "spin32 on CPU %d did no work in %d s" % (cpu, t))
        time.sleep(0.5)
    before, start = wake_preempts(c, t), len(c.output())
    c.command("vm start wpt", t)
    wait_all(c, start, [("timer64 beside a spin guest", r"\[wpt\] timer ok"),
                        ("timer64 to exit 0", r"vm wpt stopped: exited with code 0")], t)
    n = wake_preempts(c, t) - before
    _, per, _ = sched(c, t)
    for name in ("wps", "wpt"):
        c.command("vm destroy " + name, t)
    print("    cpu %d: %d slices of the spin guest ended for the woken timer guest; local wake-ups there: %d, "
          "avg %s us, max %s us" % (cpu, n, per[cpu][5], per[cpu][6], per[cpu][7]), flush=True)
    require(n >= 5, "only %d slices ended for the woken timer guest (ten rounds)" % n)


def check_move_gathered(c, t):
    """carryon64 (its count in memory, R12 and XMM1) under the stress mode, moving between CPUs after every
    slice, then `vm move`d twice: each move first brings its vCPU to the boot CPU (vm_gather), and the copy
    carries on counting with its registers intact, as on a one-CPU host."""
    require("stress on" in c.command("sched stress on", t), "sched stress on was refused")
    try:
        before = sched(c, t)[0]
        vmstate_tests.check_move(c, t)
        moved = sched(c, t)[0] - before
        require(moved >= 10, "carryon64 moved between CPUs only %d times" % moved)
    finally:
        c.command("sched stress off", t)
    out = c.command("vm move g3 g3", t)                  # refused after the gather: no longer held there
    require("error: vm move g3: a VM of the new name exists" in out, "vm move g3 g3: " + out)
    require("vm g3 pinned to 1" in c.command("vm pin g3 1", t), "g3 is still held after a refused move")
    c.command("vm destroy g3", t)


def check_dirty_elsewhere(c, t):
    """dirtier32 on CPU 1 while the shell on CPU 0 tracks its pages: every page it writes is reported, none
    changes unreported (the protection added on CPU 0 is flushed on CPU 1)."""
    dirty_tests.check_rounds(c, t, "cpus=1")


# Commands that need a VM's vCPUs on the boot CPU, refused for one pinned elsewhere, and what the refusal says.
REFUSED = [("vm migrate r 10.0.0.2 key=k", r"error: vm migrate r: its vCPU 0 is pinned to CPU 1"),
           ("vm move r r2", r"error: vm move r: its vCPU 0 is pinned to CPU 1"),
           ("vm create bad guest=hello64 cpus=9", r"error: vm create bad: cpus=9: not every CPU named is online"),
           ("vm create bad guest=hello64 cpus=1,", r"error: vm create bad: cpus=: give CPU numbers"),
           ("vm create bad guest=hello64 cpus=0,9", r"error: vm create bad: cpus=0,9: not every CPU named")]


def check_refusals(c, t):
    out = c.command("vm create r guest=victim32 mem=4M cpus=1", t)
    require("created" in out, out)
    c.command("vm start r", t)
    for cmd, want in REFUSED:
        out = c.command(cmd, t)
        require(re.search(want, out), "%s: %r does not say %r" % (cmd, out, want))
    out = c.command("vm list", t)
    require(re.search(r"^r\s+running", out, re.M) and not re.search(r"^(bad|r2)\s", out, re.M),
            "after the refusals:\n" + out)
    c.command("vm destroy r", t)


def qemu_smp(r, smp, append, want):
    with Console(r.name, r.logdir) as c:
        r.console = c
        extra = ["-kernel", r.build + "/shoal.elf", "-accel", "tcg,thread=multi", "-smp", smp]
        c.start(qemu_argv("512M", extra + (["-append", append] if append else []), cpu="EPYC"))
        boot_check(r, c, QEMU_BOOT_S)
        r.check(r.name + "-cpus", lambda: check_cpus(c, QEMU_CMD_S, want, "SVM"))
        r.check(r.name + "-info", lambda: require(
            re.search(r"^cpus: %d online of %d listed" % want[:2], c.command("info", QEMU_CMD_S), re.M),
            "`info` has no matching cpus line"))
        if want[0] > 1:
            r.check(r.name + "-ipis", lambda: check_ipis_repeat(c, QEMU_CMD_S))
        r.check(r.name + "-guests", lambda: check_guests(c, QEMU_CMD_S))
        if want[0] > 2:
            r.check(r.name + "-placed-guests", lambda: check_placed_guests(c, QEMU_CMD_S, want[0]))
            r.check(r.name + "-wake-latency", lambda: check_wake_latency(c, QEMU_CMD_S))
            r.check(r.name + "-wake-preempt", lambda: check_wake_preempt(c, QEMU_CMD_S, 2))
            r.check(r.name + "-refusals", lambda: check_refusals(c, QEMU_CMD_S))
            r.check(r.name + "-stress", lambda: check_stress(c, QEMU_CMD_S))
            r.check(r.name + "-isolation-8vms", lambda: vmm_tests.check_isolation(c, QEMU_CMD_S, [1, 2, 3, 0]))
            r.check(r.name + "-move-gathered", lambda: check_move_gathered(c, QEMU_CMD_S))
            r.check(r.name + "-dirty-elsewhere", lambda: check_dirty_elsewhere(c, QEMU_CMD_S))
        if want[0] == 2:
            # Two emulated CPUs, as the machines running the suite have two cores: with more, emulated CPUs
            # holding the big lock wait for a host core and the others wait for them (lock-holder preemption,
            # which real hardware does not have), and the shares measure the host's load, not shoal.
            r.check(r.name + "-parallel", lambda: check_parallel(c, QEMU_CMD_S, 2))
            r.check(r.name + "-balanced", lambda: check_balanced(c, QEMU_CMD_S))
        if "lock_spins=1" in append:
            r.check(r.name + "-lock-halts", lambda: check_lock_halts(c, QEMU_CMD_S))


def check_lock_halts(c, t):
    """With lock_spins=1 every contended wait for the big lock halts until the unlock that serves it sends
    the wake-up: the checks above ran through that path (a lost wake-up would have hung them), and `cpus`
    counts the halts."""
    out = c.command("cpus", t)
    m = re.search(r"^cpus: (\d+) waits for the big lock ended in a halt until woken$", out, re.M)
    require(m and int(m.group(1)) > 0, "no wait for the big lock halted:\n" + out)
    print("    %s waits for the big lock halted until woken" % m.group(1), flush=True)
    waits = {cpu: int(n) for cpu, n, *_ in LOCK.findall(out)}
    require(sum(waits.values()) > 0, "`cpus` counts no wait for the big lock, though some halted:\n" + out)
    spans = [int(x[5]) for x in LOCK.findall(out)]
    require("cleared" in c.command("cpus clear", t), "`cpus clear` did not say it cleared")
    after = LOCK.findall(c.command("cpus", t))
    require(after and all(int(x[5]) < min(spans) for x in after),
            "after `cpus clear` the figures still cover %s ms (before: %s):\n%s" % ([x[5] for x in after], spans, out))
    for line in LOCK.finditer(out):
        print("    %s" % line.group(0), flush=True)


def t_svm_4cpus(r):
    qemu_smp(r, "4", "", (4, 4, 0, 0, 128, 0))


def t_svm_maxcpus(r):
    """Three CPUs present and a fourth hot-plug slot (the MADT lists it disabled); maxcpus=2 leaves the
    third out. lock_spins=1: every contended wait for the big lock halts until woken."""
    qemu_smp(r, "3,maxcpus=4", "maxcpus=2 lock_spins=1", (2, 4, 1, 1, 2, 0))


def t_svm_maxcpus1(r):
    qemu_smp(r, "2", "maxcpus=1", (1, 2, 0, 1, 1, 0))


def t_vmx_2cpus(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c, cpus=2)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-cpus", lambda: check_cpus(c, BOCHS_CMD_S, (2, 2, 0, 0, 128, 0), "VMX"))
        r.check(r.name + "-ipis", lambda: check_ipis_repeat(c, BOCHS_CMD_S))
        r.check(r.name + "-guests", lambda: check_guests(c, BOCHS_CMD_S))
        r.check(r.name + "-placed-guests", lambda: check_placed_guests(c, BOCHS_CMD_S, 2))
        r.check(r.name + "-wake-latency", lambda: check_wake_latency(c, BOCHS_CMD_S))
        r.check(r.name + "-wake-preempt", lambda: check_wake_preempt(c, BOCHS_CMD_S, 1))
        r.check(r.name + "-parallel", lambda: check_parallel(c, BOCHS_CMD_S, 2))
        r.check(r.name + "-balanced", lambda: check_balanced(c, BOCHS_CMD_S))
        r.check(r.name + "-refusals", lambda: check_refusals(c, BOCHS_CMD_S))
        r.check(r.name + "-stress", lambda: check_stress(c, BOCHS_CMD_S))
        r.check(r.name + "-isolation-8vms", lambda: vmm_tests.check_isolation(c, BOCHS_CMD_S, [1, 0]))
        r.check(r.name + "-move-gathered", lambda: check_move_gathered(c, BOCHS_CMD_S))
        r.check(r.name + "-dirty-elsewhere", lambda: check_dirty_elsewhere(c, BOCHS_CMD_S))


def local_timer_ticks(c):
    """The guest's per-CPU local timer interrupt counts (/proc/interrupts' LOC line)."""
    line = linux_guest.guest_value(c, "LOC", "awk '/LOC:/{print $2, $3}' /proc/interrupts", r"\d+( \d+)*", 60)
    return [int(x) for x in line.split()]


def shell_cmd(c, cmd, want):
    """Run a shoal command from inside the attached guest console (detach, run, attach again)."""
    return shell_value(c, lambda: require(want in c.command(cmd, QEMU_CMD_S), "%s: no %r" % (cmd, want)))


def shell_value(c, fn, t=QEMU_CMD_S, gap=0.03):
    """fn() at the shoal prompt, the guest console detached meanwhile and attached again after."""
    c.send("\x1d")
    c.expect(r"\[detached from g\]\nshoal> ", t, "the detach line")
    try:
        return fn()
    finally:
        c.send("vm console g\r")
        c.expect(r"attached to g", t, "the console attach line")
        time.sleep(1)
        type_slowly(c, "", gap)


def check_guest_clock(c, timed):
    """The 2-vCPU guest keeps time by a counter, not by counting its ticks: its clocksource is the TSC or the
    ACPI PM timer (it finds the emulator's TSCs unsynchronized and, without a PM timer, fell back to
    refined-jiffies, whose time ran 0.7x to 3.6x real time), and over the last run in timed (both vCPUs busy:
    the guest's seconds and this host's) its uptime advanced as this host's clock did. The host's interval
    holds the guest's, so the guest's may fall short by the shell's start-up and the echo, not exceed it."""
    cs = linux_guest.guest_value(c, "CLK", "cat /sys/devices/system/clocksource/clocksource0/current_clocksource",
                                 r"\S+", 60)
    require(cs in ("tsc", "acpi_pm"), "the guest keeps time by %s" % cs)
    require(timed, "no timed run to compare")
    guest_s, host_s = timed[-1]
    print("    guest clock (%s): %.2f s while this host's ran %.2f s" % (cs, guest_s, host_s), flush=True)
    require(0.8 * host_s <= guest_s <= 1.05 * host_s + 0.1, "the guest's clock ran %.2f s in %.2f s" % (
        guest_s, host_s))


def t_svm_linux_placed(r):
    """A 2-vCPU Linux guest placed on CPUs 1 and 0 (its boot vCPU off the boot CPU, which also keeps the I/O;
    two emulated CPUs, as the machines running the suite have two cores: with three, beside the other
    tiers' emulators, lock-holder preemption slowed its boot past the timeout): it boots (its second vCPU
    started by INIT/SIPI from the first, on another CPU), both vCPUs' timers tick, two sha256sum of its disk
    in parallel agree with the image, its clock keeps this host's time (check_guest_clock), and `reboot -f` (a reset from the boot CPU's poll loop, the registers
    loaded by each vCPU's own CPU) brings it up again on the same CPUs. Between: unpinned (`vm pin g any`)
    under the stress mode, its vCPUs moving after every slice, the two sums still agree and both timers tick;
    pinned again (`vm pin g 1,0`), they go back."""
    d, disk = GUEST + "/std", GUEST + "/disk.img"
    want = linux_guest.file_sha256(disk)
    with Console(r.name, r.logdir) as c:
        r.console = c
        linux_tests.start(r, c, [d + "/vmlinuz", d + "/initrd.img", disk], "1G",
                          ["-accel", "tcg,thread=multi", "-smp", "2"])

        def create():
            out = c.command("vm create g kernel=vmlinuz initrd=initrd.img mem=256M vcpus=2 disk=disk.img cpus=1,0",
                            QEMU_CMD_S)
            require("vm g created" in out, out)
            c.command("vm start g", QEMU_CMD_S)
            m = c.expect(r"SHOAL-GUEST-UP|vm g stopped: [^\n]*\n", GUEST_UP_S, "the guest's /init marker")
            require(m.group(0) == "SHOAL-GUEST-UP", m.group(0).strip())
        r.check(r.name + "-up", create)

        def attach():
            time.sleep(2)
            c.send("vm console g\r")
            c.expect(r"attached to g", QEMU_CMD_S, "the console attach line")
            type_slowly(c, "")
        r.check(r.name + "-console", attach)
        r.check(r.name + "-2-cpus", lambda: require(linux_guest.guest_value(
            c, "CPUS", "grep -c ^processor /proc/cpuinfo", r"\d+", 60) == "2", "guest does not see 2 CPUs"))

        def ticks():
            a = local_timer_ticks(c)
            time.sleep(3)
            b = local_timer_ticks(c)
            require(len(a) == 2 and all(y > x for x, y in zip(a, b)), "local timer ticks %s -> %s" % (a, b))
        r.check(r.name + "-both-timers", ticks)

        def parallel_sha():
            m, host_s = linux_guest.timed_line(
                c, "a=$(cut -d' ' -f1 /proc/uptime); (sha256sum /dev/vda > /tmp/a &); sha256sum /dev/vda > /tmp/b; "
                   "sleep 1; while pgrep sha256sum >/dev/null; do sleep 1; done; echo SH""A=$(cut -c1-64 /tmp/a),"
                   "$(cut -c1-64 /tmp/b),$a,$(cut -d' ' -f1 /proc/uptime)",
                r"SHA=([0-9a-f]{64}),([0-9a-f]{64}),([0-9.]+),([0-9.]+)\r?\n", GUEST_UP_S)
            require(m.group(1) == want and m.group(2) == want, "sums %s, %s; the image's %s" % (
                m.group(1), m.group(2), want))
            timed.append((float(m.group(4)) - float(m.group(3)), host_s))
        timed = []
        r.check(r.name + "-parallel-sha256", parallel_sha)
        r.check(r.name + "-clock", lambda: check_guest_clock(c, timed))
        r.check(r.name + "-io-handed", lambda: check_io_handed(c))

        def stress():
            shell_cmd(c, "vm pin g any", "vm g pinned to any CPU")
            shell_cmd(c, "sched stress on", "stress on")
            before = ticks_moves()
            parallel_sha()
            a = local_timer_ticks(c)
            time.sleep(3)
            b = local_timer_ticks(c)
            require(len(a) == 2 and all(y > x for x, y in zip(a, b)), "local timer ticks %s -> %s" % (a, b))
            moved = ticks_moves() - before
            require(moved >= 50, "only %d vCPU moves while the guest ran under the stress mode" % moved)
            shell_cmd(c, "sched stress off", "stress off")
            shell_cmd(c, "vm pin g 1,0", "vm g pinned to 1,0")
            print("    linux under stress: two sha256sum agree after %d vCPU moves" % moved, flush=True)

        def ticks_moves():
            return shell_value(c, lambda: sched(c, QEMU_CMD_S)[0])
        r.check(r.name + "-stress-sha256", stress)

        def reboot():
            type_slowly(c, "reboot -f")
            c.expect(r"Linux version", GUEST_UP_S, "the kernel booting again")
            c.expect(r"SHOAL-GUEST-UP", GUEST_UP_S, "the rebooted guest's /init marker")
            time.sleep(2)
            type_slowly(c, "")
            require(linux_guest.guest_value(c, "CPUS2", "grep -c ^processor /proc/cpuinfo", r"\d+", 60) == "2",
                    "the rebooted guest does not see 2 CPUs")
            c.send("\x1d")
            c.expect(r"\[detached from g\]\nshoal> ", QEMU_CMD_S, "the detach line")
            out = c.command("vm list", QEMU_CMD_S)
            require(re.search(r"^g\s+running\s.*\s1,0$", out, re.M), "g is not running on CPUs 1,0:\n" + out)
        r.check(r.name + "-reboot", reboot)
        r.check(r.name + "-destroy", lambda: require("destroyed" in c.command("vm destroy g", QEMU_CMD_S), "destroy"))


def t_vmx_linux_placed(r):
    """Under VMX (Bochs, 2 CPUs): a 2-vCPU Linux guest with vCPU 0 on the boot CPU and vCPU 1 on CPU 1 (its
    VMCS handed over between CPUs, its SIPI sent from the boot CPU to CPU 1) boots, sees both CPUs, both
    vCPUs' timers tick, and it keeps time by a counter (TSC or PM timer; Bochs's clock is not this host's, so
    no rate is compared); unpinned under the stress mode (each vCPU's VMCS cleared and loaded on the other CPU
    after every slice) two processes' sums are right and both timers tick; pinned again, they go back."""
    vm = linux_vmx_tests
    with Console(r.name, r.logdir) as c:
        r.console = c
        vm.bochs_start_iso(r, c, os.path.join(r.build, vm.ISO), vm.MEGS, cpus=2)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-up", lambda: (vm.create(c, "g", "mem=256M vcpus=2 cpus=0,1"), vm.wait_up(r, c, ["g"])))

        def attach():
            time.sleep(2)
            c.send("vm console g\r")
            c.expect(r"attached to g", BOCHS_CMD_S, "the console attach line")
            type_slowly(c, "", vm.GAP)
        r.check(r.name + "-console", attach)
        r.check(r.name + "-2-cpus", lambda: require(vm.value(c, "CPUS", "grep -c ^processor /proc/cpuinfo") == "2",
                                                    "guest does not see 2 CPUs"))

        def ticks():
            line = vm.value(c, "LOC", "awk '/LOC:/{print $2, $3}' /proc/interrupts", r"\d+( \d+)*")
            time.sleep(5)
            line2 = vm.value(c, "LOC2", "awk '/LOC:/{print $2, $3}' /proc/interrupts", r"\d+( \d+)*")
            a, b = [int(x) for x in line.split()], [int(x) for x in line2.split()]
            require(len(a) == 2 and all(y > x for x, y in zip(a, b)), "local timer ticks %s -> %s" % (a, b))
        r.check(r.name + "-both-timers", ticks)
        r.check(r.name + "-clock", lambda: require(vm.value(
            c, "CLK", "cat /sys/devices/system/clocksource/clocksource0/current_clocksource", r"\S+") in (
            "tsc", "acpi_pm"), "the guest keeps time by counting its ticks"))

        def stress():
            def at_shell(cmd, want):
                shell_value(c, lambda: require(want in c.command(cmd, BOCHS_CMD_S), "%s: no %r" % (cmd, want)),
                            BOCHS_CMD_S, vm.GAP)
            at_shell("vm pin g any", "vm g pinned to any CPU")
            at_shell("sched stress on", "stress on")
            before = shell_value(c, lambda: sched(c, BOCHS_CMD_S)[0], BOCHS_CMD_S, vm.GAP)
            want = hashlib.md5("".join("%d\n" % i for i in range(1, 3001)).encode()).hexdigest()
            sums = vm.value(c, "MD5", "for i in 1 2; do (seq 1 3000 | md5sum > /tmp/m$i &); done; sleep 1; "
                                      "while pgrep md5sum >/dev/null; do sleep 1; done; cut -c1-32 /tmp/m1 /tmp/m2 | "
                                      "tr '\\n' ,", r"[0-9a-f,]+")
            require(sums.split(",")[:2] == [want, want], "md5 of seq 1 3000 in two processes: %s, want %s" % (
                sums, want))
            ticks()
            moved = shell_value(c, lambda: sched(c, BOCHS_CMD_S)[0], BOCHS_CMD_S, vm.GAP) - before
            require(moved >= 20, "only %d vCPU moves while the guest ran under the stress mode" % moved)
            at_shell("sched stress off", "stress off")
            at_shell("vm pin g 0,1", "vm g pinned to 0,1")
            print("    linux under stress (VMX): both sums right after %d vCPU moves" % moved, flush=True)
        r.check(r.name + "-stress", stress)

        def placed():
            time.sleep(2)
            c.send("\x1d")
            c.expect(r"\[detached from g\]\nshoal> ", BOCHS_CMD_S, "the detach line")
            out = c.command("vm list", BOCHS_CMD_S)
            require(re.search(r"^g\s+running\s.*\s0,1$", out, re.M), "g is not running on CPUs 0,1:\n" + out)
            require("destroyed" in c.command("vm destroy g", BOCHS_CMD_S), "destroy")
        r.check(r.name + "-placed-destroy", placed)


def t_svm_clones_spread(r):
    """Three web guests cloned from the golden image over iSCSI (a host tgtd) boot at once, pinned over both
    CPUs (1, the boot CPU, which also keeps the network, iSCSI and the pool, and 1 again): each serves the
    page naming itself through QEMU's port forwards, and `vm list` shows each on its CPU. Two emulated CPUs,
    as many as the suite's machine has cores: with three beside another tier's emulator, the Linux guests
    stalled for minutes (host threads spinning on shoal's lock while its holder waits for a core)."""
    require(os.path.exists(pool_tests.GOLDEN), "no %s (make golden-image)" % pool_tests.GOLDEN)
    tgt = pool_tests.Target(tempfile.mkdtemp(prefix="shoal-smp-pool."))
    webs = {"web1": 1, "web2": 0, "web3": 1}
    ports = {n: free_port() for n in webs}
    fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-%s:80" % (p, pool_tests.WEBS[n]) for n, p in ports.items())
    try:
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("1G", ["-kernel", r.build + "/shoal.elf", "-accel", "tcg,thread=multi", "-smp", "2",
                                     "-netdev", "user,id=n0," + fwd, "-device", "e1000,netdev=n0"], cpu="EPYC"))
            boot_check(r, c, QEMU_BOOT_S)
            r.check(r.name + "-pool-add", lambda: pool_tests.pool_add(c, tgt))

            def boot_three():
                t0 = time.monotonic()
                for n, cpu in webs.items():
                    pool_tests.create_start(c, n, "cpus=%d" % cpu)
                pool_tests.wait_web_up(c, list(webs))
                print("    three clones on CPUs 1, 0, 1 up in %.0f s" % (time.monotonic() - t0), flush=True)
            r.check(r.name + "-three-up", boot_three)
            r.check(r.name + "-pages", lambda: pool_tests.page_names(ports))

            def placed():
                out = c.command("vm list", QEMU_CMD_S)
                for n, cpu in webs.items():
                    require(re.search(r"^%s\s+running\s.*\s%d$" % (n, cpu), out, re.M),
                            "%s is not running on CPU %d:\n%s" % (n, cpu, out))
            r.check(r.name + "-placed", placed)
    finally:
        tgt.stop()


TESTS = [("vmx-bochs-linux-placed", t_vmx_linux_placed), ("vmx-bochs-2cpus", t_vmx_2cpus), ("svm-qemu-4cpus", t_svm_4cpus), ("svm-qemu-maxcpus", t_svm_maxcpus),
         ("svm-qemu-maxcpus1", t_svm_maxcpus1), ("svm-qemu-linux-placed", t_svm_linux_placed),
         ("svm-qemu-clones-spread", t_svm_clones_spread)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "smp", required=("shoal.elf", "shoal.iso", "shoal-linux.iso", GUEST + "/std/vmlinuz")))

# vCPU core tests: every test guest under SVM+NPT (QEMU TCG) and VMX+EPT (Bochs), isolation, 8 VMs, fairness.
"""Usage: vmm_tests.py --build DIR [--jobs N] [--only REGEX]

One boot per vendor runs every built-in test guest (tests/guests/) through the `vm` shell command and
checks what the guest and shoal print. Logs: DIR/test-logs/vmm/NAME.console.log."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, TestFailure, require, qemu_argv, bochs_start, boot_check, main,  # noqa: E402
                     QEMU_BOOT_S, QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)

# Guests that print a line and exit 0 when everything they checked held.
SELF_CHECKING = [
    ("hello16", r"hello from real mode"), ("hello32", r"hello from 32-bit protected mode"),
    ("hello64", r"hello from 64-bit long mode"),
    ("cpuid16", r"cpuid ok"), ("cpuid32", r"cpuid ok"), ("cpuid64", r"cpuid ok"),
    ("msr64", r"msr ok"), ("ioecho16", r"port io ok"), ("ioecho32", r"port io ok"),
    ("mmio32", r"mmio ok"), ("mmio64", r"mmio ok"),
    ("timer16", r"timer ok"), ("timer32", r"timer ok"), ("timer64", r"timer ok"),
    ("vminsn32", r"vm instructions: VMXON -> #UD, VMRUN -> #UD"),
    ("misc32", r"misc ok: wbinvd, invd, xsetbv valid and invalid"),
]


def run_guest(c, t, name, guest, mem="4M"):
    out = c.command("vm create %s guest=%s mem=%s" % (name, guest, mem), t)
    require("created" in out, "vm create %s failed:\n%s" % (guest, out))
    c.command("vm start " + name, t)


def check_self(c, t, guest, marker):
    name = "g-" + guest
    run_guest(c, t, name, guest)
    c.expect(r"\[%s\] %s" % (re.escape(name), marker), t, "%s's success line" % guest)
    c.expect(r"vm %s stopped: exited with code 0" % re.escape(name), t, "%s to exit with 0" % guest)
    out = c.command("vm stats " + name, t)
    require(re.search(r"hypercall\s+\d+", out), "vm stats shows no per-reason counts:\n" + out)
    c.command("vm destroy " + name, t)


def check_triple(c, t):
    run_guest(c, t, "tf", "triple32")
    c.expect(r"vm tf stopped: triple fault \(shutdown\) on vCPU 0", t, "the triple-fault stop")
    c.expect(r"vm tf vcpu 0: RIP [0-9a-f]+", t, "the register dump")
    out = c.command("vm list", t)                       # the host goes on
    require(re.search(r"^tf\s+stopped", out, re.M), "vm list does not show tf stopped:\n" + out)
    c.command("vm destroy tf", t)


def check_bad_entry(c, t, why):
    run_guest(c, t, "be", "badentry32")
    c.expect(r"vm be stopped: VM entry failed: [^\n]*%s" % why, t, "the failed-entry stop naming the reason")
    out = c.command("info", t)
    require("virtualization:" in out, "host did not answer after a failed entry")
    c.command("vm destroy be", t)


WALKER_RAM = 0x400000          # mem=4M
PROBE_STEP, PROBE_END = 0x100000, 0xc0000000      # walker.S


def victim_rounds(c, t, names, after, what):
    """Wait until every victim in names reports a verified round numbered above after[name] (0 if absent);
    a victim reporting a changed word (report 3) fails at once. Returns the rounds seen."""
    seen = {}
    deadline = time.monotonic() + t
    while len(seen) < len(names):
        require(time.monotonic() < deadline, "only victims %s verified %s" % (sorted(seen), what))
        m = c.expect(r"\[(v\d)\] report ([23])=(\d+)\n", t, "victims verifying %s" % what)
        require(m.group(2) == "2", "victim %s found a word of its RAM changed at %#x" % (m.group(1), int(m.group(3))))
        if int(m.group(3)) > after.get(m.group(1), 0):
            seen[m.group(1)] = int(m.group(3))
    return seen


def walker_verdict(text):
    """Judge the walker's run from its console lines (text ends with its stop line): it never saw a
    victim's bytes and either finished every probe or was stopped at its very first one."""
    reports = {int(k): int(v) for k, v in re.findall(r"\[w\] report (\d+)=(\d+)\n", text)}
    require(reports.get(4) == 0, "the walker found %s words of a victim's pattern in its own RAM" % reports.get(4))
    require("[w] walker: pattern verified over all RAM" in text, "the walker's own pattern check failed:\n" + text[-400:])
    stop = re.search(r"vm w stopped: ([^\n]*)", text).group(1)
    if stop == "exited with code 0":                  # outside-RAM accesses ignored / read as all-ones
        want = (PROBE_END - WALKER_RAM) // PROBE_STEP + (1 in reports)
        require(reports.get(5) == 0, "the walker read %s words of a victim's pattern" % reports.get(5))
        require(reports.get(6) == 0, "%s of the walker's reads outside its RAM returned data" % reports.get(6))
        require(reports.get(7) == want, "the walker made %s probes, expected %d" % (reports.get(7), want))
        return "walker made %d probes outside its RAM, saw no data; reads all-ones or zero" % want
    first = reports[1] if 1 in reports else WALKER_RAM  # the first probe: the peer's address, else ram_end
    want = "read outside RAM at GPA %#x (RAM ends at %#x)" % (first, WALKER_RAM)
    require(stop == want, "the walker stopped for '%s', expected '%s'" % (stop, want))
    return "walker stopped at its first probe (%#x)" % first


def check_isolation(c, t):
    """7 victims pattern all of their RAM and re-verify it every 200 ms; a walker looks for their pattern
    in its own RAM, patterns its own, then reads and writes at another VM's host address and every MiB
    outside its RAM (8 VMs at once). The walker never sees a victim's bytes, is stopped (if at all) at
    its first access outside RAM, and every victim verifies all of its RAM again afterwards."""
    names = ["v%d" % i for i in range(7)]
    start = len(c.output())
    for n in names:
        run_guest(c, t, n, "victim32")
    before = victim_rounds(c, t, names, {}, "before the walker")
    wstart = len(c.output())
    run_guest(c, t, "w", "walker32")
    c.expect(r"vm w stopped: [^\n]*\n", t * 4, "the walker to stop")
    verdict = walker_verdict(c.output()[wstart:])
    after = victim_rounds(c, t, names, before, "after the walker")
    require(not re.search(r"^\[v\d\] report 3=", c.output()[start:], re.M), "a victim found its RAM changed")
    print("    isolation: %s; victims' rounds %s -> %s" % (verdict, before, after), flush=True)
    out = c.command("vm list", t)
    require(len(re.findall(r"^v\d\s+running", out, re.M)) == 7, "victims not all running:\n" + out)
    for n in names + ["w"]:
        c.command("vm destroy " + n, t)


def progress(c, t):
    """Each spin guest's work so far (its echo register: iterations / 65536)."""
    return {"s%d" % i: int(re.search(r"testdev: echo (\d+)", c.command("vm stats s%d" % i, t)).group(1))
            for i in range(4)}


def check_fairness(c, t, window_s):
    """4 compute guests share the CPU: each does 20-30% of the work done in a window. Work, not time:
    an emulator the host stalls would charge the stall to whichever guest was running."""
    for i in range(4):
        out = c.command("vm create s%d guest=spin32 mem=4M" % i, t)
        require("created" in out, out)
    for i in range(4):
        c.command("vm start s%d" % i, t)
    time.sleep(1)
    a = progress(c, t)
    time.sleep(window_s)
    b = progress(c, t)
    total = sum(b[k] - a[k] for k in b)
    require(total > 0, "the spin guests made no progress: %s -> %s" % (a, b))
    shares = {k: (b[k] - a[k]) * 100.0 / total for k in b}
    report = ", ".join("%s %.1f%%" % (k, v) for k, v in sorted(shares.items()))
    print("    fairness: shares of %d units of work: %s" % (total, report), flush=True)
    out = c.command("vm list", t)
    require(len(re.findall(r"^s\d\s+running", out, re.M)) == 4, "spin guests not all running:\n" + out)
    require(all(20.0 <= v <= 30.0 for v in shares.values()), "unfair shares: " + report)
    for i in range(4):
        c.command("vm destroy s%d" % i, t)


def check_badvirtio(c, t):
    """A guest drives virtio-blk with a looping descriptor chain pointing outside RAM, a 4 GiB buffer and
    a corrupt ring: each bad request fails alone, the ring corruption marks only that device NEEDS_RESET,
    the guest checks all that from inside and exits 0, and a neighbour VM runs on undisturbed."""
    run_guest(c, t, "nb", "victim32")
    c.expect(r"\[nb\] report 2=\d+\n", t, "the neighbour's first verified round")
    run_guest(c, t, "bv", "badvirtio64")
    c.expect(r"virtio-blk: malformed descriptor chain at head 0", t, "shoal's message about the bad chain")
    c.expect(r"virtio slot 0: request ring corrupt: device needs reset", t, "the NEEDS_RESET message")
    c.expect(r"\[bv\] badvirtio contained", t, "the guest's own verdict")
    c.expect(r"vm bv stopped: exited with code 0", t, "badvirtio64 to exit with 0")
    c.expect(r"\[nb\] report 2=\d+\n", t, "the neighbour verifying after the bad guest")
    out = c.command("vm list", t)
    require(re.search(r"^nb\s+running", out, re.M), "the neighbour is not running:\n" + out)
    c.command("vm destroy bv", t)
    c.command("vm destroy nb", t)


def check_fpu(c, t, rounds=3):
    """3 guests load x87, MXCSR and XMM/YMM patterns of their own and check them without end while the
    scheduler switches between them: each must verify its registers `rounds` more times after all run."""
    names = ["f%d" % i for i in range(3)]
    start = len(c.output())
    for n in names:
        run_guest(c, t, n, "fpu32")
    first, seen = {}, {}
    deadline = time.monotonic() + t
    while (len(seen) < len(names) or min(seen.values()) < rounds) and time.monotonic() < deadline:
        m = c.expect(r"\[(f\d)\] report ([23])=(\d+)\n", t, "the fpu guests' rounds")
        require(m.group(2) == "2", "guest %s found register %s changed (0-7 vector, 8 x87, 9 MXCSR)"
                % (m.group(1), m.group(3)))
        first.setdefault(m.group(1), int(m.group(3)))
        seen[m.group(1)] = int(m.group(3)) - first[m.group(1)]
    require(len(seen) == len(names) and min(seen.values()) >= rounds, "fpu guests stalled: %s" % seen)
    starts = re.findall(r"\[(f\d)\] fpu: checking ([^\n]+)\n", c.output()[start:])
    require(sorted(n for n, _ in starts) == names, "fpu start lines: %s" % starts)
    what = {w for _, w in starts}
    print("    fpu: %s; 3 guests, rounds of 4096 checks after all started: %s" % (", ".join(sorted(what)), seen),
          flush=True)
    out = c.command("vm list", t)
    require(len(re.findall(r"^f\d\s+running", out, re.M)) == 3, "fpu guests not all running:\n" + out)
    for n in names:
        c.command("vm destroy " + n, t)


def all_checks(r, c, t, why, window_s):
    for guest, marker in SELF_CHECKING:
        r.check("%s-%s" % (r.name, guest), lambda g=guest, m=marker: check_self(c, t, g, m))
    r.check(r.name + "-triple-fault", lambda: check_triple(c, t))
    r.check(r.name + "-failed-entry", lambda: check_bad_entry(c, t, why))
    r.check(r.name + "-isolation-8vms", lambda: check_isolation(c, t))
    r.check(r.name + "-badvirtio", lambda: check_badvirtio(c, t))
    r.check(r.name + "-fairness", lambda: check_fairness(c, t, window_s))
    r.check(r.name + "-fpu-3vms", lambda: check_fpu(c, t))


def t_svm(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"], cpu="EPYC"))   # EPYC: SVM, NPT and XSAVE under TCG
        boot_check(r, c, QEMU_BOOT_S)
        r.check(r.name + "-backend", lambda: require("virtualization: SVM+NPT" in c.command("info", QEMU_CMD_S),
                                                     "not SVM+NPT"))
        all_checks(r, c, QEMU_CMD_S, "VMEXIT_INVALID", 3)


def t_vmx(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-backend", lambda: require("virtualization: VMX+EPT" in c.command("info", BOCHS_CMD_S),
                                                     "not VMX+EPT"))
        all_checks(r, c, BOCHS_CMD_S, "invalid guest state", 3)


TESTS = [("vmx-bochs", t_vmx), ("svm-qemu", t_svm)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "vmm", ("shoal.elf", "shoal.iso")))

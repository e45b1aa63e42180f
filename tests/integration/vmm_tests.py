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


def run_guest(c, t, name, guest, mem="4M", extra=""):
    out = c.command(("vm create %s guest=%s mem=%s " % (name, guest, mem) + extra).strip(), t)
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


def check_triple_reset(c, t):
    """A guest whose platform can reboot (reboot64) triple-faults: it is reset (devices, vCPU, image) and
    boots again with its RAM kept, instead of being stopped; nothing of the failed delivery is left over."""
    run_guest(c, t, "rb", "reboot64")
    c.expect(r"\[rb\] reboot: first boot, triple-faulting", t, "reboot64's first boot")
    c.expect(r"\[rb\] reboot: booted again after the triple fault", t, "reboot64's second boot")
    c.expect(r"vm rb stopped: exited with code 0", t, "reboot64 to exit with 0")
    c.command("vm destroy rb", t)


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
    victim's bytes and finished every probe."""
    reports = {int(k): int(v) for k, v in re.findall(r"\[w\] report (\d+)=(\d+)\n", text)}
    require(reports.get(4) == 0, "the walker found %s words of a victim's pattern in its own RAM" % reports.get(4))
    require("[w] walker: pattern verified over all RAM" in text, "the walker's own pattern check failed:\n" + text[-400:])
    stop = re.search(r"vm w stopped: ([^\n]*)", text).group(1)
    # Accesses outside RAM read all-ones and drop writes (vmm/mmio.c): the walker makes every probe.
    require(stop == "exited with code 0", "the walker stopped for '%s', expected it to exit with 0" % stop)
    want = (PROBE_END - WALKER_RAM) // PROBE_STEP + (1 in reports)
    require(reports.get(5) == 0, "the walker read %s words of a victim's pattern" % reports.get(5))
    require(reports.get(6) == 0, "%s of the walker's reads outside its RAM returned data" % reports.get(6))
    require(reports.get(7) == want, "the walker made %s probes, expected %d" % (reports.get(7), want))
    return "walker made %d probes outside its RAM, saw no data" % want


def check_isolation(c, t, cpus=None):
    """7 victims pattern all of their RAM and re-verify it every 200 ms; a walker looks for their pattern
    in its own RAM, patterns its own, then reads and writes at another VM's host address and every MiB
    outside its RAM (8 VMs at once). The walker never sees a victim's bytes or any data outside its RAM,
    and every victim verifies all of its RAM again afterwards. cpus: VM i (the walker last) is pinned to
    cpus[i % len(cpus)]."""
    names = ["v%d" % i for i in range(7)]
    place = (lambda i: "cpus=%d" % cpus[i % len(cpus)]) if cpus else (lambda i: "")
    start = len(c.output())
    for i, n in enumerate(names):
        run_guest(c, t, n, "victim32", extra=place(i))
    before = victim_rounds(c, t, names, {}, "before the walker")
    wstart = len(c.output())
    run_guest(c, t, "w", "walker32", extra=place(len(names)))
    c.expect(r"vm w stopped: [^\n]*\n", t * 4, "the walker to stop")
    verdict = walker_verdict(c.output()[wstart:])
    after = victim_rounds(c, t, names, before, "after the walker")
    require(not re.search(r"^\[v\d\] report 3=", c.output()[start:], re.M), "a victim found its RAM changed")
    print("    isolation: %s; victims' rounds %s -> %s" % (verdict, before, after), flush=True)
    out = c.command("vm list", t)
    require(len(re.findall(r"^v\d\s+running", out, re.M)) == 7, "victims not all running:\n" + out)
    for n in names + ["w"]:
        c.command("vm destroy " + n, t)


def check_unassigned(c, t):
    """Reads of unassigned guest-physical space return all-ones at every width, writes are dropped, and
    `vm stats` counts exactly the guest's 5 reads and 3 writes."""
    run_guest(c, t, "un", "unassigned64")
    c.expect(r"\[un\] unassigned ok", t, "the guest's own check of the values")
    c.expect(r"vm un stopped: exited with code 0", t, "unassigned64 to exit with 0")
    out = c.command("vm stats un", t)
    require(re.search(r"unassigned reads 5, writes 3\b", out), "vm stats does not count 5 reads, 3 writes:\n" + out)
    c.command("vm destroy un", t)


def check_no_test_hypercalls(c, t):
    """A guest without the test hypercalls (nohc64 gives them up, as a Linux guest never has them) gets #UD
    for VMCALL/VMMCALL with RAX and RIP untouched: its #UD handler leaves 0x600d (24589) in the echo port."""
    run_guest(c, t, "nh", "nohc64")
    deadline = time.monotonic() + t
    out = ""
    while time.monotonic() < deadline and "echo 24589" not in out and "echo 2989" not in out and \
            "stopped" not in out:
        time.sleep(0.5)
        out = c.command("vm stats nh", t)
    require("testdev: echo 24589" in out, "nohc64's VMCALL was not #UD with RAX and RIP kept:\n" + out)
    require(re.search(r"vm nh: running, ", out), "nohc64 is not running halted:\n" + out)
    c.command("vm destroy nh", t)


def check_chatty(c, t):
    """A guest prints 200 KB at once: its console buffer drops what it cannot hold and says how much, the
    shell answers meanwhile, and the terminal-title escape in its last line never reaches the terminal."""
    start = len(c.output())
    run_guest(c, t, "ch", "chatty64")
    require("virtualization:" in c.command("info", t), "the host did not answer during the flood")
    c.expect(r"vm ch stopped: exited with code 0", t, "chatty64 to exit with 0 (its queue flushed first)")
    text = c.output()[start:]
    require(re.search(r"^\[ch: \d+ bytes dropped\]$", text, re.M), "no note of what the flood dropped")
    require(re.search(r"^\[ch\] chatty: done$", text, re.M), "the last line, without its escape, is missing")
    require("pwned" not in text and "\x1b]" not in text, "the guest's OSC sequence reached the terminal")
    c.command("vm destroy ch", t)


def check_hostile(c, t, sweep_s):
    """hostile64 beside a victim: port I/O, MSR and MMIO sweeps with random values over every device (it
    has the Linux device set) and unassigned space, then a triple fault. The shell answers after each
    phase, the victim keeps verifying its RAM, and hostile64 is stopped for the triple fault."""
    run_guest(c, t, "vh", "victim32")
    c.expect(r"\[vh\] report 2=\d+\n", t, "the victim's first verified round")
    start, t0 = len(c.output()), time.monotonic()
    run_guest(c, t, "hx", "hostile64", mem="8M")
    for phase in ("ports", "msrs", "mmio"):
        c.expect(r"\[hx\] hostile: %s done" % phase, sweep_s, "hostile64's %s sweep" % phase)
        if phase == "mmio":
            c.expect(r"vm hx stopped: triple fault \(shutdown\) on vCPU 0", t, "hostile64 stopped for its triple fault")
        require("virtualization:" in c.command("info", t), "the host did not answer after the %s sweep" % phase)
    c.expect(r"\[vh\] report 2=\d+\n", t, "the victim verifying after hostile64")
    out = c.command("vm list", t)
    require(re.search(r"^vh\s+running", out, re.M), "the victim is not running:\n" + out)
    require(not re.search(r"\[vh\] report 3=", c.output()), "the victim found its RAM changed")
    out = c.command("vm stats hx", t)
    m = re.search(r"unassigned reads (\d+), writes (\d+)", out)
    require(m and int(m.group(1)) >= 4096 and int(m.group(2)) >= 4096, "hostile64's unassigned counts:\n" + out)
    text = c.output()[start:]
    lines = len(re.findall(r"vm hx: (read|write) of unassigned GPA", text))      # rate-limited log
    require(5 <= lines <= 5 + time.monotonic() - t0 + 1,
            "%d log lines for %s unassigned reads/writes (5, then one a second)" % (lines, m.groups()))
    c.command("vm destroy hx", t)
    c.command("vm destroy vh", t)


def check_scrub(c, t, mib):
    """Destroying a VM zeroes its RAM before the page allocator has it back (the unit tier proves no page
    goes back dirty); here: the host says so for a guest of mib MiB, and how long that took."""
    out = c.command("vm create big guest=hello64 mem=%dM" % mib, t)
    require("created" in out, "vm create big failed:\n" + out)
    out = c.command("vm destroy big", t)
    m = re.search(r"vm big: scrubbed %d MiB of RAM in (\d+) ms" % mib, out)
    require(m, "no scrub line for big's %d MiB:\n%s" % (mib, out))
    print("    scrub: %d MiB in %s ms" % (mib, m.group(1)), flush=True)


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


# What shoal must log about badvirtio64's virtio-blk, in this order and nothing else: each fault it provokes.
BADVIRTIO_FAULTS = [
    "malformed descriptor chain at head 0 of queue 0: buffer outside RAM",
    "malformed descriptor chain at head 2 of queue 0: buffer longer than 16 MiB",
    "malformed descriptor chain at head 3 of queue 0: descriptor loop",
    "malformed descriptor chain at head 5 of queue 0: indirect table inside an indirect table",
    "queue 0 ring corrupt (avail index more than the queue size ahead): device needs reset",
    "queue set up outside RAM, misaligned or with a bad size: device needs reset",
]


def check_badvirtio(c, t):
    """A guest drives virtio-blk with hostile chains (outside RAM, 4 GiB, a loop, a nested indirect table),
    stops and resizes its queue to 0 with a read posted, then with a read in flight (its disk completes at the
    host's next poll: the completion must write nothing), corrupts the avail index and enables a queue of
    size 0: shoal names each fault (exactly BADVIRTIO_FAULTS), each bad chain fails alone, the stopped queue
    is left alone, the guest checks all that from inside and exits 0, and a neighbour VM runs undisturbed."""
    run_guest(c, t, "nb", "victim32")
    c.expect(r"\[nb\] report 2=\d+\n", t, "the neighbour's first verified round")
    start = len(c.output())
    run_guest(c, t, "bv", "badvirtio64")
    m = c.expect(r"vm bv stopped: ([^\n]*)\n", t, "badvirtio64 to stop")
    text = c.output()[start:m.end()]
    faults = re.findall(r"WARN vm bv: virtio-blk slot 0: ([^\n]*)\n", text)
    step = re.search(r"\[bv\] report 1=(\d+)", text)
    require(m.group(1) == "exited with code 0", "bv stopped with %r, not exit 0%s" % (
        m.group(1), " (its own check failed at step %s)" % step.group(1) if step else ""))
    require(faults == BADVIRTIO_FAULTS, "shoal's fault lines for bv:\n  got  %s\n  want %s" % (faults, BADVIRTIO_FAULTS))
    require("[bv] badvirtio contained" in text, "the guest's own verdict is missing")
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


def storm_work(c, t, names):
    """Each named guest's work so far: its echo register (iterations / 65536), from `vm stats`."""
    return {n: int(re.search(r"testdev: echo (\d+)", c.command("vm stats " + n, t)).group(1)) for n in names}


def shoal_ms(c, t):
    """shoal's own clock (ms since boot), from `vm list`: the emulators run slower than the wall clock."""
    return int(re.search(r"time (\d+) ms", c.command("vm list", t)).group(1))


def check_timer_storm(c, t, window_ms=4000, stall_ms=2000):
    """A guest programs its LAPIC timer periodic with the smallest count (storm32) beside a compute guest
    (spin32) and a guest that verifies its RAM every 200 ms (victim32). For window_ms of shoal's time the
    compute guest must do at least 40% of the work both do (the storm's timer is bounded and CPU time is
    shared fairly), and the victim's rounds never stop for more than stall_ms."""
    run_guest(c, t, "sv", "spin32")
    run_guest(c, t, "vr", "victim32")
    c.expect(r"\[vr\] report 2=\d+\n", t, "the victim's first round")
    run_guest(c, t, "st", "storm32")
    a = storm_work(c, t, ("sv", "st"))
    start = changed = shoal_ms(c, t)
    ticks0 = ([0] + [int(x) for x in re.findall(r"\[st\] report 5=(\d+)\n", c.output())])[-1]
    seen, stall, now = None, 0, start
    while now - start < window_ms:
        time.sleep(0.2)
        now = shoal_ms(c, t)
        rounds = re.findall(r"\[vr\] report 2=(\d+)\n", c.output())[-1]
        if rounds != seen:
            seen, changed = rounds, now
        stall = max(stall, now - changed)
    b = storm_work(c, t, ("sv", "st"))
    ticks = ([0] + [int(x) for x in re.findall(r"\[st\] report 5=(\d+)\n", c.output())])[-1]
    done = {k: b[k] - a[k] for k in b}
    share = done["sv"] * 100.0 / max(1, sum(done.values()))
    print("    timer storm, %d ms of shoal's time: compute guest %.1f%% of the work (%s); victim's longest "
          "stall %d ms; storm timer about %d interrupts/s" % (now - start, share, done, stall,
                                                              (ticks - ticks0) * 1000 // max(1, now - start)),
          flush=True)
    require(stall <= stall_ms, "the victim's rounds stopped for %d ms beside the timer storm" % stall)
    require(share >= 40.0, "the compute guest did only %.1f%% of the work beside the storm" % share)
    for n in ("st", "sv", "vr"):
        c.command("vm destroy " + n, t)


# `vm create` arguments that are wrong, and words the answer must hold: the value and why it is refused.
CREATE_ERRORS = [
    ("d guest=hello64 mem=999999G", [r"mem=999999G", r"more than the host's free memory \(\d+ MiB\)"]),
    ("d guest=hello64 mem=1K", [r"mem=1K", r"less than"]),
    ("d guest=hello64 mem=lots", [r"mem=lots", r"not a size"]),
    ("bad!name guest=hello64", [r"name 'bad!name'", r"letters, digits"]),
    ("d guest=nosuch", [r"guest=nosuch", r"no such test guest"]),
    ("twice guest=hello64", [r"name 'twice' is taken"]),
    ("k kernel=nosuch", [r"kernel=nosuch", r"no such boot module"]),
    ("k kernel=nosuch vcpus=9", [r"vcpus=9", r"1\.\.4"]),
    ("k kernel=nosuch mem=16M", [r"mem=16M", r"less than the 72 MiB"]),
]


def check_create_errors(c, t):
    """Each wrong `vm create` argument is refused with one line naming the value and the reason, and
    leaves no VM behind."""
    out = c.command("vm create twice guest=hello64 mem=4M", t)
    require("created" in out, out)
    for args, words in CREATE_ERRORS:
        out = c.command("vm create " + args, t)
        lines = [l for l in out.splitlines() if l.strip()]
        require(len(lines) == 1 and lines[0].startswith("error: "), "vm create %s: not one error line:\n%s"
                % (args, out))
        for w in words:
            require(re.search(w, lines[0]), "vm create %s: %r does not say %r" % (args, lines[0], w))
    out = c.command("vm list", t)
    require(re.findall(r"^\S+(?=\s+(?:created|running|stopped|paused))", out, re.M) == ["twice"],
            "vm create left VMs behind:\n" + out)
    c.command("vm destroy twice", t)


def all_checks(r, c, t, why, window_s):
    for guest, marker in SELF_CHECKING:
        r.check("%s-%s" % (r.name, guest), lambda g=guest, m=marker: check_self(c, t, g, m))
    r.check(r.name + "-triple-fault", lambda: check_triple(c, t))
    r.check(r.name + "-triple-fault-reset", lambda: check_triple_reset(c, t))
    r.check(r.name + "-failed-entry", lambda: check_bad_entry(c, t, why))
    r.check(r.name + "-isolation-8vms", lambda: check_isolation(c, t))
    r.check(r.name + "-unassigned-gpa", lambda: check_unassigned(c, t))
    r.check(r.name + "-no-test-hypercalls", lambda: check_no_test_hypercalls(c, t))
    r.check(r.name + "-console-flood", lambda: check_chatty(c, t))
    r.check(r.name + "-hostile", lambda: check_hostile(c, t, 20 * t))
    mib = 256 if r.name.startswith("svm") else 64            # Bochs has less memory
    r.check(r.name + "-scrub", lambda: check_scrub(c, t, mib))
    r.check(r.name + "-badvirtio", lambda: check_badvirtio(c, t))
    r.check(r.name + "-fairness", lambda: check_fairness(c, t, window_s))
    r.check(r.name + "-fpu-3vms", lambda: check_fpu(c, t))
    r.check(r.name + "-timer-storm", lambda: check_timer_storm(c, t))
    r.check(r.name + "-create-errors", lambda: check_create_errors(c, t))


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


def planter_rounds(c, t, name, more):
    """Wait for `more` further clean rounds of a register-checking guest (report 2=N); its report 3 fails."""
    seen = 0
    while seen < more:
        m = c.expect(r"\[%s\] report ([23])=(\d+)\n" % re.escape(name), t, "%s's rounds" % name)
        require(m.group(1) == "2", "%s found its register %s changed (0-15 vector, 16-19 DR0-3, 20 DR6, 21 opmask, 22 YMM16-31, 23 DR7)"
                % (name, m.group(2)))
        seen += 1


def check_plant(c, t):
    """Register planting: plantset64 loads XMM/YMM0-15, DR0-3 and DR6 with a pattern and halts; then
    plantget64, leaving XCR0 at 1, looks for those values in its XMM and debug registers and, after
    enabling AVX, in its YMM upper halves. It must see none of them, and the planter keeps its own."""
    start = len(c.output())
    run_guest(c, t, "pa", "plantset64")
    what = c.expect(r"\[pa\] plant: (\w+)0-15, DR0-3 and DR6 planted", t, "the planter's line").group(1)
    if re.search(r"\[pa\] plant: also YMM16-31 and k1-7", c.output()[start:]):
        what += " + AVX-512"
    planter_rounds(c, t, "pa", 1)
    run_guest(c, t, "pb", "plantget64")
    verdict = c.expect(r"\[pb\] plant: ([^\n]+)\n", t, "the looker's verdict").group(1)
    found = dict(re.findall(r"\[pb\] report ([56789])=(\d+)", c.output()[start:]))
    print("    plant: planter %s; the looker found XMM %s/16, YMM upper %s/16, debug %s/6, opmask %s/7, "
          "YMM16-31 %s/16 of its values" % (what, found.get("5"), found.get("6", "n/a"), found.get("7"),
                                            found.get("8", "n/a"), found.get("9", "n/a")), flush=True)
    require(found.get("5") == "0" and found.get("7") == "0" and all(found.get(k, "0") == "0" for k in "689"),
            "another VM's register values are visible: %s (5=XMM, 6=YMM upper, 7=debug, 8=opmask, "
            "9=YMM16-31)" % found)
    require(verdict.startswith("none of"), "the looker's verdict: " + verdict)
    c.expect(r"vm pb stopped: exited with code 0", t, "plantget64 to exit with 0")
    planter_rounds(c, t, "pa", 3)
    c.command("vm destroy pb", t)
    c.command("vm destroy pa", t)


def check_xcr0_drop(c, t):
    """Regression (XRSTOR after a reset): xsetbvdrop64 drops XCR0 to 1 while its saved area holds AVX
    state, beside a spinning neighbour so that its registers are saved and restored each time it halts;
    the host must not fault, the old YMM values must not come back, and the neighbour keeps running."""
    run_guest(c, t, "xn", "spin32")
    run_guest(c, t, "xd", "xsetbvdrop64")
    m = c.expect(r"\[xd\] (xsetbvdrop ok|report 3=\d+|xsetbvdrop: [^\n]+)", t, "xsetbvdrop64's verdict")
    require(m.group(1) == "xsetbvdrop ok", "xsetbvdrop64: %s (3=N: N YMM registers kept the dropped values)"
            % m.group(1))
    c.expect(r"vm xd stopped: exited with code 0", t, "xsetbvdrop64 to exit with 0")
    out = c.command("vm list", t)
    require(re.search(r"^xn\s+running", out, re.M), "the neighbour is not running:\n" + out)
    c.command("vm destroy xd", t)
    c.command("vm destroy xn", t)


def check_xsetbv(c, t):
    """xsetbv64 tries every XCR0 value the SDM's XSETBV refuses: each must be a #GP in the guest (never
    a host fault when the value reaches the hardware), then the full offered mask must be accepted."""
    run_guest(c, t, "xb", "xsetbv64")
    m = c.expect(r"\[xb\] (xsetbv ok[^\n]*|xsetbv[^\n]*|report 3=\d+)\n", t, "xsetbv64's verdict")
    require(m.group(1).startswith("xsetbv ok"), "xsetbv64: %s (report 3=N: refused value N was accepted)"
            % m.group(1))
    mask = re.search(r"\[xb\] report 4=(\d+)", c.output())
    print("    xsetbv: offered XCR0 mask %s" % (hex(int(mask.group(1))) if mask else "?"), flush=True)
    c.expect(r"vm xb stopped: exited with code 0", t, "xsetbv64 to exit with 0")
    require("virtualization:" in c.command("info", t), "the host did not answer after xsetbv64")
    c.command("vm destroy xb", t)


def check_hlt_wake(c, t):
    """Regression (lost HLT wake-up): hltwake64 halts 64000 times on short one-shot timers that land at
    every point of the host's HLT handling; a wake-up lost between its interrupt check and the halt
    leaves the guest asleep for good and this check times out."""
    run_guest(c, t, "hw", "hltwake64")
    done = 0
    while True:                  # each step (8192 wake-ups) within t: a lost wake-up stalls it for good
        m = c.expect(r"\[hw\] (report 2=(\d+)|hltwake ok)", t,
                     "hltwake64's next 8192 wake-ups after %d (a lost one leaves it asleep)" % done)
        if m.group(1) == "hltwake ok":
            break
        done = int(m.group(2))
    c.expect(r"vm hw stopped: exited with code 0", t, "hltwake64 to exit with 0")
    c.command("vm destroy hw", t)


def check_specctrl(c, t):
    """specctrl64: SPEC_CTRL, PRED_CMD and RDTSCP work exactly when the guest's CPUID offers them; `info`
    names each mitigation; where the CPU has IBPB, two VMs taking turns raise the host's IBPB count, and
    where `info` says IBPB is not available the guest's CPUID does not offer it either."""
    start = len(c.output())
    run_guest(c, t, "sc", "specctrl64")
    m = c.expect(r"\[sc\] (specctrl ok|specctrl WRONG)", t, "specctrl64's verdict")
    rep = dict(re.findall(r"\[sc\] report ([356])=(\d+)", c.output()[start:]))
    offer = int(rep.get("5", "0"))
    require(m.group(1) == "specctrl ok", "specctrl64 disagrees with its CPUID at step %s (1 SPEC_CTRL read, "
            "2 SPEC_CTRL write, 3 PRED_CMD, 4 RDTSCP, 5 TSC_AUX); CPUID offered %#x" % (rep.get("3"), offer))
    c.expect(r"vm sc stopped: exited with code 0", t, "specctrl64 to exit with 0")
    c.command("vm destroy sc", t)
    info = c.command("info", t)
    mit = re.search(r"^mitigations: ibpb-on-vm-switch (yes|not available) \((\d+) issued\)([^\n]*)", info, re.M)
    require(mit, "info names no mitigations:\n" + info)
    print("    mitigations: %s; guest CPUID offered %#x (1 SPEC_CTRL, 2 IBPB, 4 RDTSCP)%s"
          % (mit.group(0)[len("mitigations: "):], offer,
             "; hidden RDTSCP ran anyway (intercept not honoured), TSC_AUX 0" if rep.get("6") else ""), flush=True)
    if mit.group(1) == "not available":
        require(not offer & 2, "info says no IBPB but the guest's CPUID offers it")
        return
    before = after = int(mit.group(2))
    run_guest(c, t, "s0", "spin32")
    run_guest(c, t, "s1", "spin32")
    deadline = time.monotonic() + t
    while after <= before + 10 and time.monotonic() < deadline:
        time.sleep(1)
        after = int(re.search(r"ibpb-on-vm-switch yes \((\d+) issued\)", c.command("info", t)).group(1))
    print("    ibpb: two VMs taking turns: %d barriers" % (after - before), flush=True)
    require(after > before + 10, "two VMs taking turns issued only %d IBPBs in %d s" % (after - before, t))
    c.command("vm destroy s0", t)
    c.command("vm destroy s1", t)


def cpu_checks(r, c, t):
    r.check(r.name + "-plant", lambda: check_plant(c, t))
    r.check(r.name + "-xcr0-drop", lambda: check_xcr0_drop(c, t))
    r.check(r.name + "-xsetbv", lambda: check_xsetbv(c, t))
    r.check(r.name + "-hlt-wake", lambda: check_hlt_wake(c, t))
    r.check(r.name + "-specctrl", lambda: check_specctrl(c, t))


def t_svm_cpu(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"], cpu="EPYC"))
        boot_check(r, c, QEMU_BOOT_S)
        cpu_checks(r, c, QEMU_CMD_S)


def t_vmx_cpu(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c)
        boot_check(r, c, BOCHS_BOOT_S)
        cpu_checks(r, c, BOCHS_CMD_S)


def t_vmx_spec(r):
    """Bochs's Tiger Lake model offers IBPB, SPEC_CTRL and MD_CLEAR (skylake_x and QEMU TCG offer none)."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c, model="tigerlake")
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-specctrl", lambda: check_specctrl(c, BOCHS_CMD_S))


TESTS = [("vmx-bochs", t_vmx), ("svm-qemu", t_svm), ("vmx-bochs-cpu", t_vmx_cpu), ("svm-qemu-cpu", t_svm_cpu),
         ("vmx-bochs-spec", t_vmx_spec)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "vmm", ("shoal.elf", "shoal.iso")))

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


def check_isolation(c, t):
    """7 victims fill their RAM; a walker fills its own, writes at a victim's host address, then
    past its RAM: it is stopped and every victim keeps verifying its pattern (8 VMs at once)."""
    for i in range(7):
        run_guest(c, t, "v%d" % i, "victim32")
    first = set()
    while len(first) < 7:
        first.add(c.expect(r"\[v(\d)\] report 2=\d+\n", t, "every victim's verified rounds").group(1))
    run_guest(c, t, "w", "walker32")
    c.expect(r"\[w\] walker: pattern verified over all RAM", t, "the walker's own pattern check")
    c.expect(r"vm w stopped: write outside RAM at GPA 0x400000 \(RAM ends at 0x400000\)", t,
             "the walker stopped at the first byte past its RAM")
    seen = {}
    deadline = time.monotonic() + t
    while len(seen) < 7 and time.monotonic() < deadline:     # every victim verifies again afterwards
        m = c.expect(r"\[v(\d)\] report ([23])=(\d+)\n", t, "victims reporting after the walker")
        require(m.group(2) == "2", "victim v%s found its pattern changed at %s" % (m.group(1), m.group(3)))
        seen[m.group(1)] = int(m.group(3))
    require(len(seen) == 7, "only victims %s verified after the walker" % sorted(seen))
    out = c.command("vm list", t)
    require(len(re.findall(r"^v\d\s+running", out, re.M)) == 7, "victims not all running:\n" + out)
    for i in range(7):
        c.command("vm destroy v%d" % i, t)
    c.command("vm destroy w", t)


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

# Dirty-page tracking: `vm dirty` over the dirtier32 test guest under SVM+NPT (QEMU TCG) and VMX+EPT (Bochs).
"""Usage: dirty_tests.py --build DIR [--jobs N] [--only REGEX]

dirtier32 (tests/guests/dirtier.S) writes in rounds paced by `vm dirty NAME collect`: pages drawn from a
seed it reports, nothing, then its whole region. Each collect must report exactly the pages the guest
wrote in that round plus its stack page (each hypercall pushes a return address there): the test draws
the same pages from the seed and compares the page list and its SHA-256. Logs: DIR/test-logs/dirty/."""

import hashlib
import os
import re
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, require, qemu_argv, bochs_start, boot_check, main,  # noqa: E402
                     QEMU_BOOT_S, QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)
import linux_guest  # noqa: E402
import linux_tests  # noqa: E402
import linux_vmx_tests  # noqa: E402

REGION, NPAGES, WRITES = 0x400000 >> 12, 512, 64       # dirtier.S
MEM_PAGES = (8 << 20) >> 12                            # mem=8M


def xorshift32(x):
    x ^= (x << 13) & 0xffffffff
    x ^= x >> 17
    return x ^ ((x << 5) & 0xffffffff)


def drawn(state):
    """The pages one random round of dirtier32 writes from xorshift state `state`, and the next state."""
    pages = set()
    for _ in range(WRITES):
        state = xorshift32(state)
        pages.add(REGION + (state & (NPAGES - 1)))
    return pages, state


def digest(pages):
    return hashlib.sha256(b"".join(struct.pack("<Q", p) for p in sorted(pages))).hexdigest()


def collect(c, t, name, allow=frozenset(), seen=None, listing=True):
    """`vm dirty NAME collect [list]`: the set of pages (with listing), checked against the count and hash
    printed, and (tracking was started with `check`) no page may have changed without being in it, but
    those in allow (added to the set seen when given). Returns (pages or None, count)."""
    out = c.command("vm dirty %s collect%s" % (name, " list" if listing else ""), t)
    m = re.search(r"^vm %s dirty: (\d+) pages sha256 ([0-9a-f]{64})$" % re.escape(name), out, re.M)
    require(m, "vm dirty collect printed no summary:\n" + out)
    chk = re.search(r"^vm %s dirty check: (no page changed unmarked|(\d+) pages changed unmarked:([ 0-9a-fx]*))$"
                    % re.escape(name), out, re.M)
    require(chk, "no check line:\n" + out)
    missed = {int(x, 16) for x in (chk.group(3) or "").split()}
    require(len(missed) == int(chk.group(2) or 0) and missed <= allow,
            "pages changed without being reported: " + chk.group(1))
    if seen is not None:
        seen |= missed
    if not listing:
        return None, int(m.group(1))
    pages = {int(x, 16) for line in re.findall(r"^  pages ([^\n]*)$", out, re.M) for x in line.split()}
    require(len(pages) == int(m.group(1)) and digest(pages) == m.group(2),
            "the listed pages disagree with the count or hash printed:\n" + out)
    return pages, m.group(2)


def wait_round(c, t, name, r, start):
    """dirtier32 said round r is written (maybe already inside an earlier command's output)."""
    pat = r"\[%s\] report 6=%d\n" % (re.escape(name), r)
    if not re.search(pat, c.output()[start:]):
        c.expect(pat, t, "%s's round %d" % (name, r))


def same(got, want, what):
    require(got == want, "%s: %d pages reported, %d expected; missing %s; not written %s" % (
        what, len(got), len(want), sorted(hex(p) for p in want - got)[:16], sorted(hex(p) for p in got - want)[:16]))


def check_errors(c, t):
    out = c.command("vm dirty nosuch start", t)
    require("no VM named 'nosuch'" in out, "vm dirty on a missing VM: " + out)
    out = c.command("vm dirty dt collect", t)
    require(re.search(r"error: vm dirty dt: collect: tracking is not on", out), "collect before start: " + out)
    out = c.command("vm dirty dt sideways", t)
    require("usage: vm dirty NAME start [check]|collect [list]|stop" in out, "a bad subcommand: " + out)


def check_rounds(c, t, placement=""):
    """The rounds above; placement (e.g. "cpus=1") puts dirtier32 on another CPU than the shell's: the
    protection the shell's CPU adds must then be flushed there too (vm_tlb_shootdown)."""
    start = len(c.output())
    require("created" in c.command("vm create dt guest=dirtier32 mem=8M " + placement, t),
            "vm create dirtier32 failed")
    check_errors(c, t)
    c.command("vm start dt", t)
    wait_round(c, t, "dt", 0, start)
    rep = dict((int(k), int(v)) for k, v in re.findall(r"\[dt\] report ([1-5])=(\d+)", c.output()[start:]))
    stack = {(rep[2] - 4) >> 12}
    out = c.command("vm dirty dt start check", t)
    require("vm dt dirty tracking on: %d pages write-protected, checksummed" % MEM_PAGES in out,
            "vm dirty start: " + out)
    require(re.search(r"tracking is already on", c.command("vm dirty dt start", t)), "a second start was taken")
    got, _ = collect(c, t, "dt")
    require(got <= stack, "nothing written since start, yet %s reported" % sorted(hex(p) for p in got))
    state = rep[1]
    for r in (1, 2):
        want, state = drawn(state)
        wait_round(c, t, "dt", r, start)
        got, h = collect(c, t, "dt")
        same(got, want | stack, "round %d (seed %#x)" % (r, rep[1]))
        require(h == digest(want | stack), "round %d: hash differs" % r)
    wait_round(c, t, "dt", 3, start)
    idle, _ = collect(c, t, "dt")
    require(idle <= stack, "a round without writes reported %s" % sorted(hex(p) for p in idle))
    wait_round(c, t, "dt", 4, start)
    got, _ = collect(c, t, "dt")                 # every page written untracked in round 0, then protected
    same(got, set(range(REGION, REGION + NPAGES)) | stack, "round 4 (whole region)")
    c.expect(r"vm dt stopped: exited with code 0", t, "dirtier32 to exit with 0")
    out = c.command("vm dirty dt stop", t)
    m = re.search(r"vm dt dirty tracking off after (\d+) write faults", out)
    require(m, "vm dirty stop: " + out)
    rep = dict((int(k), int(v)) for k, v in re.findall(r"\[dt\] report ([1-5])=(\d+)", c.output()[start:]))
    print("    dirty: %d page writes took %d TSC cycles untracked, %d tracked (%.1fx); %s write faults, "
          "idle round %d page(s)" % (NPAGES, rep[4], rep[5], rep[5] / max(rep[4], 1), m.group(1), len(idle)),
          flush=True)
    c.command("vm destroy dt", t)


class Pace:
    """One emulator: timeouts of shell commands, the guest's boot, a command in its shell (and a checked
    collect: it reads all guest RAM); typing gap; seconds between collects during the boot; the pages
    it may change without a write fault (see BOCHS_AD)."""
    def __init__(self, cmd, up, io, gap, every, allow=frozenset()):
        self.cmd, self.up, self.io, self.gap, self.every, self.allow = cmd, up, io, gap, every, allow
        self.missed = set()


# Bochs sets accessed/dirty flags in guest page tables without the EPT write check (its walk translates
# the entry's address for a read, then writes the flags there), where hardware treats the update as a
# write (an EPT violation on a write-protected page). Allowed, under Bochs only: the loader's identity
# tables the guest runs on at entry (vmm/linux.h LX_PML4: PML4, PDPT and 4 PDs, pages 0x9-0xe).
BOCHS_AD = frozenset(range(0x9, 0xf))


def attach(c, p):
    c.send("vm console g\r")
    c.expect(r"attached to g", p.cmd, "the console attach line")
    linux_guest.type_slowly(c, "", p.gap)


def detach(c, p):
    c.send("\x1d")
    c.expect(r"\[detached from g\]\nshoal> ", p.cmd, "the detach line and shoal's prompt")


def boot_tracked(c, p):
    """Create g (2 vCPUs), track it from its first instruction and collect every few seconds until its
    /init marker: returns (collects, pages reported)."""
    out = c.command("vm create g kernel=vmlinuz initrd=initrd.img mem=80M vcpus=2 disk=disk.img", p.cmd)
    require("vm g created" in out, "vm create failed: " + out)
    require("dirty tracking on" in c.command("vm dirty g start check", p.io), "vm dirty g start check failed")
    c.command("vm start g", p.cmd)
    deadline, rounds, pages = time.monotonic() + p.up, 0, 0
    while "SHOAL-GUEST-UP" not in c.output() and time.monotonic() < deadline:
        require(not re.search(r"vm g stopped", c.output()), "the guest stopped: " + c.tail(5))
        time.sleep(p.every)
        pages += collect(c, p.io, "g", p.allow, p.missed, listing=False)[1]
        rounds += 1
    require("SHOAL-GUEST-UP" in c.output(), "the tracked guest did not come up in %d s" % p.up)
    return rounds, pages


def check_linux(c, p):
    """A Linux guest with 2 vCPUs tracked from its first instruction: collects every few seconds while it
    boots, then it reads its whole disk (virtio-blk into its buffers) and takes a DHCP lease (virtio-net
    receive); no collect may leave out a page whose content changed, and it runs on after `stop`."""
    rounds, pages = boot_tracked(c, p)
    time.sleep(2)
    attach(c, p)
    linux_guest.disk_sha(c, linux_tests.image_sha(linux_tests.GUEST + "/disk.img"), p.io, p.gap)
    linux_guest.dhcp(c, p.io, p.gap)
    detach(c, p)
    after = collect(c, p.io, "g", p.allow, p.missed, listing=False)[1]
    out = c.command("vm dirty g stop", p.cmd)
    require("tracking off" in out, "vm dirty g stop: " + out)
    time.sleep(3)
    require(re.search(r"^g\s+running", c.command("vm list", p.cmd), re.M), "the guest is not running after stop")
    print("    dirty: linux (2 vCPUs) boot tracked over %d collects (%d pages), disk read + DHCP dirtied %d "
          "pages; %s%s" % (rounds, pages, after, out.strip(), "; changed without a fault (allowed): %s"
                           % sorted(hex(x) for x in p.missed) if p.missed else ""), flush=True)


def t_svm_linux(r):
    d = linux_tests.GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        linux_tests.start(r, c, [d + "/vmlinuz", d + "/initrd.img", linux_tests.GUEST + "/disk.img"],
                          extra=["-nic", "user,model=e1000"])
        r.check(r.name + "-dirty-linux", lambda: check_linux(c, Pace(QEMU_CMD_S, 300, 120, 0.03, 2)))


def t_vmx_linux(r):
    """The same under Bochs, booting shoal-linux.iso (mk/linux-vmx.mk: the guest's files as modules)."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        linux_vmx_tests.boot_shoal(r, c)
        r.check(r.name + "-dirty-linux", lambda: check_linux(c, Pace(BOCHS_CMD_S, 900, 300, 0.05, 30, BOCHS_AD)))


def check_softint(c, t):
    """softint32 raises INT3 and INT 0x30 with its stack page write-protected each round (a collect comes
    between rounds): the nested fault during delivery must not make a handler run twice (SVM once
    re-injected the event, which returned to the instruction itself) or not at all."""
    require("created" in c.command("vm create si guest=softint32 mem=4M", t), "vm create softint32 failed")
    require("dirty tracking on" in c.command("vm dirty si start", t), "vm dirty si start failed")
    c.command("vm start si", t)
    deadline = time.monotonic() + 4 * t
    while not re.search(r"vm si stopped", c.output()) and time.monotonic() < deadline:
        c.command("vm dirty si collect", t)
        time.sleep(0.2)
    m = c.expect(r"\[si\] (softint ok|softint WRONG)[^\n]*\n", t, "softint32's verdict")
    rep = dict(re.findall(r"\[si\] report ([345])=(\d+)", c.output()))
    require(m.group(1) == "softint ok", "in round %s INT3's handler ran %s times, INT 0x30's %s (once a round "
            "expected)" % (rep.get("3"), rep.get("4"), rep.get("5")))
    c.expect(r"vm si stopped: exited with code 0", t, "softint32 to exit with 0")
    c.command("vm destroy si", t)


def t_svm(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"], cpu="EPYC"))
        boot_check(r, c, QEMU_BOOT_S)
        r.check(r.name + "-dirty-rounds", lambda: check_rounds(c, QEMU_CMD_S))
        r.check(r.name + "-softint-wp-stack", lambda: check_softint(c, QEMU_CMD_S))


def t_vmx(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-dirty-rounds", lambda: check_rounds(c, BOCHS_CMD_S))
        r.check(r.name + "-softint-wp-stack", lambda: check_softint(c, BOCHS_CMD_S))


TESTS = [("svm-qemu", t_svm), ("vmx-bochs", t_vmx), ("svm-qemu-linux", t_svm_linux), ("vmx-bochs-linux", t_vmx_linux)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "dirty", ("shoal.elf", "shoal.iso", "shoal-linux.iso")))

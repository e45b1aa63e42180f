#!/usr/bin/env python3
# Linux guests in shoal under Bochs (VMX+EPT): Debian's cloud kernel booted from multiboot2 modules of a GRUB ISO.
"""Bochs boots $(BUILD)/shoal-linux.iso (mk/linux-vmx.mk: shoal.elf plus the cloud kernel's vmlinuz and
initrd.img as modules); the test creates a Linux VM from the shell, waits for the guest's /init marker
and asks the guest's shell for its CPU flags. Bochs interprets every instruction, so this is slow: the
time from `vm start` to SHOAL-GUEST-UP is printed as a detail line."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BOCHS, BOCHS_BOOT_S, BOCHS_CMD_S, Console, boot_check, main, require  # noqa: E402

ISO = os.environ.get("SHOAL_LINUX_ISO", "shoal-linux.iso")   # relative to --build
MEGS = 512                # host RAM: shoal, the ISO's modules and a 256 MiB guest
GUEST_UP_S = 900          # measured ~50 s on the shared 2-core machine: Bochs interprets every instruction


def bochs_start_iso(r, c, iso, megs):
    """Like harness.bochs_start, but booting iso (which carries the guest modules)."""
    work = os.path.join(r.logdir, r.name + ".work")
    os.makedirs(work, exist_ok=True)
    rcfile = os.path.join(work, "bochsrc")
    with open(rcfile, "w") as f:
        f.write(harness.BOCHSRC.format(iso=iso, port=c.port, megs=megs,
                                       log=os.path.join(r.logdir, r.name + ".bochs.log")))
    with open(os.path.join(work, "cont.rc"), "w") as f:
        f.write("continue\n")
    env = dict(os.environ, TERM="xterm")
    c.start([BOCHS, "-q", "-f", rcfile, "-rc", os.path.join(work, "cont.rc")], cwd=work, env=env)


def type_slowly(c, line):
    """Type line + Enter on the attached guest console a character at a time (a 16550 FIFO holds 16)."""
    for ch in line + "\r":
        c.send(ch)
        time.sleep(0.05)


def guest_value(c, name, cmd, pattern, timeout):
    type_slowly(c, "echo %s=$(%s)" % (name, cmd))
    return c.expect(r"%s=(%s)" % (name, pattern), timeout, "%s from the guest" % name).group(1)


def cloud_vmx(r, vcpus):
    """The cloud kernel with vcpus vCPUs reaches /init under VMX+EPT; /proc/cpuinfo shows them, each with
    the hypervisor flag."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start_iso(r, c, os.path.join(r.build, ISO), MEGS)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-backend", lambda: require("virtualization: VMX+EPT" in c.command("info", BOCHS_CMD_S),
                                                     "shoal did not bind VMX+EPT"))

        def create():
            out = c.command("vm create g kernel=vmlinuz initrd=initrd.img mem=256M vcpus=%d" % vcpus, BOCHS_CMD_S)
            require("vm g created" in out, "vm create failed: " + out.strip())
            c.command("vm start g", BOCHS_CMD_S)
        r.check(r.name + "-create", create)

        def up():
            t0 = time.monotonic()
            m = c.expect(r"SHOAL-GUEST-UP|vm g stopped: [^\n]*\n", GUEST_UP_S, "the guest's /init marker")
            require(m.group(0) == "SHOAL-GUEST-UP", m.group(0).strip())
            print("    (%s: vm start to SHOAL-GUEST-UP in %.0f s)" % (r.name, time.monotonic() - t0), flush=True)
        r.check(r.name + "-guest-up", up)

        def attach():
            time.sleep(5)
            c.send("vm console g\r")
            c.expect(r"attached to g", BOCHS_CMD_S, "the console attach line")
        r.check(r.name + "-console", attach)
        r.check(r.name + "-cpus", lambda: require(
            guest_value(c, "CPUS", "grep -c ^processor /proc/cpuinfo", r"\d+", 300) == str(vcpus),
            "the guest does not see %d CPUs" % vcpus))
        r.check(r.name + "-hypervisor-flag", lambda: require(
            guest_value(c, "HV", "grep -c hypervisor /proc/cpuinfo", r"\d+", 300) == str(vcpus),
            "no hypervisor flag on each CPU"))


TESTS = [("linux-cloud-vmx", lambda r: cloud_vmx(r, 1)), ("linux-cloud-vmx-smp", lambda r: cloud_vmx(r, 2))]

if __name__ == "__main__":
    sys.exit(main(TESTS, "linux-vmx", required=(ISO,)))

#!/usr/bin/env python3
# Linux guests in shoal under QEMU (SVM+NPT): Debian's kernels booted from multiboot modules; bad kernels refused.
"""Each test boots shoal under QEMU with guest images (tools/guest/build-images.sh, `make guest-images`)
as multiboot modules, creates a Linux VM from the shell and watches the guest's console."""

import hashlib
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, QEMU_BOOT_S, QEMU_CMD_S, boot_check, main, qemu_argv, require)  # noqa: E402

GUEST = os.path.abspath(os.environ.get("SHOAL_GUEST_DIR", "build/guest"))
GUEST_UP_S = 240          # the emulated hypervisor runs the emulated guest: generous


def start(r, c, modules, mem="1G"):
    """Boot shoal with modules (paths) and wait for its prompt."""
    c.start(qemu_argv(mem, ["-kernel", r.build + "/shoal.elf", "-initrd", ",".join(modules)], cpu="EPYC"))
    boot_check(r, c, QEMU_BOOT_S)


def type_slowly(c, line):
    """Type line + Enter on the attached guest console a character at a time (a 16550 FIFO holds 16)."""
    for ch in line + "\r":
        c.send(ch)
        time.sleep(0.03)


def guest_value(c, name, cmd, pattern, timeout=QEMU_CMD_S):
    """Run `echo NAME=$(cmd)` in the guest shell and return the value matching pattern."""
    type_slowly(c, "echo %s=$(%s)" % (name, cmd))
    return c.expect(r"%s=(%s)" % (name, pattern), timeout, "%s from the guest" % name).group(1)


def wait_up(c):
    """Wait for the guest's /init marker; fail at once (with the reason) if the VM stops first."""
    m = c.expect(r"SHOAL-GUEST-UP|vm g stopped: [^\n]*", GUEST_UP_S, "the guest's /init marker")
    require(m.group(0) == "SHOAL-GUEST-UP", m.group(0).strip())


def create_and_start(r, c, args):
    out = c.command("vm create g " + args, QEMU_CMD_S)
    require("vm g created" in out, "vm create failed: " + out.strip())
    c.command("vm start g", QEMU_CMD_S)


def t_cloud_up(r):
    """The cloud kernel reaches the initramfs's /init (SHOAL-GUEST-UP) and its shell answers."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img"])

        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinuz initrd=initrd.img mem=256M"))
        r.check(r.name + "-guest-up", lambda: wait_up(c))


def t_truncated(r):
    """A truncated kernel (and a file that is no kernel) is refused with a message naming the problem."""
    os.makedirs(r.logdir, exist_ok=True)
    trunc, junk = os.path.join(r.logdir, "trunc.bin"), os.path.join(r.logdir, "junk.bin")
    with open(GUEST + "/cloud/vmlinuz", "rb") as f:
        data = f.read()
    with open(trunc, "wb") as f:
        f.write(data[:len(data) // 2])
    with open(junk, "wb") as f:
        f.write(b"this is not a kernel\n" * 200)
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [trunc, junk, GUEST + "/cloud/initrd.img"], mem="512M")

        def refused(mod, why):
            out = c.command("vm create t kernel=%s initrd=initrd.img" % mod, QEMU_CMD_S)
            require("error: vm create t: kernel: " in out and why in out, "not refused as expected: " + out.strip())
            require("no VM" in c.command("vm stats t", QEMU_CMD_S), "a VM was left behind")
        r.check(r.name + "-truncated", lambda: refused("trunc.bin", "truncated"))
        r.check(r.name + "-not-a-kernel", lambda: refused("junk.bin", "not a bzImage"))


def t_std_smp_disk(r):
    """The standard kernel with 2 vCPUs and a read-only disk: both CPUs, the hypervisor flag, the disk's SHA-256."""
    d = GUEST + "/std"
    disk = GUEST + "/disk.img"
    with open(disk, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", disk])
        r.check(r.name + "-create", lambda: create_and_start(
            r, c, "kernel=vmlinuz initrd=initrd.img mem=256M vcpus=2 disk=disk.img"))
        r.check(r.name + "-guest-up", lambda: wait_up(c))

        def attach():
            time.sleep(2)
            c.send("vm console g\r")
            c.expect(r"attached to g", QEMU_CMD_S, "the console attach line")
        r.check(r.name + "-console", attach)
        r.check(r.name + "-2-cpus", lambda: require(guest_value(c, "CPUS", "grep -c ^processor /proc/cpuinfo", r"\d+")
                                                    == "2", "guest does not see 2 CPUs"))
        r.check(r.name + "-hypervisor-flag", lambda: require(
            guest_value(c, "HV", "grep -c hypervisor /proc/cpuinfo", r"\d+") == "2", "no hypervisor flag"))
        r.check(r.name + "-disk-sha256", lambda: require(
            guest_value(c, "SHA", "sha256sum /dev/vda", r"[0-9a-f]{64}", 120) == want, "/dev/vda differs from the image"))


def t_cloud_pvh(r):
    """The cloud kernel's ELF vmlinux through the PVH entry reaches /init."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinux", d + "/initrd.img"])
        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinux initrd=initrd.img mem=256M"))
        r.check(r.name + "-guest-up", lambda: wait_up(c))


TESTS = [("linux-cloud-qemu", t_cloud_up), ("linux-bad-kernel", t_truncated), ("linux-std-smp-disk", t_std_smp_disk),
         ("linux-cloud-pvh", t_cloud_pvh)]

if __name__ == "__main__":
    if "--guest" in sys.argv:                      # ours, not the shared harness's
        i = sys.argv.index("--guest")
        GUEST = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    sys.exit(main(TESTS, "linux"))

#!/usr/bin/env python3
# Linux guests in shoal under QEMU (SVM+NPT): Debian's kernels booted from multiboot modules; bad kernels refused.
"""Each test boots shoal under QEMU with guest images (tools/guest/build-images.sh, `make guest-images`)
as multiboot modules, creates a Linux VM from the shell and watches the guest's console."""

import hashlib
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, QEMU_BOOT_S, QEMU_CMD_S, boot_check, main, qemu_argv, require)  # noqa: E402

GUEST = os.path.abspath(os.environ.get("SHOAL_GUEST_DIR", "build/guest"))
GUEST_UP_S = 240          # the emulated hypervisor runs the emulated guest: generous


def start(r, c, modules, mem="1G", extra=()):
    """Boot shoal with modules (paths) and wait for its prompt."""
    c.start(qemu_argv(mem, ["-kernel", r.build + "/shoal.elf", "-initrd", ",".join(modules)] + list(extra),
                      cpu="EPYC"))
    boot_check(r, c, QEMU_BOOT_S)


def type_slowly(c, line):
    """Type line + Enter on the attached guest console a character at a time (a 16550 FIFO holds 16)."""
    for ch in line + "\r":
        c.send(ch)
        time.sleep(0.03)


def guest_value(c, name, cmd, pattern, timeout=QEMU_CMD_S):
    """Run `echo NAME=$(cmd)` in the guest shell and return the value matching pattern."""
    type_slowly(c, 'echo %s""%s=[$(%s)]' % (name[:1], name[1:], cmd))   # the echoed line reads N""AME: no match
    return c.expect(r"%s=\[(%s)[^\]\n]*\]" % (name, pattern), timeout, "%s from the guest" % name).group(1)


def wait_up(c):
    """Wait for the guest's /init marker; fail at once (with the reason) if the VM stops first."""
    m = c.expect(r"SHOAL-GUEST-UP|vm g stopped: [^\n]*\n", GUEST_UP_S, "the guest's /init marker")
    require(m.group(0) == "SHOAL-GUEST-UP", m.group(0).strip())


def create_and_start(r, c, args, name="g"):
    out = c.command("vm create %s %s" % (name, args), QEMU_CMD_S)
    require("vm %s created" % name in out, "vm create failed: " + out.strip())
    c.command("vm start " + name, QEMU_CMD_S)


def attach(c, name="g"):
    """Attach the shell to a guest's console and wake its shell with an empty line."""
    c.send("vm console %s\r" % name)
    c.expect(r"attached to %s" % name, QEMU_CMD_S, "the console attach line")
    type_slowly(c, "")


def detach(c, name="g"):
    """Ctrl-] back to shoal's shell, which must answer a command again."""
    c.send("\x1d")
    c.expect(r"\[detached from %s\]\nshoal> " % name, QEMU_CMD_S, "the detach line and shoal's prompt")
    out = c.command("vm list", QEMU_CMD_S)
    require(re.search(r"^%s\s" % name, out, re.M), "shoal's shell does not answer after detaching:\n" + out)


def check_date(c):
    """The guest's clock (from the RTC, itself from shoal's host CMOS) is the test machine's, within 5 min."""
    guest = int(guest_value(c, "NOW", "date -u +%s", r"\d+"))
    host = int(time.time())
    require(abs(guest - host) < 300, "guest date %d differs from the host's %d by %d s" % (guest, host, guest - host))


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
        r.check(r.name + "-date", lambda: check_date(c))


def t_cloud_pvh(r):
    """The cloud kernel's ELF vmlinux through the PVH entry reaches /init."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinux", d + "/initrd.img"])
        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinux initrd=initrd.img mem=256M"))
        r.check(r.name + "-guest-up", lambda: wait_up(c))


def t_cloud_net_life(r):
    """Cloud kernel with a NIC: a pasted line survives the 16550, DHCP and ping 10.0.2.2 through the switch and
    the host e1000 while shoal's own address still answers; `reboot` boots the kernel again and the shell
    answers after detaching; `poweroff` stops the VM."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img"], extra=["-nic", "user,model=e1000"])
        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinuz initrd=initrd.img mem=256M"))
        r.check(r.name + "-guest-up", lambda: wait_up(c))
        r.check(r.name + "-console", lambda: (time.sleep(2), attach(c)))

        def paste():
            word = "".join(chr(ord("a") + i % 26) for i in range(60))
            c.send("echo PASTE=%s%s\r" % (word[:30], word[30:]))   # one burst, far beyond the 16-byte FIFO
            got = c.expect(r"PASTE=([a-z]*)\s", QEMU_CMD_S * 2, "the pasted line's output").group(1)
            require(got == word, "pasted %d characters, the guest got %d: %s" % (len(word), len(got), got))
        r.check(r.name + "-paste", paste)
        r.check(r.name + "-date", lambda: check_date(c))

        def dhcp():
            type_slowly(c, "ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 && echo DHCP-$((6*7))")
            c.expect(r"DHCP-42", 120, "udhcpc to get a lease")
            require(guest_value(c, "ADDR", "ip -4 addr show eth0 | grep -c 'inet 10.0.2.'", r"\d+") == "1",
                    "eth0 has no 10.0.2.x address")
        r.check(r.name + "-dhcp", dhcp)

        def ping_gw():
            type_slowly(c, "ping -c 3 10.0.2.2")
            m = c.expect(r"(\d+) packets transmitted, (\d+) packets received", 120, "ping's summary")
            require(m.group(2) == "3", "guest ping: %s of 3 replies" % m.group(2))
        r.check(r.name + "-ping-gw", ping_gw)

        def shoal_ping():
            detach(c)
            out = c.command("ping 10.0.2.2", 60)
            require(re.search(r"(\d+) received", out) and not re.search(r" 0 received", out),
                    "shoal's own ping failed:\n" + out)
        r.check(r.name + "-shoal-ping", shoal_ping)

        def reboot():
            attach(c)
            type_slowly(c, "reboot -f")        # no init in the initramfs: -f does it itself
            c.expect(r"Linux version", GUEST_UP_S, "the kernel booting again")
            c.expect(r"SHOAL-GUEST-UP", GUEST_UP_S, "the rebooted guest's /init marker")
            time.sleep(2)
            detach(c)
        r.check(r.name + "-reboot", reboot)

        def poweroff():
            attach(c)
            type_slowly(c, "poweroff -f")
            c.expect(r"vm g stopped: guest powered off", 120, "the VM to stop on poweroff")
            c.expect(r"\[vm g stopped: console detached\]\nshoal> ", QEMU_CMD_S, "the shell back after the VM stopped")
            out = c.command("vm list", QEMU_CMD_S)
            require(re.search(r"^g\s+stopped", out, re.M), "g is not stopped:\n" + out)
        r.check(r.name + "-poweroff", poweroff)


def t_two_guests(r):
    """Two cloud-kernel guests at once (one with a writable copy of the disk, one with the image read-only)
    reach userspace and answer on their consoles while badvirtio64 misbehaves and is contained; a write to
    the writable disk reads back and the module image itself stays unchanged."""
    d = GUEST + "/cloud"
    disk = GUEST + "/disk.img"
    with open(disk, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", disk])
        r.check(r.name + "-create", lambda: (
            create_and_start(r, c, "kernel=vmlinuz initrd=initrd.img mem=256M disk-rw=disk.img", "g1"),
            create_and_start(r, c, "kernel=vmlinuz initrd=initrd.img mem=256M disk=disk.img", "g2")))

        def both_up():
            seen = set()
            while len(seen) < 2:
                m = c.expect(r"\[(g[12])\] SHOAL-GUEST-UP|vm g[12] stopped: [^\n]*\n", GUEST_UP_S, "both guests' markers")
                require(m.group(1), m.group(0).strip())
                seen.add(m.group(1))
        r.check(r.name + "-both-up", both_up)

        def bad_guest():
            out = c.command("vm create bv guest=badvirtio64 mem=4M", QEMU_CMD_S)
            require("created" in out, "vm create badvirtio64 failed:\n" + out)
            c.command("vm start bv", QEMU_CMD_S)
            c.expect(r"vm bv stopped: [^\n]*\n", 120, "badvirtio64 to stop")
            out = c.command("vm list", QEMU_CMD_S)
            require(len(re.findall(r"^g[12]\s+running", out, re.M)) == 2, "the Linux guests were disturbed:\n" + out)
        r.check(r.name + "-bad-contained", bad_guest)

        def write_back():
            time.sleep(2)
            attach(c, "g1")
            type_slowly(c, "echo -n SHOALWROTE$((6*7))X | dd of=/dev/vda bs=512 seek=8000 conv=notrunc,fsync")
            time.sleep(3)
            got = guest_value(c, "RB", "sync; echo 3 > /proc/sys/vm/drop_caches; "
                              "dd if=/dev/vda bs=512 skip=8000 count=1 2>/dev/null | head -c 13", r"[A-Z0-9]+", 60)
            require(got == "SHOALWROTE42X", "read back %r after writing SHOALWROTE42X" % got)
            detach(c, "g1")
        r.check(r.name + "-write-readback", write_back)

        def image_unchanged():
            attach(c, "g2")
            got = guest_value(c, "SHA", "sha256sum /dev/vda", r"[0-9a-f]{64}", 120)
            require(got == want, "the read-only guest's /dev/vda differs from the image: the module was written")
            detach(c, "g2")
        r.check(r.name + "-image-unchanged", image_unchanged)


TESTS = [("linux-cloud-qemu", t_cloud_up), ("linux-bad-kernel", t_truncated), ("linux-std-smp-disk", t_std_smp_disk),
         ("linux-cloud-pvh", t_cloud_pvh), ("linux-cloud-net-life", t_cloud_net_life), ("linux-two-guests", t_two_guests)]

if __name__ == "__main__":
    if "--guest" in sys.argv:                      # ours, not the shared harness's
        i = sys.argv.index("--guest")
        GUEST = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    sys.exit(main(TESTS, "linux", required=("shoal.elf",) + tuple(
        os.path.join(GUEST, f) for f in ("cloud/vmlinuz", "cloud/vmlinux", "cloud/initrd.img", "std/vmlinuz",
                                         "std/initrd.img", "disk.img"))))

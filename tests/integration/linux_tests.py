#!/usr/bin/env python3
# Linux guests in shoal under QEMU (SVM+NPT): Debian's kernels booted from multiboot modules; bad kernels refused.
"""Each test boots shoal under QEMU with guest images (tools/guest/build-images.sh, `make guest-images`)
as multiboot modules, creates a Linux VM from the shell and watches the guest's console."""

import hashlib
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, QEMU_BOOT_S, QEMU_CMD_S, boot_check, main, qemu_argv, require)  # noqa: E402
import linux_guest  # noqa: E402
from linux_guest import type_slowly  # noqa: E402

GUEST = os.path.abspath(os.environ.get("SHOAL_GUEST_DIR", "build/guest"))
GUEST_UP_S = 240          # the emulated hypervisor runs the emulated guest: generous


def start(r, c, modules, mem="1G", extra=()):
    """Boot shoal with modules (paths) and wait for its prompt."""
    c.start(qemu_argv(mem, ["-kernel", r.build + "/shoal.elf", "-initrd", ",".join(modules)] + list(extra),
                      cpu="EPYC"))
    boot_check(r, c, QEMU_BOOT_S)


def guest_value(c, name, cmd, pattern, timeout=QEMU_CMD_S):
    return linux_guest.guest_value(c, name, cmd, pattern, timeout)


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


# Lines a kernel logs when shoal's platform misleads it (an ACPI description that sends it looking for PCI
# config space that is not there; MSRs of the presented CPU model that #GP).
COMPLAINTS = [r"PCI: Fatal: No config space access function found", r"unchecked MSR access error[^\n]*"]


def no_complaints(c, since=0):
    """None of COMPLAINTS appears in the console output after position since."""
    text = c.output()[since:]
    found = [m.group(0) for p in COMPLAINTS for m in re.finditer(p, text)]
    require(not found, "the guest kernel complained:\n" + "\n".join(found[:8]))


def image_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def start_and_boot(r, c, args, name="g"):
    """Create and start a VM and wait for its /init marker."""
    r.check(r.name + "-create", lambda: create_and_start(r, c, args, name))
    r.check(r.name + "-guest-up", lambda: wait_up(c))


def guest_io(r, c, disk=None, net=True, name="g"):
    """The guest is really up: attached to its console, its modules loaded and bound, its disk reads as
    the image (when it has one), and its network works through the switch (DHCP, ping the gateway)."""
    r.check(r.name + "-console", lambda: (time.sleep(2), attach(c, name)))
    r.check(r.name + "-modules", lambda: linux_guest.modules_loaded(c, c.output(), QEMU_CMD_S * 2))
    if disk:
        r.check(r.name + "-disk-sha256", lambda: linux_guest.disk_sha(c, image_sha(disk), 120))
    if net:
        r.check(r.name + "-dhcp", lambda: linux_guest.dhcp(c, 120))
        r.check(r.name + "-ping-gw", lambda: linux_guest.ping(c, "10.0.2.2", 120))


def t_cloud_up(r):
    """The cloud kernel reaches /init with a disk and a NIC: modules loaded, disk SHA-256, DHCP and ping."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", GUEST + "/disk.img"], extra=["-nic", "user,model=e1000"])
        start_and_boot(r, c, "kernel=vmlinuz initrd=initrd.img mem=256M disk=disk.img")
        guest_io(r, c, disk=GUEST + "/disk.img", net=True)
        r.check(r.name + "-no-complaints", lambda: no_complaints(c))


def t_no_initrd(r):
    """A kernel given without initrd= boots: the cloud kernel runs until it looks for its root filesystem
    (there is none), without complaining about PCI or MSRs on the way."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz"], mem="512M")

        def refused(args, words):
            out = c.command("vm create e kernel=vmlinuz " + args, QEMU_CMD_S)
            require(re.search(r"^error: vm create e: " + words, out, re.M), "vm create %s: %s" % (args, out.strip()))
        r.check(r.name + "-no-such-initrd", lambda: refused("initrd=nosuch", r"initrd=nosuch: no such boot module"))
        r.check(r.name + "-no-such-disk", lambda: refused("disk=nosuch", r"disk=nosuch: no such boot module"))
        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinuz mem=256M"))
        r.check(r.name + "-boots", lambda: c.expect(r"VFS: Unable to mount root fs|vm g stopped: [^\n]*\n",
                                                     GUEST_UP_S, "the kernel to reach its root mount"))
        r.check(r.name + "-reached-root-mount", lambda: require(
            "VFS: Unable to mount root fs" in c.output(), "the VM stopped before the kernel looked for its root"))
        r.check(r.name + "-no-complaints", lambda: no_complaints(c))


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
    d, disk = GUEST + "/std", GUEST + "/disk.img"
    want = linux_guest.file_sha256(disk)
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
        r.check(r.name + "-modules", lambda: linux_guest.modules_loaded(c, c.output(), QEMU_CMD_S * 2))
        r.check(r.name + "-2-cpus", lambda: require(guest_value(c, "CPUS", "grep -c ^processor /proc/cpuinfo", r"\d+")
                                                    == "2", "guest does not see 2 CPUs"))
        r.check(r.name + "-hypervisor-flag", lambda: require(
            guest_value(c, "HV", "grep -c hypervisor /proc/cpuinfo", r"\d+") == "2", "no hypervisor flag"))
        r.check(r.name + "-disk-sha256", lambda: require(
            guest_value(c, "SHA", "sha256sum /dev/vda", r"[0-9a-f]{64}", 120) == want, "/dev/vda differs from the image"))
        r.check(r.name + "-date", lambda: check_date(c))


def t_cloud_pvh(r):
    """The cloud kernel's ELF vmlinux through the PVH entry reaches /init, loads its modules, reads its disk."""
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinux", d + "/initrd.img", GUEST + "/disk.img"])
        start_and_boot(r, c, "kernel=vmlinux initrd=initrd.img mem=256M disk=disk.img")
        guest_io(r, c, disk=GUEST + "/disk.img", net=False)


def shoal_ping(c):
    """Detach; shoal's own stack pings the gateway (its traffic is not a guest's)."""
    detach(c)
    out = c.command("ping 10.0.2.2", 60)
    require(re.search(r"(\d+) received", out) and not re.search(r" 0 received", out), "shoal's own ping failed:\n" + out)


def spoof_host_mac(c):
    """The guest takes shoal's own MAC: its frames are dropped at its switch port (no ping gets through)
    and shoal's own traffic still reaches shoal, not the guest (shoal's ping answers). Then it takes its
    own MAC back and pings again."""
    host_mac = re.search(r"mac ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})", c.command("net", QEMU_CMD_S)).group(1)
    attach(c)
    own = guest_value(c, "OWNMAC", "cat /sys/class/net/eth0/address", r"[0-9a-f:]{17}")
    type_slowly(c, "ip link set eth0 address %s" % host_mac)
    linux_guest.ping(c, "10.0.2.2", 60, count=2, want=0)
    shoal_ping(c)
    attach(c)
    type_slowly(c, "ip link set eth0 address %s" % own)
    linux_guest.ping(c, "10.0.2.2", 60)
    detach(c)


def t_cloud_pvh32(r):
    """The cloud kernel's vmlinux rewrapped as ELF32 i386 (objcopy keeps the PVH note and the physical
    addresses: the kind of ELF32 PVH kernel Xen and QEMU boot) reaches /init through the 32-bit PVH entry."""
    d = GUEST + "/cloud"
    os.makedirs(r.logdir, exist_ok=True)
    elf32 = os.path.join(r.logdir, "vmlinux32")
    subprocess.run(["objcopy", "-O", "elf32-i386", d + "/vmlinux", elf32], check=True)
    with open(elf32, "rb") as f:
        require(f.read(5) == b"\x7fELF\x01", "objcopy did not write an ELF32 file")
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [elf32, d + "/initrd.img"])
        r.check(r.name + "-create", lambda: create_and_start(r, c, "kernel=vmlinux32 initrd=initrd.img mem=256M"))
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
        r.check(r.name + "-modules", lambda: linux_guest.modules_loaded(c, c.output(), QEMU_CMD_S * 2))

        def paste():
            word = "".join(chr(ord("a") + i % 26) for i in range(60))
            c.send("echo PASTE=%s%s\r" % (word[:30], word[30:]))   # one burst, far beyond the 16-byte FIFO
            got = c.expect(r"PASTE=([a-z]*)\s", QEMU_CMD_S * 2, "the pasted line's output").group(1)
            require(got == word, "pasted %d characters, the guest got %d: %s" % (len(word), len(got), got))
        r.check(r.name + "-paste", paste)
        r.check(r.name + "-date", lambda: check_date(c))

        r.check(r.name + "-dhcp", lambda: linux_guest.dhcp(c, 120))
        r.check(r.name + "-ping-gw", lambda: linux_guest.ping(c, "10.0.2.2", 120))
        r.check(r.name + "-shoal-ping", lambda: shoal_ping(c))
        r.check(r.name + "-spoof-host-mac", lambda: spoof_host_mac(c))

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
    reach userspace and answer on their consoles while badvirtio64 misbehaves and is contained; g2 spawns
    processes that all live; a write to
    the writable disk reads back and the module image itself stays unchanged; each gets a DHCP lease and
    one pings the other through the switch."""
    d = GUEST + "/cloud"
    disk = GUEST + "/disk.img"
    with open(disk, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", disk], extra=["-nic", "user,model=e1000"])
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
            linux_guest.spawn_loop(c, 60, 120)
            detach(c, "g2")
        r.check(r.name + "-image-unchanged", image_unchanged)

        def guest_to_guest():
            attach(c, "g2")
            addr = linux_guest.dhcp(c, 120)
            detach(c, "g2")
            attach(c, "g1")
            require(linux_guest.dhcp(c, 120) != addr, "both guests got the address %s" % addr)
            linux_guest.ping(c, addr, 120)
            detach(c, "g1")
        r.check(r.name + "-ping-each-other", guest_to_guest)


TESTS = [("linux-cloud-qemu", t_cloud_up), ("linux-no-initrd", t_no_initrd), ("linux-bad-kernel", t_truncated), ("linux-std-smp-disk", t_std_smp_disk),
         ("linux-cloud-pvh", t_cloud_pvh), ("linux-cloud-pvh32", t_cloud_pvh32),
         ("linux-cloud-net-life", t_cloud_net_life), ("linux-two-guests", t_two_guests)]

if __name__ == "__main__":
    if "--guest" in sys.argv:                      # ours, not the shared harness's
        i = sys.argv.index("--guest")
        GUEST = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    sys.exit(main(TESTS, "linux", required=("shoal.elf",) + tuple(
        os.path.join(GUEST, f) for f in ("cloud/vmlinuz", "cloud/vmlinux", "cloud/initrd.img", "std/vmlinuz",
                                         "std/initrd.img", "disk.img"))))

# What "a Linux guest is up" means in the tests: /init ran, its modules loaded, its disk and network work.
"""Checks run on a Linux guest's console (attached through `vm console`), shared by the QEMU (SVM) and
Bochs (VMX) tiers. Each takes the console and a timeout scale: Bochs is about ten times slower."""

import hashlib
import re
import time

from console import TestFailure  # noqa: F401
from harness import require

def type_slowly(c, line, gap=0.03):
    """Type line + Enter on the attached guest console a character at a time (a 16550 FIFO holds 16)."""
    for ch in line + "\r":
        c.send(ch)
        time.sleep(gap)


def timed_line(c, line, marker, timeout, gap=0.03):
    """Type line on the attached guest console, then press Enter and wait for the regex marker in its output;
    return the match and the seconds by this host's clock from the Enter to the marker (the typing is not
    counted: the echo of the last character is in before the clock starts)."""
    for ch in line:
        c.send(ch)
        time.sleep(gap)
    time.sleep(0.5)
    t0 = time.monotonic()
    c.send("\r")
    m = c.expect(marker, timeout, "the line's end marker")
    return m, time.monotonic() - t0


def guest_value(c, name, cmd, pattern, timeout, gap=0.03):
    """Run `echo NAME=[$(cmd)]` in the guest shell and return the value matching pattern."""
    type_slowly(c, 'echo %s""%s=[$(%s)]' % (name[:1], name[1:], cmd), gap)   # the echo reads N""AME: no match
    return c.expect(r"%s=\[(%s)[^\]\n]*\]" % (name, pattern), timeout, "%s from the guest" % name).group(1)


def modules_loaded(c, boot_text, timeout, gap=0.03):
    """No insmod failed while the guest booted (boot_text: its console), as many modules are loaded as /init
    loads (the initramfs's /etc/modules; nothing else loads any), and virtio_net bound its device."""
    bad = re.findall(r"insmod \S+ failed", boot_text)
    require(not bad, "modules failed to load: %s" % ", ".join(bad))
    n = int(guest_value(c, "NMOD", "grep -c . /etc/modules", r"\d+", timeout, gap))
    require(n >= 3, "the initramfs lists only %d modules" % n)
    loaded = int(guest_value(c, "LOADED", "grep -c . /proc/modules", r"\d+", timeout, gap))
    require(loaded == n, "%d modules in /proc/modules, /init loads %d" % (loaded, n))
    net = guest_value(c, "VNET", "ls /sys/bus/virtio/drivers/virtio_net | grep -c virtio", r"\d+", timeout, gap)
    require(net == "1", "virtio_net bound %s devices, expected 1" % net)


def disk_sha(c, want, timeout, gap=0.03):
    """/dev/vda reads back as the image with SHA-256 want (virtio_blk bound it, the data is right)."""
    got = guest_value(c, "SHA", "sha256sum /dev/vda", r"[0-9a-f]{64}", timeout, gap)
    require(got == want, "/dev/vda has SHA-256 %s, the image %s" % (got, want))


def dhcp(c, timeout, gap=0.03):
    """udhcpc gets a lease on eth0 through the switch; returns the guest's address."""
    type_slowly(c, "ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 && echo DHCP-$((6*7))", gap)
    c.expect(r"DHCP-42", timeout, "udhcpc to get a lease")
    return guest_value(c, "ADDR", "ip -4 addr show eth0 | sed -n 's/.*inet \\([0-9.]*\\).*/\\1/p'",
                       r"10\.0\.2\.\d+", timeout, gap)


def ping(c, host, timeout, count=3, gap=0.03, want=None):
    """ping -c count host from the guest; require want replies (default: all)."""
    type_slowly(c, "ping -c %d -W 2 %s" % (count, host), gap)
    m = c.expect(r"(\d+) packets transmitted, (\d+) packets received", timeout, "ping's summary")
    want = count if want is None else want
    require(int(m.group(2)) == want, "guest ping %s: %s of %d replies, expected %d"
            % (host, m.group(2), count, want))


def spawn_loop(c, n, timeout, gap=0.03):
    """n runs of a three-process pipeline (each process a fresh busybox exec) all succeed and the kernel logs
    no segfault: a new process's registers and memory survive its first context switches (XSAVEC/XRSTOR of
    AVX state among them). Under Bochs 2.7's XSAVEC, offered to a 1-vCPU guest, about 1 in 5 failed."""
    type_slowly(c, "i=0; f=0; while [ $i -lt %d ]; do echo x | sed s/x/y/ | grep -q y || f=$((f+1)); i=$((i+1)); "
                   "done; echo S""PAWNED=$i,$f,$(dmesg | grep -c segfault)" % n, gap)
    m = c.expect(r"SPAWNED=(\d+),(\d+),(\d+)", timeout, "the spawn loop's summary")
    require(m.group(1) == str(n), "the loop ran %s of %d times" % (m.group(1), n))
    require(m.group(2) == "0" and m.group(3) == "0",
            "%s of %d pipelines failed, %s segfaults in dmesg" % (m.group(2), n, m.group(3)))


def file_sha256(path):
    """The SHA-256 (hex) of a file on the host: what a guest hashing its disk image must print."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

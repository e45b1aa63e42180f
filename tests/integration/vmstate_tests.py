# vm move under SVM+NPT (QEMU TCG) and VMX+EPT (Bochs): a guest saved and restored into a new VM carries on.
"""Usage: vmstate_tests.py --build DIR [--jobs N] [--only REGEX]

carryon64 counts timer ticks and loop rounds (in memory, R12 and XMM1) and reports them every 25 ticks.
It is moved into a new VM (`vm move`, once held paused for `vm memhash`, once straight), and a move whose
record is refused (the corrupt=rflags hook) must leave it running. Logs: DIR/test-logs/vmstate/."""

import hashlib
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, require, qemu_argv, bochs_start, boot_check, main,  # noqa: E402
                     QEMU_BOOT_S, QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)
from linux_tests import GUEST, start, create_and_start, wait_up, attach, detach, guest_value  # noqa: E402
import linux_guest  # noqa: E402
from linux_guest import type_slowly  # noqa: E402


def report(c, t, name, key):
    """The next `report KEY=N` of VM name (report 3, a lost register or TSC, fails at once)."""
    m = c.expect(r"\[%s\] report ([123])=(\d+)\n" % re.escape(name), t, "%s's report %d" % (name, key))
    require(m.group(1) != "3", "%s found its state lost after a move (report 3=%s)" % (name, m.group(2)))
    if m.group(1) != str(key):
        return report(c, t, name, key)
    return int(m.group(2))


def ticks_after(c, t, name, floor):
    """Wait for a tick report of name above floor; return it (and check rounds came with it)."""
    while True:
        ticks = report(c, t, name, 1)
        rounds = report(c, t, name, 2)
        require(rounds > 0, "%s reports no rounds" % name)
        if ticks > floor:
            return ticks


def memhash_total(c, t, name):
    out = c.command("vm memhash " + name, t)
    chunks = re.findall(r"memhash chunk [0-9a-f]+ ([0-9a-f]{64})", out)
    m = re.search(r"memhash total [0-9a-f]+ ([0-9a-f]{64})", out)
    require(m and len(chunks) == 2, "vm memhash %s printed no 2 chunks and a total:\n%s" % (name, out))
    return m.group(1)


def listed(c, t):
    return dict(re.findall(r"^(\S+)\s+(created|running|paused|stopped)", c.command("vm list", t), re.M))


def check_move(c, t):
    out = c.command("vm create g guest=carryon64 mem=4M", t)
    require("created" in out, "vm create failed:\n" + out)
    c.command("vm start g", t)
    before = ticks_after(c, t, "g", 50)
    out = c.command("vm move g g2 hold", t)
    require(re.search(r"vm g moved to g2 \(\d+ bytes of state\), both held paused", out), "held move failed:\n" + out)
    src, dst = memhash_total(c, t, "g"), memhash_total(c, t, "g2")
    require(src == dst, "RAM of g (%s) and g2 (%s) differ after the move" % (src, dst))
    c.command("vm start g2", t)
    c.command("vm destroy g", t)
    first = ticks_after(c, t, "g2", 0)
    require(first > before, "g2 restarted its count (%d after g's %d)" % (first, before))
    second = ticks_after(c, t, "g2", first)
    out = c.command("vm move g2 g3", t)
    require(re.search(r"vm g2 moved to g3", out), "move g2 -> g3 failed:\n" + out)
    vms = listed(c, t)
    require("g" not in vms and "g2" not in vms and vms.get("g3") == "running", "after the moves vm list shows %s" % vms)
    third = ticks_after(c, t, "g3", second)
    print("    ticks: g %d, g2 %d then %d, g3 %d" % (before, first, second, third))


def check_refused(c, t):
    out = c.command("vm move g3 g4 corrupt=rflags", t)
    require(re.search(r"error: vm move g3: vCPU record: RFLAGS reserved bits wrong \(at byte \d+\); g3 keeps running", out),
            "the corrupted record was not refused with its reason:\n" + out)
    vms = listed(c, t)
    require("g4" not in vms and vms.get("g3") == "running", "after a refused move vm list shows %s" % vms)
    last = ticks_after(c, t, "g3", 0)
    ticks_after(c, t, "g3", last)
    c.command("vm destroy g3", t)


def checks(r, c, t):
    r.check(r.name + "-move", lambda: check_move(c, t))
    r.check(r.name + "-move-refused", lambda: check_refused(c, t))


def t_svm(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"], cpu="EPYC"))
        boot_check(r, c, QEMU_BOOT_S)
        checks(r, c, QEMU_CMD_S)


def t_vmx(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c)
        boot_check(r, c, BOCHS_BOOT_S)
        checks(r, c, BOCHS_CMD_S)


def first_mib_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(1 << 20)).hexdigest()


def check_linux_move(c):
    """A Linux guest keeps its tmpfs file, its clock, its virtio disk's queues and its network (the switch
    port follows its MAC to the new VM) across vm move."""
    attach(c)
    linux_guest.dhcp(c, 120)
    type_slowly(c, "echo moved-$((6*7)) > /tmp/m")
    up = int(guest_value(c, "UP1", "cut -d. -f1 /proc/uptime", r"\d+"))
    detach(c)
    out = c.command("vm move g g2", QEMU_CMD_S * 4)
    require(re.search(r"vm g moved to g2", out), "vm move of the Linux guest failed:\n" + out)
    attach(c, "g2")
    require(guest_value(c, "MARK", "cat /tmp/m", r"moved-\d+") == "moved-42", "g2 lost the guest's tmpfs file")
    up2 = int(guest_value(c, "UP2", "cut -d. -f1 /proc/uptime", r"\d+"))
    require(up2 >= up, "the guest's uptime went back from %d s to %d s" % (up, up2))
    want = first_mib_sha(GUEST + "/disk.img")
    got = guest_value(c, "VDA", "head -c 1048576 /dev/vda | sha256sum", r"[0-9a-f]{64}", 120)
    require(got == want, "g2 reads its disk's first MiB as %s, the image has %s" % (got, want))
    linux_guest.ping(c, "10.0.2.2", 120)
    detach(c, "g2")
    require(not re.search(r"^g\s", c.command("vm list", QEMU_CMD_S), re.M), "g is still listed after the move")
    print("    Linux guest moved: uptime %d s before, %d s after" % (up, up2))


def t_svm_linux(r):
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", GUEST + "/disk.img"], extra=["-nic", "user,model=e1000"])
        r.check(r.name + "-guest-up", lambda: (create_and_start(
            r, c, "kernel=vmlinuz initrd=initrd.img mem=256M disk=disk.img"), wait_up(c)))
        r.check(r.name + "-move", lambda: check_linux_move(c))


def t_vmx_linux(r):
    """Under VMX (Bochs) a 2-vCPU Linux guest moves: both vCPUs' records, its files, disk and network."""
    import linux_vmx_tests as lv
    with Console(r.name, r.logdir) as c:
        r.console = c
        lv.boot_shoal(r, c)
        r.check(r.name + "-guest-up", lambda: (lv.create(c, "g", "mem=160M vcpus=2 disk=disk.img"),
                                               lv.wait_up(r, c, ["g"])))

        def move():
            lv.attach(c, "g")
            linux_guest.dhcp(c, lv.IO_S, lv.GAP)
            type_slowly(c, "echo moved-$((6*7)) > /tmp/m", lv.GAP)
            lv.detach(c, "g")
            out = c.command("vm move g g2", BOCHS_CMD_S * 2)
            require(re.search(r"vm g moved to g2", out), "vm move of the Linux guest failed:\n" + out)
            lv.attach(c, "g2")
            require(lv.value(c, "MARK", "cat /tmp/m", r"moved-\d+") == "moved-42", "g2 lost the guest's tmpfs file")
            require(lv.value(c, "CPUS", "grep -c ^processor /proc/cpuinfo") == "2", "g2 does not have 2 CPUs")
            got = lv.value(c, "VDA", "head -c 1048576 /dev/vda | sha256sum", r"[0-9a-f]{64}")
            require(got == first_mib_sha(GUEST + "/disk.img"), "g2 reads its disk's first MiB wrong")
            linux_guest.ping(c, "10.0.2.2", lv.IO_S, gap=lv.GAP)
            lv.detach(c, "g2")
        r.check(r.name + "-move", move)


TESTS = [("vmx-bochs-vmstate", t_vmx), ("svm-qemu-vmstate", t_svm), ("svm-qemu-vmstate-linux", t_svm_linux),
         ("vmx-bochs-vmstate-linux", t_vmx_linux)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "vmstate", ("shoal.elf", "shoal.iso")))

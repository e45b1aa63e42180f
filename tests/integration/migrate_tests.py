# Live migration to the host's own address under SVM+NPT (QEMU TCG) and VMX+EPT (Bochs): the guest carries on.
"""Usage: migrate_tests.py --build DIR [--jobs N] [--only REGEX]

carryon64 counts timer ticks and loop rounds (in memory, R12 and XMM1) and reports them; it is migrated
over the TLS channel to a listener on the same host (`vm migrate g IP:PORT as=g2 hold`), both copies'
RAM compared with `vm memhash`, then the copy started and the source destroyed. A wrong key, a cancel on
the destination side mid-stream, and a destination name already taken must leave the guest running on
the source with one reason line, and nothing left on the destination. Logs: DIR/test-logs/migrate/."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, require, qemu_argv, main,  # noqa: E402
                     QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)
from vmstate_tests import ticks_after, listed  # noqa: E402
from linux_tests import GUEST, start, create_and_start, wait_up, attach, detach, guest_value  # noqa: E402
import linux_guest  # noqa: E402
from linux_guest import type_slowly  # noqa: E402

KEY = "migrate-test-key"
OTHER = "not-the-key"
PORT = 7070
MIGRATE_S = 600                 # nested TCG or Bochs on a shared 2-core machine: generous


def own_ip(c, t):
    m = re.search(r"ipv4\s+(\d+\.\d+\.\d+\.\d+)/", c.command("net", t))
    require(m, "shoal has no IPv4 address")
    return m.group(1)


def migrated(c, name, t):
    """Wait for the source's outcome line for name; return it (an error line fails)."""
    m = c.expect(r"(vm %s migrated to [^\n]*|error: vm migrate %s: [^\n]*)\n" % (name, name), t,
                 "the outcome of migrating " + name)
    require(m.group(1).startswith("vm "), "migration failed: " + m.group(1))
    return m.group(1)


def refused(c, name, t, reason):
    """Wait for the source's error line for name; it must name reason and say the guest keeps running."""
    m = c.expect(r"error: vm migrate %s: ([^\n]*)\n" % name, t, "the refusal of migrating " + name)
    require(re.search(reason, m.group(1)) and m.group(1).endswith("%s keeps running here" % name),
            "migrating %s failed otherwise than expected: %s" % (name, m.group(1)))
    return m.group(1)


def check_migrate(c, t, ip):
    out = c.command("migrate listen %d key=%s" % (PORT, KEY), t)
    require("migrate: listening on port %d" % PORT in out, "no listener:\n" + out)
    out = c.command("vm create g guest=carryon64 mem=16M", t)
    require("created" in out, "vm create failed:\n" + out)
    c.command("vm start g", t)
    before = ticks_after(c, t, "g", 50)
    c.command("vm migrate g %s:%d key=%s as=g2 hold" % (ip, PORT, KEY), t)
    line = migrated(c, "g", MIGRATE_S)
    require(line.endswith("both held paused"), "a held migration did not hold: " + line)
    require(re.search(r"migrate: g2 from [^\n]* is held paused here", c.output()), "no hand-over line on the destination")
    src, dst = memhash_total_any(c, t, "g"), memhash_total_any(c, t, "g2")
    require(src == dst, "RAM of g (%s) and g2 (%s) differ after the migration" % (src, dst))
    c.command("vm start g2", t)
    c.command("vm destroy g", t)
    first = ticks_after(c, t, "g2", 0)
    require(first > before, "g2 restarted its count (%d after g's %d)" % (first, before))
    second = ticks_after(c, t, "g2", first)
    print("    %s; ticks: g %d, g2 %d then %d" % (line, before, first, second), flush=True)
    c.command("vm migrate g2 %s:%d key=%s as=g3" % (ip, PORT, KEY), t)
    line = migrated(c, "g2", MIGRATE_S)
    vms = listed(c, t)
    require("g2" not in vms and vms.get("g3") == "running", "after the migration vm list shows %s" % vms)
    ticks_after(c, t, "g3", second)


def memhash_total_any(c, t, name, chunk="16M"):
    out = c.command("vm memhash %s %s" % (name, chunk), t)
    m = re.search(r"memhash total [0-9a-f]+ ([0-9a-f]{64})", out)
    require(m, "vm memhash %s printed no total:\n%s" % (name, out))
    return m.group(1)


def check_failures(c, t, ip):
    """Each failure leaves g3 running here with one reason line, and no VM behind on the destination: a wrong
    key, a name taken there, and the link cut (the destination's test hook) at the hash exchange, in the
    pre-copy data, at the final round and while the state record travels."""
    c.command("vm migrate g3 %s:%d key=%s as=g4" % (ip, PORT, OTHER), t)
    refused(c, "g3", MIGRATE_S, r"key mismatch")
    c.command("vm migrate g3 %s:%d key=%s" % (ip, PORT, KEY), t)
    refused(c, "g3", MIGRATE_S, r"refused: a VM of that name exists here")
    for i, frame in enumerate(("HASHES", "DATA", "FINAL", "STATE")):
        port = PORT + 1 + i                     # a port just closed may linger in TIME_WAIT
        out = c.command("migrate listen %d key=%s cut=%s" % (port, KEY, frame), t)
        require("listening" in out, "no listener:\n" + out)
        c.command("vm migrate g3 %s:%d key=%s as=g5" % (ip, port, KEY), t)
        c.expect(r"migrate: from [^\n]*: g5: link cut at %s \(test hook\)" % frame, MIGRATE_S, "the cut at " + frame)
        refused(c, "g3", MIGRATE_S, r"closed|reset|failed|timeout")
        vms = listed(c, t)
        require(set(vms) == {"g3"} and vms["g3"] == "running", "after a cut at %s vm list shows %s" % (frame, vms))
        c.command("migrate stop %d" % port, t)
    c.command("vm migrate g3 %s:%d key=%s as=g6 bandwidth=40K" % (ip, PORT, KEY), t)   # slow: ~4 s of hashes
    c.expect(r"migrate: receiving g6 from ", MIGRATE_S, "the slow migration's start")
    out = c.command("migrate status", t)
    require(re.search(r"migrate out g3 -> [^\n]* as g6: pre-copy", out) and re.search(r"migrate in g6 <- ", out),
            "migrate status shows no sessions both ways:\n" + out)
    for cmd, why in (("vm stop g3", "is being migrated"), ("vm start g6", "is being migrated"),
                     ("vm dirty g3 collect", "its dirty log is the migration's"), ("vm move g3 g7", "being migrated")):
        out = c.command(cmd, t)
        require(why in out, "`%s` was not refused during the migration:\n%s" % (cmd, out))
    out = c.command("migrate cancel", t)
    require("migrate: 2 sessions cancelled" in out and
            "error: vm migrate g3: cancelled by the operator; g3 keeps running here" in out and
            re.search(r"migrate: from [^\n]*: g6: cancelled by the operator; nothing of it is kept here", out),
            "cancel did not end both sessions with their lines:\n" + out)
    last = ticks_after(c, t, "g3", 0)
    ticks_after(c, t, "g3", last)
    vms = listed(c, t)
    require(set(vms) == {"g3"} and vms["g3"] == "running", "after the cancel vm list shows %s" % vms)
    out = c.command("migrate status", t)
    require("migrate in" not in out and "migrate out" not in out, "sessions left behind:\n" + out)
    out = c.command("tls", t)
    require(re.search(r"tls: 0 channels, 1 listeners?;", out), "channels left behind:\n" + out)


def checks(r, c, t):
    ip = own_ip(c, t)
    r.check(r.name + "-self", lambda: check_migrate(c, t, ip))
    r.check(r.name + "-failures", lambda: check_failures(c, t, ip))


def t_svm(r):
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-append", "",
                                   "-nic", "user,model=e1000"], cpu="EPYC"))
        c.boot(QEMU_CMD_S * 4)
        c.expect(r"net: address 10\.0\.2\.15 ", QEMU_CMD_S * 4, "the DHCP address")
        checks(r, c, QEMU_CMD_S)


def t_vmx(r):
    import linux_vmx_tests
    with Console(r.name, r.logdir) as c:
        r.console = c
        linux_vmx_tests.bochs_start_iso(r, c, r.build + "/shoal.iso", 256)
        c.boot(BOCHS_BOOT_S)
        linux_vmx_tests.net_up(c)
        checks(r, c, BOCHS_CMD_S)


def check_linux(c):
    """A running Linux guest migrates while it works: RAM identical page for page on both sides at the
    hand-over, then its tmpfs file, clock, virtio disk and network carry on in the copy."""
    from vmstate_tests import first_mib_sha
    t = QEMU_CMD_S * 4
    ip = own_ip(c, t)
    attach(c)
    linux_guest.dhcp(c, 120)
    type_slowly(c, "echo moved-$((6*7)) > /tmp/m")
    up = int(guest_value(c, "UP1", "cut -d. -f1 /proc/uptime", r"\d+"))
    type_slowly(c, "(while :; do cat /proc/uptime > /tmp/busy; done) &")   # keeps dirtying pages meanwhile
    detach(c)
    c.command("migrate listen %d key=%s" % (PORT, KEY), t)
    c.command("vm migrate g %s:%d key=%s as=g2 hold" % (ip, PORT, KEY), t)
    line = migrated(c, "g", MIGRATE_S)
    src, dst = memhash_total_any(c, MIGRATE_S, "g", "256M"), memhash_total_any(c, MIGRATE_S, "g2", "256M")
    require(src == dst, "RAM of g (%s) and g2 (%s) differ after the migration" % (src, dst))
    c.command("vm start g2", t)
    c.command("vm destroy g", t)
    attach(c, "g2")
    require(guest_value(c, "MARK", "cat /tmp/m", r"moved-\d+") == "moved-42", "g2 lost the guest's tmpfs file")
    up2 = int(guest_value(c, "UP2", "cut -d. -f1 /proc/uptime", r"\d+"))
    require(up2 >= up, "the guest's uptime went back from %d s to %d s" % (up, up2))
    got = guest_value(c, "VDA", "head -c 1048576 /dev/vda | sha256sum", r"[0-9a-f]{64}", 120)
    require(got == first_mib_sha(GUEST + "/disk.img"), "g2 reads its disk's first MiB wrong")
    linux_guest.ping(c, "10.0.2.2", 120)
    detach(c, "g2")
    print("    Linux guest: %s" % line, flush=True)


def t_svm_linux(r):
    d = GUEST + "/cloud"
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", GUEST + "/disk.img"], extra=["-nic", "user,model=e1000"])
        r.check(r.name + "-guest-up", lambda: (create_and_start(
            r, c, "kernel=vmlinuz initrd=initrd.img mem=256M disk=disk.img"), wait_up(c)))
        r.check(r.name + "-linux", lambda: check_linux(c))


TESTS = [("svm-qemu-migrate", t_svm), ("vmx-bochs-migrate", t_vmx), ("svm-qemu-migrate-linux", t_svm_linux)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "migrate"))

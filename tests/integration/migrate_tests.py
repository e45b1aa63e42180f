# Live migration to the host's own address under SVM+NPT (QEMU TCG) and VMX+EPT (Bochs): the guest carries on.
"""Usage: migrate_tests.py --build DIR [--jobs N] [--only REGEX]

carryon64 counts timer ticks and loop rounds (in memory, R12 and XMM1) and reports them; it is migrated
over the TLS channel to a listener on the same host (`vm migrate g IP:PORT as=g2 hold`), both copies'
RAM compared with `vm memhash`, then the copy started and the source destroyed. A wrong key, a cancel on
the destination side mid-stream, and a destination name already taken must leave the guest running on
the source with one reason line, and nothing left on the destination. Logs: DIR/test-logs/migrate/."""

import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, require, qemu_argv, main, free_port,  # noqa: E402
                     QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S)
from vmstate_tests import ticks_after, listed  # noqa: E402
from linux_tests import GUEST, start, create_and_start, wait_up, attach, detach, guest_value  # noqa: E402
import linux_guest  # noqa: E402
from linux_guest import type_slowly  # noqa: E402

KEY = "migrate-test-key"
OTHER = "not-the-key"
PORT = 7070
TAMPER_AT = 20000               # a byte of the stream past the TLS handshake and HELLO
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


def compressed(line):
    """(pages and blocks sent deflated, their size in % of the original) from an outcome line."""
    m = re.search(r", (\d+) of those compressed to (\d+)% of their size,", line)
    require(m, "no compression figures in: " + line)
    return int(m.group(1)), int(m.group(2))


def refused(c, name, t, reason):
    """Wait for the source's error line for name; it must name reason and say the guest keeps running."""
    m = c.expect(r"error: vm migrate %s: ([^\n]*)\n" % name, t, "the refusal of migrating " + name)
    require(re.search(reason, m.group(1)) and m.group(1).endswith("%s keeps running here" % name),
            "migrating %s failed otherwise than expected: %s" % (name, m.group(1)))
    return m.group(1)


def check_migrate(c, t, ip):
    out = c.command("migrate listen %d key=%s local=off" % (PORT, KEY), t)   # every page over the wire
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
    c.command("vm migrate g2 %s:%d key=%s as=g3 compress=off" % (ip, PORT, KEY), t)
    line = migrated(c, "g2", MIGRATE_S)
    require(compressed(line)[0] == 0, "compress=off, yet pages went compressed: " + line)
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
    # a listener's options are its own: one that cuts at HASHES beside PORT's leaves PORT's sessions alone
    out = c.command("migrate listen %d key=%s cut=HASHES" % (PORT + 5, KEY), t)
    require("listening" in out, "no listener:\n" + out)
    mark = len(c.output())
    c.command("vm migrate g3 %s:%d key=%s as=g6 bandwidth=6K" % (ip, PORT, KEY), t)   # slow: ~6 s of hashes
    c.expect(r"migrate: receiving g6 from ", MIGRATE_S, "the slow migration's start")
    out = c.command("migrate status", t)
    require(re.search(r"migrate out g3 -> [^\n]* as g6: (waiting for the destination|pre-copy)", out) and
            re.search(r"migrate in g6 <- ", out),                 # the ACCEPT may still be on its way
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
    require("link cut" not in c.output()[mark:], "PORT's session took the cut= of the listener beside it")
    c.command("migrate stop %d" % (PORT + 5), t)
    last = ticks_after(c, t, "g3", 0)
    ticks_after(c, t, "g3", last)
    vms = listed(c, t)
    require(set(vms) == {"g3"} and vms["g3"] == "running", "after the cancel vm list shows %s" % vms)
    out = c.command("migrate status", t)
    require("migrate in" not in out and "migrate out" not in out, "sessions left behind:\n" + out)
    out = c.command("tls", t)
    require(re.search(r"tls: 0 channels, 1 listeners?;", out), "channels left behind:\n" + out)


def heap_in_use(c, t):
    m = re.search(r"heap: (\d+) bytes in use", c.command("mem", t))
    require(m, "mem printed no heap line")
    return int(m.group(1))


def check_out_of_memory(c, t, ip):
    """A destination without room for the guest's RAM refuses it with that reason; the guest keeps running
    here and the destination keeps nothing. The guest takes 3/5 of the free memory: a second copy cannot fit."""
    m = re.search(r"pages: \d+ managed, (\d+) free", c.command("mem", t))
    require(m, "mem printed no free page count")
    mib = int(m.group(1)) * 4096 * 3 // 5 >> 20 & ~1
    out = c.command("vm create big guest=carryon64 mem=%dM" % mib, t)
    require("created" in out, "vm create big (%d MiB) failed:\n%s" % (mib, out))
    c.command("vm start big", t)
    ticks_after(c, t, "big", ticks_after(c, t, "big", 0))   # running: its second-level tables are built
    before = heap_in_use(c, t)
    c.command("vm migrate big %s:%d key=%s as=big2" % (ip, PORT, KEY), t)
    refused(c, "big", MIGRATE_S, r"no room here for its RAM \(out of memory\)")
    vms = listed(c, t)
    require(vms.get("big") == "running" and "big2" not in vms, "after the refusal vm list shows %s" % vms)
    end = time.monotonic() + 60                     # both sessions are freed at their next poll
    while heap_in_use(c, t) != before and time.monotonic() < end:
        time.sleep(1)
    after = heap_in_use(c, t)
    require(after == before, "the heap held %d bytes before the refused migration, %d after" % (before, after))
    ticks_after(c, t, "big", 0)
    c.command("vm destroy big", t)
    print("    a %d MiB guest was refused for lack of memory and kept running" % mib, flush=True)


class Tamper:
    """A TCP relay on 127.0.0.1 to shoal's forwarded listener that flips one bit of the source's stream at
    byte `at` and keeps what the source sent (to show that nothing of the guest crosses in clear)."""

    def __init__(self, to_port, at):
        self.to_port, self.at, self.sent = to_port, at, bytearray()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _pipe(self, a, b, record):
        try:
            while True:
                data = bytearray(a.recv(65536))
                if not data:
                    break
                if record:
                    off = self.at - len(self.sent)
                    if 0 <= off < len(data):
                        data[off] ^= 0x10
                    self.sent += data
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _serve(self):
        try:
            a, _ = self.srv.accept()
            b = socket.create_connection(("127.0.0.1", self.to_port), timeout=60)
            b.settimeout(None)
        except OSError:
            return
        threading.Thread(target=self._pipe, args=(b, a, False), daemon=True).start()
        self._pipe(a, b, True)


def check_tamper(c, t, fwd):
    """One bit flipped in the stream (past the handshake, among the page hashes: the 16 MiB guest's whole
    stream is about 46 KB, its zero pages 8 bytes each) is caught by TLS: the migration fails, the guest
    keeps running here, the destination keeps nothing; and the bytes that went over the wire carry neither
    the guest's creation arguments nor its name in clear."""
    proxy = Tamper(fwd, TAMPER_AT)
    c.command("vm migrate g3 10.0.2.2:%d key=%s as=g8" % (proxy.port, KEY), t)
    why = refused(c, "g3", MIGRATE_S, r"closed|reset|failed|refused|timeout|MAC|alert")
    dst = re.search(r"migrate: from [^\n]*: g8: ([^\n]*); nothing of it is kept here", c.output())  # before or after
    require(dst and "failed authentication" in dst.group(1), "the destination did not say the stream was altered")
    vms = listed(c, t)
    require(set(vms) == {"g3"} and vms["g3"] == "running", "after the tampered stream vm list shows %s" % vms)
    require(len(proxy.sent) > TAMPER_AT, "only %d bytes went through the relay" % len(proxy.sent))
    for clear in (b"guest=carryon64", b"mem=16M"):
        require(clear not in proxy.sent, "%r crossed the wire in clear" % clear)
    print("    tampered at byte %d of %d: %s" % (TAMPER_AT, len(proxy.sent), why), flush=True)


def checks(r, c, t, fwd=None):
    ip = own_ip(c, t)
    r.check(r.name + "-self", lambda: check_migrate(c, t, ip))
    r.check(r.name + "-failures", lambda: check_failures(c, t, ip))
    if fwd:
        r.check(r.name + "-tamper", lambda: check_tamper(c, t, fwd))
    r.check(r.name + "-out-of-memory", lambda: check_out_of_memory(c, t, ip))


def t_svm(r):
    fwd = free_port()
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-append", "",
                                   "-nic", "user,model=e1000,hostfwd=tcp:127.0.0.1:%d-:%d" % (fwd, PORT)],
                          cpu="EPYC"))
        c.boot(QEMU_CMD_S * 4)
        c.expect(r"net: address 10\.0\.2\.15 ", QEMU_CMD_S * 4, "the DHCP address")
        checks(r, c, QEMU_CMD_S, fwd)


def t_vmx(r):
    import linux_vmx_tests
    with Console(r.name, r.logdir) as c:
        r.console = c
        linux_vmx_tests.bochs_start_iso(r, c, r.build + "/shoal.iso", 256)
        c.boot(BOCHS_BOOT_S)
        linux_vmx_tests.net_up(c)
        checks(r, c, BOCHS_CMD_S)


def local_timer_ticks(c):
    """The guest's per-CPU local timer interrupt counts (/proc/interrupts' LOC line)."""
    line = guest_value(c, "LOC", "awk '/LOC:/{print $2, $3}' /proc/interrupts", r"\d+( \d+)*", 60)
    return [int(x) for x in line.split()]


def check_linux(c):
    """A running Linux guest with 2 vCPUs migrates while it works: RAM identical page for page on both sides
    at the hand-over, then its tmpfs file, clock, both vCPUs' timers, virtio disk and network carry on in
    the copy."""
    from vmstate_tests import first_mib_sha
    t = QEMU_CMD_S * 4
    ip = own_ip(c, t)
    attach(c)
    linux_guest.dhcp(c, 120)
    type_slowly(c, "echo moved-$((6*7)) > /tmp/m")
    up = int(guest_value(c, "UP1", "cut -d. -f1 /proc/uptime", r"\d+"))
    ticks = local_timer_ticks(c)
    require(len(ticks) == 2, "the guest has %d CPUs, not 2" % len(ticks))
    type_slowly(c, "(while :; do cat /proc/uptime > /tmp/busy; done) &")   # keeps dirtying pages meanwhile
    detach(c)
    c.command("migrate listen %d key=%s local=off" % (PORT, KEY), t)
    c.command("vm migrate g %s:%d key=%s as=g2 hold" % (ip, PORT, KEY), t)
    line = migrated(c, "g", MIGRATE_S)
    n, pct = compressed(line)
    require(n > 0 and pct < 100, "a Linux guest's pages went uncompressed: " + line)
    src, dst = memhash_total_any(c, MIGRATE_S, "g", "256M"), memhash_total_any(c, MIGRATE_S, "g2", "256M")
    require(src == dst, "RAM of g (%s) and g2 (%s) differ after the migration" % (src, dst))
    c.command("vm start g2", t)
    c.command("vm destroy g", t)
    attach(c, "g2")
    require(guest_value(c, "MARK", "cat /tmp/m", r"moved-\d+") == "moved-42", "g2 lost the guest's tmpfs file")
    up2 = int(guest_value(c, "UP2", "cut -d. -f1 /proc/uptime", r"\d+"))
    require(up2 >= up, "the guest's uptime went back from %d s to %d s" % (up, up2))
    ticks2 = local_timer_ticks(c)
    require(len(ticks2) == 2 and all(b > a for a, b in zip(ticks, ticks2)),
            "both vCPUs' timers must tick on in the copy: %s before, %s after" % (ticks, ticks2))
    got = guest_value(c, "VDA", "head -c 1048576 /dev/vda | sha256sum", r"[0-9a-f]{64}", 120)
    require(got == first_mib_sha(GUEST + "/disk.img"), "g2 reads its disk's first MiB wrong")
    linux_guest.ping(c, "10.0.2.2", 120)
    detach(c, "g2")
    print("    Linux guest: %s" % line, flush=True)


def rarps(pcap, mac):
    """RARP broadcasts (ethertype 0x8035) from mac in a pcap file QEMU's filter-dump wrote."""
    with open(pcap, "rb") as f:
        data = f.read()
    return data.count(b"\xff" * 6 + mac + b"\x80\x35")


def check_announce(c, pcap):
    """Without hold the copy starts at once and its MAC is announced on the wire (RARP, as QEMU does), and
    the guest still reaches the network."""
    t = QEMU_CMD_S * 4
    ip = own_ip(c, t)
    m = re.findall(r"vm g: virtio-net slot \d+: MAC ([0-9a-f:]{17})", c.output())   # the guest keeps g's MAC
    require(m, "no MAC line for g")
    mac = bytes(int(x, 16) for x in m[-1].split(":"))
    before = rarps(pcap, mac)
    c.command("vm migrate g2 %s:%d key=%s as=g3" % (ip, PORT, KEY), t)
    line = migrated(c, "g2", MIGRATE_S)
    require(re.search(r"migrate: g3 from [^\n]* is running here", c.output()), "no hand-over line on the destination")
    end = time.monotonic() + 60                           # the announces go out over the next 0.4 s
    while rarps(pcap, mac) - before < 3 and time.monotonic() < end:
        c.command("migrate status", t)
        time.sleep(1)
    n = rarps(pcap, mac) - before
    require(n >= 3, "%d RARP announces of %s on the wire after the migration" % (n, m[-1]))
    attach(c, "g3")
    linux_guest.ping(c, "10.0.2.2", 120)
    detach(c, "g3")
    print("    %d RARP announces of %s after: %s" % (n, m[-1], line), flush=True)


def t_svm_linux(r):
    d = GUEST + "/cloud"
    pcap = os.path.join(r.logdir, r.name + ".pcap")
    if os.path.exists(pcap):
        os.unlink(pcap)
    with Console(r.name, r.logdir) as c:
        r.console = c
        start(r, c, [d + "/vmlinuz", d + "/initrd.img", GUEST + "/disk.img"],
              extra=["-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
                     "-object", "filter-dump,id=d0,netdev=n0,file=" + pcap])
        r.check(r.name + "-guest-up", lambda: (create_and_start(
            r, c, "kernel=vmlinuz initrd=initrd.img mem=256M vcpus=2 disk=disk.img"), wait_up(c)))
        r.check(r.name + "-linux", lambda: check_linux(c))
        r.check(r.name + "-announce", lambda: check_announce(c, pcap))


def disk_sha(c, name, n):
    out = c.command("vm disk %s sha256 0 %d" % (name, n), QEMU_CMD_S * 4)
    m = re.search(r"[0-9a-f]{64}", out)
    require(m, "vm disk %s sha256 printed no hash:\n%s" % (name, out))
    return m.group(0)


def check_clone(c, port):
    """A clone of a pool image migrates with its disk delta: files it wrote and a raw sector are there in
    the copy, its first 8 MiB read the same on both sides, RAM is identical at the hand-over, and its web
    page answers through the new VM (the switch port follows its MAC). The destination looks among this
    host's guests (the source is one), so most pages come from here, each checked by its hash."""
    import pool_tests as pt
    t = QEMU_CMD_S * 4
    ip = own_ip(c, t)
    pt.create_start(c, "web1")
    pt.wait_web_up(c, ["web1"])
    attach(c, "web1")
    type_slowly(c, "echo moved-$((6*7)) > /mine.txt; printf RAW-MOVED | dd of=/dev/vda bs=512 seek=%d "
                   "conv=notrunc,fsync 2>/dev/null" % (pt.RAW_OFF // 512))
    require(guest_value(c, "SYNCED", "sync; echo ok", r"ok") == "ok", "web1: sync")
    type_slowly(c, "(while :; do cat /proc/uptime > /tmp/busy; done) &")
    detach(c, "web1")
    c.command("migrate listen %d key=%s" % (PORT, KEY), t)
    c.command("vm migrate web1 %s:%d key=%s as=web1m hold" % (ip, PORT, KEY), t)
    line = migrated(c, "web1", MIGRATE_S)
    m = re.search(r", (\d+) delta blocks sent", line)
    require(m and int(m.group(1)) > 0, "no delta block travelled: " + line)
    m = re.search(r"(\d+) pages of (\d+) sent \((\d+) found there", line)
    require(m and int(m.group(3)) > int(m.group(1)), "the destination found fewer pages among this host's guests "
            "(the source itself is one) than it was sent: " + line)
    src, dst = memhash_total_any(c, MIGRATE_S, "web1", "64M"), memhash_total_any(c, MIGRATE_S, "web1m", "64M")
    require(src == dst, "RAM of web1 (%s) and web1m (%s) differ after the migration" % (src, dst))
    a, b = disk_sha(c, "web1", 8 << 20), disk_sha(c, "web1m", 8 << 20)
    require(a == b, "the disks of web1 (%s) and web1m (%s) differ after the migration" % (a, b))
    c.command("vm start web1m", t)
    c.command("vm destroy web1", t)
    require(pt.disk_bytes(c, "web1m", pt.RAW_OFF, 10) == b"RAW-MOVED\0", "web1m lost the raw sector")
    attach(c, "web1m")
    got = guest_value(c, "MINE", "sync; echo 3 > /proc/sys/vm/drop_caches; cat /mine.txt", r"moved-\d+")
    detach(c, "web1m")
    require(got == "moved-42", "web1m reads %r from its file" % got)
    pt.page_names({"web1": port})
    print("    clone: %s" % line, flush=True)


def t_svm_clone(r):
    import tempfile
    import pool_tests as pt
    tgt = pt.Target(tempfile.mkdtemp(prefix="shoal-migrate."))
    port = free_port()
    try:
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("1G", ["-kernel", r.build + "/shoal.elf", "-netdev",
                                     "user,id=n0,hostfwd=tcp:127.0.0.1:%d-%s:80" % (port, pt.WEBS["web1"]),
                                     "-device", "e1000,netdev=n0"], cpu="EPYC"))
            c.boot(QEMU_CMD_S * 4)
            c.expect(r"net: address 10\.0\.2\.15 ", QEMU_CMD_S * 4, "the DHCP address")
            r.check(r.name + "-pool-add", lambda: pt.pool_add(c, tgt))
            r.check(r.name + "-clone", lambda: check_clone(c, port))
    finally:
        tgt.stop()


TESTS = [("svm-qemu-migrate", t_svm), ("vmx-bochs-migrate", t_vmx), ("svm-qemu-migrate-linux", t_svm_linux),
         ("svm-qemu-migrate-clone", t_svm_clone)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "migrate"))

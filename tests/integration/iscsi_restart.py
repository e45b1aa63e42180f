#!/usr/bin/env python3
"""The golden image's target goes away and comes back, under QEMU TCG with a real tgtd on loopback.

restart_20_times: three clones of a pool image read and write their disks (`vm disk`, driven from the host
shell) while tgtd is killed and restarted 20 times; every read equals the golden image plus that clone's
own writes, and no command hangs. restart_20_times_booted_guests: three booted clones read and write their
disks from inside (dropping their page cache each round) through the same 20 restarts; every read they
print equals the golden image plus their own writes, every write reads back, and each finishes when told. boot_before_target: a host booted with pool= and autostart= before its
target exists keeps logging in, says so in `pool list`, and starts the clone once the target is up.
Prints one `PASS name` / `FAIL name` line per test; exits 1 when any failed."""
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, tgt_ctl_port  # noqa: E402
from iscsi_shoal import Shoal, TIMEOUT  # noqa: E402

IQN = "iqn.2026-12.org.shoal:restart"
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
CLONES = ("c1", "c2", "c3")
RESTARTS = 20
SPAN = 48 << 20           # where the clones read and write (inside the 64 MiB demo disk)


class Target:
    """The golden image read-only from a private tgtd (tools/tgt-export.sh); kill() is abrupt."""

    def __init__(self, golden, workdir):
        self.golden, self.port, self.ctl = golden, free_port(), tgt_ctl_port()
        self.log = os.path.join(workdir, "tgtd.log")
        self.pid = None

    def start(self):
        self.pid = int(subprocess.run(["sh", os.path.join(TOOLS, "tgt-export.sh"), "start", self.golden,
                                       str(self.port), self.ctl, IQN, self.log], check=True,
                                      stdout=subprocess.PIPE, timeout=60).stdout.decode().strip())

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        for _ in range(100):                # not our child (setsid in the script): wait for it to go
            if not os.path.exists("/proc/%d" % self.pid) or " Z " in open("/proc/%d/stat" % self.pid).read():
                break
            time.sleep(0.05)
        self.pid = None

    def stop(self):
        if self.pid:
            subprocess.run(["sh", os.path.join(TOOLS, "tgt-export.sh"), "stop", str(self.pid), self.ctl], timeout=60)
            self.pid = None

    def url(self):
        return "iscsi://10.0.2.2:%d/%s/1" % (self.port, IQN)


class Model:
    """What one clone's disk must hold: the golden bytes under that clone's writes."""

    def __init__(self, golden):
        self.golden, self.writes = golden, []

    def expect(self, off, length):
        with open(self.golden, "rb") as f:
            f.seek(off)
            b = bytearray(f.read(length))
        for w_off, w_len, byte in self.writes:
            lo, hi = max(off, w_off), min(off + length, w_off + w_len)
            if lo < hi:
                b[lo - off:hi - off] = bytes([byte]) * (hi - lo)
        return hashlib.sha256(bytes(b)).hexdigest()


def restarter(tgt, seed, done, errors):
    """Kill tgt and start it again RESTARTS times at random moments (seeded); set done at the end."""
    r = random.Random(seed)
    try:
        for _ in range(RESTARTS):
            time.sleep(r.uniform(1.0, 3.0))
            tgt.kill()
            time.sleep(r.uniform(0.2, 1.5))
            tgt.start()
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        errors.append(e)
    finally:
        done.set()


def disk(con, line, result):
    """Type `vm disk LINE` and wait for its result line (log lines from the reconnects may split the
    command's echo, so the echo is not waited for); an error line fails at once."""
    con.proc.stdin.write(("vm disk %s\r" % line).encode())
    con.proc.stdin.flush()
    m = con.expect(r"^(%s|error: vm disk .*)$" % result, TIMEOUT)
    if m.group(0).startswith("error"):
        raise AssertionError("vm disk %s: %s" % (line, m.group(0)))
    con.expect(r"^shoal> ", TIMEOUT)
    return m.group(0)


def one_op(con, rnd, name, model):
    """A random write (4 KiB..64 KiB) or a read of 256 KiB checked against the model."""
    if rnd.random() < 0.4:
        off, length, byte = rnd.randrange(0, SPAN, 4096), rnd.randrange(4096, 65537, 4096), rnd.randrange(256)
        disk(con, "%s write %d %d %d" % (name, off, length, byte),
             r"vm disk %s: wrote %d bytes of 0x[0-9a-f]+ at %d" % (name, length, off))
        model.writes.append((off, length, byte))
        return 0
    off = rnd.randrange(0, SPAN, 4096)
    if rnd.random() < 0.5 and model.writes:      # often over one of its own writes
        off = max(0, model.writes[-1][0] - 4096)
    out = disk(con, "%s sha256 %d %d" % (name, off, 256 << 10), r"sha256 [0-9a-f]{64} %s %d\+%d" % (name, off, 256 << 10))
    m = re.search(r"sha256 ([0-9a-f]{64}) ", out)
    if not m or m.group(1) != model.expect(off, 256 << 10):
        raise AssertionError("%s read at %d is not the golden image plus its writes:\n%s" % (name, off, out))
    return 1


def test_restarts(kernel, golden, work):
    tgt = Target(golden, work)
    tgt.start()
    con = Shoal(kernel, "virtio", mem_mb=512)
    done, errors, rnd = threading.Event(), [], random.Random(8)
    try:
        con.wait_dhcp()
        out = con.run("pool add demo %s cache=1M" % tgt.url(), timeout=TIMEOUT * 2)
        if "pool demo: ready" not in out:
            raise AssertionError("pool add:\n" + out)
        models = {}
        for name in CLONES:
            out = con.run("vm create %s from demo mem=72M" % name)
            if "vm %s created" % name not in out:
                raise AssertionError("vm create:\n" + out)
            models[name] = Model(golden)
        th = threading.Thread(target=restarter, args=(tgt, 9, done, errors), daemon=True)
        th.start()
        reads = writes = 0
        while not done.is_set():
            for name in CLONES:
                r = one_op(con, rnd, name, models[name])
                reads, writes = reads + r, writes + 1 - r
        th.join()
        if errors:
            raise AssertionError("restarting tgtd: %s" % errors[0])
        for name in CLONES:                 # after the last restart: every clone still reads right
            reads += one_op(con, random.Random(name), name, models[name]) or 0
        out = con.run("iscsi list")
        m = re.search(r"ready\s+ffp\s+\d+\s+(\d+)\s", out)
        if not m or int(m.group(1)) < RESTARTS // 2:
            raise AssertionError("too few reconnects counted for %d restarts:\n%s" % (RESTARTS, out))
        return "%d restarts, %s reconnects; %d checked reads, %d writes over 3 clones" % (
            RESTARTS, m.group(1), reads, writes)
    finally:
        con.close()
        tgt.stop()


GUESTS = ("g1", "g2", "g3")
SLOT0 = 128               # the guests write 4 KiB slots 128..191 (512-768 KiB): between the GPT and partition 1
# Each guest, until /tmp/stop: drop its page cache, read 1 MiB of its disk (R MiB N sha: MiB 8-25 hold the
# image's files, MiB 0 the slots below), write slot N % 64 (4 KiB) with "NAME-SLOT-GEN" lines, GEN = N / 64,
# and read it back past the cache (W SLOT N sha). Each line stands alone: from N the host knows what every
# slot holds, so a line lost on the console costs one check, never a false verdict. Output starts after
# the detach; the console's kernel messages are off.
WORKLOAD = ("(dmesg -n 1; sleep 5; n=0; while [ ! -e /tmp/stop ]; do echo 3 > /proc/sys/vm/drop_caches; "
            "o=$(( n %% 6 ? 8 + n * 5 %% 18 : 0 )); "
            "echo R $o $n $(dd if=/dev/vda bs=1M skip=$o count=1 2>/dev/null | sha256sum | cut -c1-64); "
            "s=$(( n %% 64 )); yes %s-$s-$(( n / 64 )) | head -c 4096 | dd of=/dev/vda bs=4096 seek=$(( %d + s )) "
            "conv=notrunc,fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches; echo W $s $n $(dd if=/dev/vda "
            "bs=4096 skip=$(( %d + s )) count=1 2>/dev/null | sha256sum | cut -c1-64); n=$((n+1)); done; "
            "sleep 3; echo D\"\"ONE %s $n) &")


def slot_data(name, slot, gen):
    return (("%s-%d-%d\n" % (name, slot, gen)).encode() * 4096)[:4096]


def slots_before(name, n):
    """What the slots hold when iteration n begins: slot t was last written at the latest t + 64k < n."""
    held = {}
    for t in range(64):
        if t < n:
            held[t] = slot_data(name, t, (n - 1 - t) // 64)
    return held


def type_line(con, line, gap=0.03):
    """Type into the attached guest console a character at a time (its UART holds 16)."""
    for ch in line + "\r":
        con.proc.stdin.write(ch.encode())
        con.proc.stdin.flush()
        time.sleep(gap)


def in_guest(con, name, line):
    """Attach to NAME's console, type line, detach."""
    con.proc.stdin.write(("vm console %s\r" % name).encode())
    con.proc.stdin.flush()
    con.expect(r"attached to %s" % name, TIMEOUT)
    type_line(con, "")
    type_line(con, line)
    time.sleep(1)
    con.proc.stdin.write(b"\x1d")
    con.proc.stdin.flush()
    con.expect(r"\[detached from %s\]" % name, TIMEOUT)


def wait_done(con, start):
    """Each guest's "DONE NAME N" line, printed after start, in any order, prefixed or (printed while its
    console was attached) not."""
    end, counts = time.time() + TIMEOUT * 2, {}
    while len(counts) < len(GUESTS):
        with con.lock:
            counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"DONE (g\d) (\d+)", con.buf[start:])}
        if time.time() > end:
            raise AssertionError("guests that did not finish: %s" % sorted(set(GUESTS) - set(counts)))
        time.sleep(0.5)
    return counts


def check_guest_lines(text, name, golden):
    """Every R line NAME printed equals the golden image plus the slots it had written by then, every W line
    the slot it just wrote. Returns the number of lines checked."""
    with open(golden, "rb") as f:
        image = f.read(48 << 20)
    checked = 0
    for m in re.finditer(r"\[%s\] (?:R (\d+) (\d+) ([0-9a-f]{64})|W (\d+) (\d+) ([0-9a-f]{64}))$" % name, text, re.M):
        if m.group(1) is not None:
            off, n = int(m.group(1)) << 20, int(m.group(2))
            b = bytearray(image[off:off + (1 << 20)])
            for t, data in slots_before(name, n).items():
                pos = (SLOT0 + t) * 4096 - off
                if 0 <= pos < len(b):
                    b[pos:pos + 4096] = data
            want, got = hashlib.sha256(bytes(b)).hexdigest(), m.group(3)
        else:
            slot, n = int(m.group(4)), int(m.group(5))
            want, got = hashlib.sha256(slot_data(name, slot, n // 64)).hexdigest(), m.group(6)
        if got != want:
            raise AssertionError("%s: %r does not read as the image plus its writes" % (name, m.group(0)))
        checked += 1
    return checked


def test_guest_restarts(kernel, golden, work):
    """Three booted clones read and write their disks from inside while tgtd is killed 20 times."""
    tgt = Target(golden, work)
    tgt.start()
    con = Shoal(kernel, "virtio", mem_mb=640)
    done, errors = threading.Event(), []
    try:
        con.wait_dhcp()
        out = con.run("pool add demo %s cache=1M" % tgt.url(), timeout=TIMEOUT * 2)
        if "pool demo: ready" not in out:
            raise AssertionError("pool add:\n" + out)
        for name in GUESTS:
            out = con.run("vm create %s from demo mem=96M" % name)
            if "vm %s created" % name not in out:
                raise AssertionError("vm create:\n" + out)
            con.run("vm start " + name)
        up = set()
        while len(up) < len(GUESTS):                # in whatever order they come up
            up.add(con.expect(r"\[(g\d)\] SHOAL-WEB-UP", TIMEOUT * 4).group(1))
        for name in GUESTS:
            in_guest(con, name, WORKLOAD % (name, SLOT0, SLOT0, name))
        th = threading.Thread(target=restarter, args=(tgt, 11, done, errors), daemon=True)
        th.start()
        th.join()
        if errors:
            raise AssertionError("restarting tgtd: %s" % errors[0])
        time.sleep(10)                      # the guests go on reading after the last restart
        start = con.pos
        for name in GUESTS:
            in_guest(con, name, "touch /tmp/stop")
        counts = wait_done(con, start)
        with con.lock:
            text = con.buf
        checked = {name: check_guest_lines(text, name, golden) for name in GUESTS}
        for name in GUESTS:
            if counts[name] < 5 or checked[name] < 5:
                raise AssertionError("%s made %d rounds, %d lines checked: too few" % (name, counts[name], checked[name]))
        return "%d restarts; rounds per guest %s; %d lines checked against the image" % (
            RESTARTS, "/".join(str(counts[n]) for n in GUESTS), sum(checked.values()))
    finally:
        con.close()
        tgt.stop()


def test_boot_before_target(kernel, golden, work):
    tgt = Target(golden, work)
    con = Shoal(kernel, "virtio", "pool=demo=%s,cache=1M,mem=96M autostart=early:demo" % tgt.url(), mem_mb=512)
    try:
        con.wait_dhcp()
        time.sleep(12)                      # 1+2+4 s of backoff: past where an image used to be marked failed
        listing = con.run("pool list")
        tgt.start()
        con.expect(r"pool demo: ready", TIMEOUT * 2)
        con.expect(r"autostart: vm early from demo started", TIMEOUT)
        if not re.search(r"^demo\s+login\b.*\n\s+retrying: .*[3-9] failed attempts", listing, re.M):
            raise AssertionError("pool list while the target was down:\n" + listing)
        return "pool= kept logging in while tgtd was down; the autostart clone started once it came up"
    finally:
        con.close()
        tgt.stop()


def main():
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    kernel = sys.argv[1] if len(sys.argv) > 1 else "build/shoal.elf"
    golden = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "build/golden/demo.img")
    only = sys.argv[3:]
    failed = 0
    for name, fn in (("restart_20_times", test_restarts), ("restart_20_times_booted_guests", test_guest_restarts),
                     ("pool_boot_before_target", test_boot_before_target)):
        if only and name not in only:
            continue
        if not os.path.exists(golden) or not os.path.exists(kernel):
            print("FAIL iscsi_restart.%s: %s or %s missing" % (name, kernel, golden))
            failed += 1
            continue
        t0, work = time.time(), tempfile.mkdtemp(prefix="shoal-iscsi-restart.")
        Shoal.last = None
        try:
            detail = fn(kernel, golden, work)
            print("PASS iscsi_restart.%s (%.1f s); %s" % (name, time.time() - t0, detail), flush=True)
        except (AssertionError, OSError, subprocess.SubprocessError) as e:
            failed += 1
            if Shoal.last and os.environ.get("SHOAL_CONSOLE_LOG"):
                with open(os.environ["SHOAL_CONSOLE_LOG"], "w") as f:
                    f.write(Shoal.last.buf)
            print("FAIL iscsi_restart.%s (%.1f s)" % (name, time.time() - t0), flush=True)
            for line in str(e).splitlines()[-30:] + ["console tail:"] + (Shoal.last.tail(30).splitlines()
                                                                          if Shoal.last else []):
                print("    " + line)
        finally:
            subprocess.run(["rm", "-rf", work])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
